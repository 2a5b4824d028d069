/* isola-vmm's control API: Firecracker's REST API (HTTP/1.1 with JSON
 * bodies, errors as {"fault_message": …}) on a Unix socket, served by
 * libmicrohttpd's own thread.
 *
 * Before the guest starts the API builds the VM's config (boot-source,
 * machine-config, drives, network-interfaces, vsock, entropy); InstanceStart
 * or snapshot/load hands it to the main thread (api_wait_start), which
 * creates and runs the VM and gives it to the API (api_set_vm) for pause,
 * resume, snapshots and Ctrl-Alt-Del.  The command-line flags fill the same
 * config, so `--api-sock` works beside them too. */
#ifndef ISOLA_VMM_API_API_H
#define ISOLA_VMM_API_API_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>

#include <jansson.h>

#include "common/err.h"
#include "vmm/vm.h"

struct MHD_Daemon;

struct api {
  struct MHD_Daemon *daemon;
  int lfd;
  char *path;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  struct vm_config *cfg; /* being built, until the start */
  struct vm *vm;         /* running */
  bool start;            /* InstanceStart or snapshot/load asked */
  bool started;
  char *start_error;     /* why the VM could not be made */
  char **owned; /* strings the config points to */
  int nowned;
  json_t *snap_devices; /* a loaded snapshot's devices (the config points into it) */
  json_t *device_sections; /* PUT /<section> of api_section device types (the config points to it) */
};

/* The API over `cfg` (not served yet: --config-file goes through it). */
void api_init(struct api *a, struct vm_config *cfg);
/* Serve it on the Unix socket `path`; already_configured: the flags or the
 * config file describe the VM, which starts without InstanceStart. */
int api_serve(struct api *a, const char *path, bool already_configured, err_t *err);
/* Wait up to timeout_ms for the guest to be started (the config is then
 * final): 1 when it is, 0 on timeout. */
int api_wait_start(struct api *a, int timeout_ms);
/* The VM now runs (InstanceStart answers 204), or could not be made
 * (vm NULL: it answers 400 with `error`). */
void api_set_vm(struct api *a, struct vm *vm, const char *error);
/* Firecracker's --config-file: each section through the same handlers as
 * its API request (PUT /boot-source, PUT /drives/ID…). */
int api_apply_config_file(struct api *a, const char *path, err_t *err);
void api_stop(struct api *a);

#endif
