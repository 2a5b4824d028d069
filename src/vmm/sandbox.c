#include "vmm/sandbox.h"

#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

bool sandbox_enabled = true;

static const char *const COMMON[] = {
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "close", "ioctl",
    "futex", "rt_sigreturn", "rt_sigprocmask", "sigaltstack", "exit", "exit_group", "restart_syscall",
    "mmap", "munmap", "mprotect", "madvise", "mremap", "brk", "clock_gettime", "clock_nanosleep", "nanosleep",
    "gettid", "getpid", "tgkill", "sched_yield", "sched_getaffinity", "getrandom", "fcntl", "lseek", "fstat",
    "newfstatat", "statx", "uname", "rseq", "set_robust_list", "prctl", "getrusage", "eventfd2",
    NULL,
};

static const char *const DEVICE[] = {
    "epoll_wait", "epoll_pwait", "epoll_ctl", "poll", "ppoll", "io_uring_enter", "io_uring_register",
    "socket", "connect", "accept4", "accept", "sendto", "recvfrom", "sendmsg", "recvmsg", "shutdown",
    "getsockopt", "setsockopt", "getsockname", "getpeername", "fsync", "fdatasync", "fallocate",
    "timerfd_settime", "timerfd_gettime", NULL,
};

static const char *const API[] = {
    "epoll_wait", "epoll_pwait", "epoll_ctl", "epoll_create1", "poll", "ppoll", "select", "pselect6",
    "accept4", "accept", "sendto", "recvfrom", "sendmsg", "recvmsg", "shutdown", "getsockopt", "setsockopt",
    "getsockname", "getpeername", "openat", "open", "fsync", "fdatasync", "rename", "renameat", "unlink",
    "unlinkat", "access", "faccessat", "faccessat2", "ftruncate", "dup", "pipe2", "flock",
    /* PATCH of a rate limiter: a device that had none gets its timer */
    "timerfd_create", "timerfd_settime", NULL,
};

static int allow(scmp_filter_ctx ctx, const char *const *names)
{
  for (const char *const *n = names; *n; n++) {
    int nr = seccomp_syscall_resolve_name(*n);
    if (nr == __NR_SCMP_ERROR)
      continue; /* not on this architecture */
    if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) < 0)
      return -1;
  }
  return 0;
}

int sandbox_apply(enum sandbox_kind kind, err_t *err)
{
  if (!sandbox_enabled)
    return 0;
  /* what the allow-lists leave out must be done before: the time zone is
   * read once (log lines carry local time) */
  tzset();
  static const char *const kinds[] = {"vcpu", "device", "api"};
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
  if (!ctx)
    return err_make(err, ENOMEM, "cannot make the %s seccomp filter", kinds[kind]);
  int r = allow(ctx, COMMON);
  if (r == 0 && kind == SANDBOX_DEVICE)
    r = allow(ctx, DEVICE);
  if (r == 0 && kind == SANDBOX_API)
    r = allow(ctx, API);
  /* glibc's free() reads /proc/sys/vm/overcommit_memory the first time it
   * shrinks a thread's arena (seen: the device loop, at a Linux guest's
   * power-off); refused, it takes overcommit as off and goes on.  So an
   * open fails here with EACCES instead of killing the VMM. */
  if (r == 0 && kind != SANDBOX_API)
    r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
  if (r == 0 && kind != SANDBOX_API)
    r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 0);
  if (r == 0)
    r = seccomp_load(ctx); /* this thread only (no TSYNC) */
  seccomp_release(ctx);
  if (r < 0) {
    errno = -r;
    return err_sys(err, "cannot load the %s seccomp filter", kinds[kind]);
  }
  return 0;
}

void sandbox_selftest(enum sandbox_kind kind)
{
  static const char *const kinds[] = {"vcpu", "device", "api"};
  const char *want = getenv("ISOLA_VMM_SECCOMP_SELFTEST");
  if (!want || strcmp(want, kinds[kind]))
    return;
  log_warn("seccomp self-test: the %s thread calls unshare(0)", kinds[kind]);
  long r = syscall(SYS_unshare, 0); /* harmless where allowed: it changes nothing */
  log_warn("seccomp self-test: unshare(0) was not stopped (returned %ld)", r);
}
