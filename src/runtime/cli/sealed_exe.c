/* CVE-2019-5736: a process in the container can open /proc/<pid>/exe of a
 * runtime process that joined its namespaces and write the runtime's binary
 * on the host.  Commands that enter containers therefore run from a sealed
 * memfd copy of ourselves: its exe is an anonymous file that cannot be
 * written (F_SEAL_WRITE), grown or shrunk, and the seals cannot be removed.
 * runc and crun do the same. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "runtime/cli/commands.h"

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

static bool running_sealed(void)
{
  _cleanup_close_ int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (self < 0)
    return false;
  int seals = fcntl(self, F_GET_SEALS);
  return seals >= 0 && (seals & SEALS) == SEALS;
}

int sealed_exe_reexec(char **argv, char **envp, err_t *err)
{
  if (running_sealed())
    return 0;
  _cleanup_close_ int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (self < 0)
    return err_sys(err, "cannot open /proc/self/exe");
  struct stat st;
  if (fstat(self, &st) < 0)
    return err_sys(err, "cannot stat /proc/self/exe");
  _cleanup_close_ int mem = memfd_create("isola-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mem < 0)
    return err_sys(err, "cannot create a sealed copy of the runtime (memfd_create)");
  for (off_t done = 0; done < st.st_size;) {
    ssize_t n = sendfile(mem, self, NULL, (size_t)(st.st_size - done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return err_sys(err, "cannot copy the runtime into its sealed copy");
    done += n;
  }
  if (fcntl(mem, F_ADD_SEALS, SEALS) < 0)
    return err_sys(err, "cannot seal the runtime's copy");
  fexecve(mem, argv, envp);
  return err_sys(err, "cannot run the runtime's sealed copy");
}
