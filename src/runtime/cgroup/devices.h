/* Device access rules of a container (linux.resources.devices), the same
 * for both cgroup versions: v1 writes them to devices.allow/deny, v2 turns
 * them into a BPF_PROG_TYPE_CGROUP_DEVICE program, as runc and crun do. */
#ifndef ISOLA_RUNTIME_CGROUP_DEVICES_H
#define ISOLA_RUNTIME_CGROUP_DEVICES_H

#include <linux/bpf.h>
#include <stddef.h>

#include "common/err.h"
#include "runtime/spec/spec.h"

/* The config's rules followed by the devices every container gets (runc's
 * and crun's list), which therefore win.  Free with free(). */
int devices_effective(const struct spec_resources *r, struct spec_device_rule **out, size_t *n,
                      err_t *err);

/* A cgroup device program for `rules`: everything is denied unless the
 * last rule that matches allows it.  Free with free(). */
int devices_bpf_program(const struct spec_device_rule *rules, size_t n, struct bpf_insn **out,
                        size_t *len, err_t *err);

/* Load the program for `rules` and attach it to the cgroup v2 directory
 * `dir`, replacing the programs we attached before. */
int devices_bpf_apply(const char *dir, const struct spec_device_rule *rules, size_t n, err_t *err);

#endif
