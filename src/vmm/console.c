#include "vmm/console.h"

#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static struct termios saved;
static int saved_fd = -1;

void console_restore(void)
{
  if (saved_fd >= 0) {
    tcsetattr(saved_fd, TCSANOW, &saved);
    saved_fd = -1;
  }
}

/* Fatal signals: put the terminal back, then die of the same signal. */
static void on_fatal(int sig)
{
  if (saved_fd >= 0)
    tcsetattr(saved_fd, TCSANOW, &saved);
  signal(sig, SIG_DFL);
  raise(sig);
}

int console_raw(int fd, err_t *err)
{
  if (!isatty(fd))
    return 0;
  struct termios t;
  if (tcgetattr(fd, &t) < 0)
    return err_sys(err, "cannot read the terminal settings of the console");
  saved = t;
  saved_fd = fd;
  static const int fatal[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
  for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
    signal(fatal[i], on_fatal);
  cfmakeraw(&t);
  t.c_oflag |= OPOST | ONLCR; /* host-side messages still start at column 0 */
  if (tcsetattr(fd, TCSANOW, &t) < 0) {
    saved_fd = -1;
    return err_sys(err, "cannot put the console terminal in raw mode");
  }
  return 0;
}
