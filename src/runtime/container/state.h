/* A container's record in the state directory (<root>/<id>/state.json) and
 * its status, derived from the live system rather than stored: created while
 * the init process waits on exec.fifo, running, paused (frozen cgroup), or
 * stopped when the init process is gone. */
#ifndef ISOLA_RUNTIME_CONTAINER_STATE_H
#define ISOLA_RUNTIME_CONTAINER_STATE_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "common/err.h"
#include "common/procstat.h"
#include "sys/cgroup/cgroup.h"

struct container {
  char *id;
  char *dir;    /* <root>/<id> */
  char *bundle; /* absolute */
  char *rootfs; /* absolute */
  char *created; /* RFC 3339 */
  char *cgroup_path;
  pid_t pid;
  unsigned long long start_time; /* /proc/<pid>/stat field 22: guards against pid reuse */
  pid_t creator;                         /* the `create` making it, until the init is up */
  unsigned long long creator_start_time;
  uid_t owner;
  json_t *annotations;
  json_t *config; /* the config.json the container was created from */
};

/* ids: [A-Za-z0-9][A-Za-z0-9_.+-]*, at most 1024 bytes. */
int container_check_id(const char *id, err_t *err);

int container_load(const char *root, const char *id, struct container *c, err_t *err);
int container_save(const struct container *c, err_t *err);
void container_release(struct container *c);

enum container_status { STATUS_CREATING, STATUS_CREATED, STATUS_RUNNING, STATUS_PAUSED, STATUS_STOPPED };
/* `cg` is the container's cgroup when the caller has it open already (it
 * decides "paused"); NULL to have it opened here. */
enum container_status container_status(const struct container *c, const struct cgroup *cg);
const char *container_status_name(enum container_status s);

/* The state JSON of runtime.md "State" as hooks receive it on stdin. */
json_t *oci_state_json(const char *id, const char *status, pid_t pid, const char *bundle,
                       const json_t *annotations);

/* The same for a recorded container, plus rootfs, created and owner. */
json_t *container_state_json(const struct container *c);

/* Write a pid for --pid-file, atomically. */
int pid_file_write(const char *path, pid_t pid, err_t *err);

char *container_fifo_path(const struct container *c);

#define _cleanup_container_ __attribute__((cleanup(container_release)))

#endif
