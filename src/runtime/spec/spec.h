/* The OCI runtime configuration (runtime-spec 1.2, config.md and
 * config-linux.md) as typed structs.  spec_load() fills them from
 * config.json; every wrong field is reported with its JSON path. */
#ifndef ISOLA_RUNTIME_SPEC_H
#define ISOLA_RUNTIME_SPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

#define SPEC_CAP_SETS 5
enum spec_cap_set { CAPS_BOUNDING, CAPS_EFFECTIVE, CAPS_INHERITABLE, CAPS_PERMITTED, CAPS_AMBIENT };

struct spec_rlimit {
  int resource;
  uint64_t soft, hard;
};

struct spec_user {
  uint32_t uid, gid;
  uint32_t *additional_gids;
  size_t n_additional_gids;
  int umask; /* -1: unset */
  const char *username;
};

struct spec_process {
  bool terminal;
  uint32_t console_height, console_width;
  char **args; /* NULL-terminated */
  char **env;  /* NULL-terminated */
  const char *cwd;
  struct spec_user user;
  bool has_caps;
  uint64_t caps[SPEC_CAP_SETS]; /* bit n: capability n */
  bool no_new_privileges;
  struct spec_rlimit *rlimits;
  size_t n_rlimits;
  bool has_oom_score_adj;
  int oom_score_adj;
  const char *apparmor_profile;
  const char *selinux_label;
};

struct spec_idmap {
  uint32_t container_id, host_id, size;
};

struct spec_mount {
  const char *destination;
  const char *type;   /* may be NULL: then a bind mount if options say so */
  const char *source; /* may be NULL */
  unsigned long flags;      /* MS_* to set */
  unsigned long clear;      /* MS_* the options clear (rw, suid, ...) */
  unsigned long propagation; /* MS_SHARED/SLAVE/PRIVATE/UNBINDABLE (| MS_REC) */
  bool bind, recursive;
  bool tmpcopyup; /* "tmpcopyup" (runc, crun): a tmpfs starts with what it covers */
  char *data; /* options that are not flags, joined by ',' */
  struct spec_idmap *uid_mappings, *gid_mappings;
  size_t n_uid_mappings, n_gid_mappings;
};

struct spec_namespace {
  int type;         /* CLONE_NEW* */
  const char *path; /* NULL: create */
};

struct spec_device {
  const char *path;
  char type; /* 'c', 'b', 'u', 'p' */
  int64_t major, minor;
  bool has_mode, has_uid, has_gid;
  mode_t mode;
  uint32_t uid, gid;
};

struct spec_hook {
  const char *path;
  char **args;
  char **env;
  int timeout; /* seconds; 0: none */
};

enum spec_hook_kind {
  HOOK_PRESTART,
  HOOK_CREATE_RUNTIME,
  HOOK_CREATE_CONTAINER,
  HOOK_START_CONTAINER,
  HOOK_POSTSTART,
  HOOK_POSTSTOP,
  HOOK_KINDS
};

struct spec_seccomp_arg {
  unsigned index;
  uint64_t value, value_two;
  int op; /* enum scmp_compare */
};

struct spec_seccomp_rule {
  char **names;
  uint32_t action; /* SCMP_ACT_* without errno */
  int errno_ret;   /* -1: default */
  struct spec_seccomp_arg *args;
  size_t n_args;
};

struct spec_seccomp {
  uint32_t default_action;
  int default_errno_ret;
  uint32_t *arches;
  size_t n_arches;
  char **flags;
  const char *listener_path;
  const char *listener_metadata;
  struct spec_seccomp_rule *rules;
  size_t n_rules;
};

struct spec_device_rule {
  bool allow;
  char type; /* 'a', 'c', 'b' */
  int64_t major, minor; /* -1: any */
  char access[4];       /* subset of "rwm" */
};

struct spec_hugepage_limit {
  const char *page_size;
  uint64_t limit;
};

struct spec_weight_device {
  int64_t major, minor;
  int weight, leaf_weight; /* -1: unset */
};

struct spec_throttle_device {
  int64_t major, minor;
  uint64_t rate;
};

#define SPEC_UNSET INT64_MIN

/* Every number is SPEC_UNSET when absent. */
struct spec_resources {
  struct {
    int64_t limit, reservation, swap, kernel, kernel_tcp, swappiness;
    bool disable_oom_killer, use_hierarchy, check_before_update;
  } memory;
  struct {
    int64_t shares, quota, burst, period, realtime_runtime, realtime_period, idle;
    const char *cpus, *mems;
  } cpu;
  int64_t pids_limit;
  struct {
    int64_t weight, leaf_weight;
    struct spec_weight_device *weight_devices;
    size_t n_weight_devices;
    struct spec_throttle_device *throttle[4]; /* read bps, write bps, read iops, write iops */
    size_t n_throttle[4];
  } blkio;
  struct spec_hugepage_limit *hugepages;
  size_t n_hugepages;
  struct spec_device_rule *devices;
  size_t n_devices;
  json_t *unified; /* object of string values, borrowed */
  int64_t net_class_id;
};

struct spec_linux {
  struct spec_namespace *namespaces;
  size_t n_namespaces;
  struct spec_idmap *uid_mappings, *gid_mappings;
  size_t n_uid_mappings, n_gid_mappings;
  struct spec_device *devices;
  size_t n_devices;
  const char *cgroups_path;
  bool has_resources;
  struct spec_resources resources;
  const char *rootfs_propagation;
  char **masked_paths;
  char **readonly_paths;
  const char *mount_label;
  json_t *sysctl; /* object of strings, borrowed */
  struct spec_seccomp *seccomp;
  bool has_personality;
  unsigned long personality;
  struct {
    bool has_boottime, has_monotonic;
    int64_t boottime_secs, boottime_nanosecs, monotonic_secs, monotonic_nanosecs;
  } time_offsets;
};

struct spec {
  json_t *json; /* the parsed document; strings above borrow from it */
  const char *oci_version;
  const char *root_path; /* as written; may be relative to the bundle */
  bool root_readonly;
  bool has_process;
  struct spec_process process;
  const char *hostname;
  const char *domainname;
  struct spec_mount *mounts;
  size_t n_mounts;
  struct spec_hook *hooks[HOOK_KINDS];
  size_t n_hooks[HOOK_KINDS];
  json_t *annotations; /* borrowed; may be NULL */
  bool has_linux;
  struct spec_linux linux_;
};

/* Parse `path` (config.json).  Messages read "config.json: process.args: ...". */
int spec_load(const char *path, struct spec **out, err_t *err);
int spec_parse(json_t *doc, const char *what, struct spec **out, err_t *err);
void spec_free(struct spec *s);

/* A process object alone (exec --process). */
int spec_parse_process(const json_t *obj, const char *path, struct spec_process *out, err_t *err);
void spec_process_release(struct spec_process *p);

/* A resources object alone (update --resources). */
int spec_parse_resources(const json_t *obj, const char *path, struct spec_resources *out,
                         err_t *err);
void spec_resources_release(struct spec_resources *r);
void spec_resources_init(struct spec_resources *r);
/* The name of the first limit set ("memory", "pids"...), NULL when none.
 * Device rules do not count: they need no cgroup in a user namespace. */
const char *spec_resources_first_limit(const struct spec_resources *r);

/* Name tables, shared with `features` so that it reports what the parser
 * really accepts. */
int spec_cap_from_name(const char *name);   /* -1: unknown */
const char *spec_cap_name(int cap);         /* NULL: unknown */
int spec_rlimit_from_name(const char *name); /* -1: unknown */
extern const char *const spec_namespace_names[];
extern const char *const spec_hook_names[HOOK_KINDS + 1]; /* NULL-terminated */
const char *const *spec_mount_option_names(void);

/* NULL-terminated vector of borrowed strings; arr NULL gives an empty one. */
int spec_strv(const json_t *arr, const char *path, char ***out, err_t *err);

#define _cleanup_spec_ __attribute__((cleanup(spec_freep)))
static inline void spec_freep(struct spec **s)
{
  spec_free(*s);
}

#endif
