#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init.h"

int modules_load(const char *list)
{
  FILE *f = fopen(list, "re");
  if (!f)
    return errno == ENOENT ? 0 : -1; /* a kernel with everything built in has none */
  char path[512];
  int rc = 0;
  while (fgets(path, sizeof(path), f)) {
    path[strcspn(path, "\n")] = 0;
    if (!*path)
      continue;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)) {
      say("cannot load module %s: %s", path, strerror(errno));
      rc = -1;
    }
    if (fd >= 0)
      close(fd);
  }
  fclose(f);
  return rc;
}
