/* The default seccomp profile of containers, in the spirit of Podman's and
 * Docker's: every syscall libseccomp knows for x86-64 is allowed except
 * the ones that reach outside a container (modules, kexec, keyrings, mount,
 * namespaces, clocks, bpf...), which fail with EPERM unless the container
 * holds the capability that makes them safe; syscalls newer than
 * libseccomp fail with ENOSYS so that libraries fall back. */
#include "engine/container/bundle.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <seccomp.h>

/* Blocked unless the capability (NULL: never) is held. */
static const struct {
  const char *name, *cap;
} gated[] = {
    {"acct", "CAP_SYS_PACCT"},
    {"add_key", NULL},
    {"bpf", "CAP_SYS_ADMIN"},
    {"clock_adjtime", "CAP_SYS_TIME"},
    {"clock_settime", "CAP_SYS_TIME"},
    {"settimeofday", "CAP_SYS_TIME"},
    {"stime", "CAP_SYS_TIME"},
    {"create_module", NULL},
    {"delete_module", "CAP_SYS_MODULE"},
    {"finit_module", "CAP_SYS_MODULE"},
    {"init_module", "CAP_SYS_MODULE"},
    {"get_kernel_syms", NULL},
    {"query_module", NULL},
    {"get_mempolicy", "CAP_SYS_NICE"},
    {"mbind", "CAP_SYS_NICE"},
    {"set_mempolicy", "CAP_SYS_NICE"},
    {"move_pages", "CAP_SYS_NICE"},
    {"ioperm", "CAP_SYS_RAWIO"},
    {"iopl", "CAP_SYS_RAWIO"},
    {"kcmp", "CAP_SYS_PTRACE"},
    {"process_vm_readv", "CAP_SYS_PTRACE"},
    {"process_vm_writev", "CAP_SYS_PTRACE"},
    {"kexec_file_load", NULL},
    {"kexec_load", NULL},
    {"keyctl", NULL},
    {"request_key", NULL},
    {"lookup_dcookie", "CAP_SYS_ADMIN"},
    {"mount", "CAP_SYS_ADMIN"},
    {"umount", "CAP_SYS_ADMIN"},
    {"umount2", "CAP_SYS_ADMIN"},
    {"mount_setattr", "CAP_SYS_ADMIN"},
    {"move_mount", "CAP_SYS_ADMIN"},
    {"open_tree", "CAP_SYS_ADMIN"},
    {"fsopen", "CAP_SYS_ADMIN"},
    {"fsconfig", "CAP_SYS_ADMIN"},
    {"fsmount", "CAP_SYS_ADMIN"},
    {"fspick", "CAP_SYS_ADMIN"},
    {"pivot_root", "CAP_SYS_ADMIN"},
    {"setns", "CAP_SYS_ADMIN"},
    {"unshare", "CAP_SYS_ADMIN"},
    {"quotactl", "CAP_SYS_ADMIN"},
    {"quotactl_fd", "CAP_SYS_ADMIN"},
    {"name_to_handle_at", "CAP_SYS_ADMIN"},
    {"open_by_handle_at", "CAP_DAC_READ_SEARCH"},
    {"perf_event_open", "CAP_SYS_ADMIN"},
    {"nfsservctl", NULL},
    {"reboot", "CAP_SYS_BOOT"},
    {"swapon", "CAP_SYS_ADMIN"},
    {"swapoff", "CAP_SYS_ADMIN"},
    {"syslog", "CAP_SYSLOG"},
    {"sysfs", NULL},
    {"_sysctl", NULL},
    {"uselib", NULL},
    {"userfaultfd", "CAP_SYS_PTRACE"},
    {"ustat", NULL},
    {"vm86", NULL},
    {"vm86old", NULL},
    {"vhangup", "CAP_SYS_TTY_CONFIG"},
    /* handled below with argument rules */
    {"clone", "CAP_SYS_ADMIN"},
    {"clone3", "CAP_SYS_ADMIN"},
    {"personality", NULL},
};

static bool has_cap(json_t *caps, const char *cap)
{
  size_t i;
  json_t *c;
  json_array_foreach(caps, i, c)
  {
    if (!strcmp(json_string_value(c), cap))
      return true;
  }
  return false;
}

static int gate_of(const char *name)
{
  for (size_t i = 0; i < sizeof gated / sizeof gated[0]; i++)
    if (!strcmp(gated[i].name, name))
      return (int)i;
  return -1;
}

json_t *seccomp_default_profile(json_t *caps)
{
  json_t *allow = json_array(), *deny = json_array();
  /* libseccomp's table for x86-64: a syscall it cannot name is one it does
   * not know, and falls to the ENOSYS default */
  for (int nr = 0; nr < 1024; nr++) {
    char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
    if (!name)
      continue;
    int g = gate_of(name);
    if (g < 0 || (gated[g].cap && has_cap(caps, gated[g].cap)))
      json_array_append_new(allow, json_string(name));
    else if (strcmp(name, "clone") && strcmp(name, "clone3") && strcmp(name, "personality"))
      json_array_append_new(deny, json_string(name));
    free(name);
  }
  /* i386 names that x86-64 lacks */
  static const char *const compat[] = {"socketcall", "ipc", "_llseek", "_newselect", "fstat64",
                                       "fstatat64", "lstat64", "stat64", "statfs64", "fstatfs64",
                                       "fcntl64", "sendfile64", "mmap2", "ugetrlimit", "waitpid",
                                       "sigreturn", "sigaction", "sigprocmask", "sigsuspend",
                                       "sigpending", "getuid32", "getgid32", "geteuid32",
                                       "getegid32", "setuid32", "setgid32", "setreuid32",
                                       "setregid32", "setresuid32", "setresgid32", "getresuid32",
                                       "getresgid32", "getgroups32", "setgroups32", "fchown32",
                                       "chown32", "lchown32", "setfsuid32", "setfsgid32",
                                       "truncate64", "ftruncate64", "set_thread_area",
                                       "get_thread_area", "clock_gettime64", "clock_nanosleep_time64",
                                       "futex_time64", "ppoll_time64", "pselect6_time64",
                                       "recvmmsg_time64", "semtimedop_time64",
                                       "rt_sigtimedwait_time64", "utimensat_time64",
                                       "timerfd_gettime64", "timerfd_settime64",
                                       "timer_gettime64", "timer_settime64", "io_pgetevents_time64",
                                       "mq_timedreceive_time64", "mq_timedsend_time64",
                                       "sched_rr_get_interval_time64", "clock_getres_time64",
                                       "statx", NULL};
  for (const char *const *c = compat; *c; c++)
    json_array_append_new(allow, json_string(*c));
  json_t *syscalls = json_pack("[{so ss}]", "names", allow, "action", "SCMP_ACT_ALLOW");
  if (json_array_size(deny))
    json_array_append_new(syscalls, json_pack("{so ss si}", "names", deny, "action", "SCMP_ACT_ERRNO",
                                              "errnoRet", EPERM));
  else
    json_decref(deny);
  bool admin = has_cap(caps, "CAP_SYS_ADMIN");
  if (admin) {
    json_array_append_new(syscalls, json_pack("{s[ss] ss}", "names", "clone", "clone3", "action",
                                              "SCMP_ACT_ALLOW"));
  } else {
    /* clone without namespace flags; clone3 hides its flags in memory, so
     * it gets ENOSYS and libc falls back to clone */
    json_array_append_new(syscalls,
                          json_pack("{s[s] ss s[{si sI sI ss}]}", "names", "clone", "action",
                                    "SCMP_ACT_ALLOW", "args", "index", 0, "value", (json_int_t)0x7E020000,
                                    "valueTwo", (json_int_t)0, "op", "SCMP_CMP_MASKED_EQ"));
    json_array_append_new(syscalls, json_pack("{s[s] ss si}", "names", "clone3", "action",
                                              "SCMP_ACT_ERRNO", "errnoRet", ENOSYS));
  }
  /* personality: only the harmless personas (Linux, 32-bit, query) */
  static const json_int_t personas[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};
  for (size_t i = 0; i < sizeof personas / sizeof personas[0]; i++)
    json_array_append_new(syscalls, json_pack("{s[s] ss s[{si sI ss}]}", "names", "personality", "action",
                                              "SCMP_ACT_ALLOW", "args", "index", 0, "value", personas[i],
                                              "op", "SCMP_CMP_EQ"));
  return json_pack("{ss si s[sss] so}", "defaultAction", "SCMP_ACT_ERRNO", "defaultErrnoRet", ENOSYS,
                   "architectures", "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "syscalls",
                   syscalls);
}

/* Docker's profile format (archMap, includes/excludes by capability) to
 * the OCI one; an OCI profile passes through. */
json_t *seccomp_from_profile(json_t *p, json_t *caps)
{
  json_t *out = json_object();
  json_object_set(out, "defaultAction", json_object_get(p, "defaultAction"));
  if (json_object_get(p, "defaultErrnoRet"))
    json_object_set(out, "defaultErrnoRet", json_object_get(p, "defaultErrnoRet"));
  json_t *arches = json_object_get(p, "architectures");
  if (arches) {
    json_object_set(out, "architectures", arches);
  } else {
    json_t *a = json_array();
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(p, "archMap"), i, m)
    {
      json_array_append(a, json_object_get(m, "architecture"));
      size_t k;
      json_t *s;
      json_array_foreach(json_object_get(m, "subArchitectures"), k, s) json_array_append(a, s);
    }
    json_object_set_new(out, "architectures", a);
  }
  json_t *sys = json_array();
  size_t i;
  json_t *r;
  json_array_foreach(json_object_get(p, "syscalls"), i, r)
  {
    json_t *inc = json_object_get(json_object_get(r, "includes"), "caps");
    json_t *exc = json_object_get(json_object_get(r, "excludes"), "caps");
    bool keep = true;
    size_t k;
    json_t *c;
    json_array_foreach(inc, k, c) keep = keep && has_cap(caps, json_string_value(c));
    json_array_foreach(exc, k, c) keep = keep && !has_cap(caps, json_string_value(c));
    if (!keep)
      continue;
    json_t *rule = json_object();
    static const char *const keys[] = {"names", "action", "errnoRet", "args", NULL};
    for (const char *const *key = keys; *key; key++)
      if (json_object_get(r, *key))
        json_object_set(rule, *key, json_object_get(r, *key));
    if (!json_object_get(rule, "names") && json_object_get(r, "name"))
      json_object_set_new(rule, "names", json_pack("[O]", json_object_get(r, "name")));
    json_array_append_new(sys, rule);
  }
  json_object_set_new(out, "syscalls", sys);
  return out;
}
