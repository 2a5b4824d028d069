/* The terminal under the serial console: raw mode while the guest runs
 * (keys such as Ctrl-C go to the guest), restored on every way out,
 * including a crash of isola-vmm itself. */
#ifndef ISOLA_VMM_CONSOLE_H
#define ISOLA_VMM_CONSOLE_H

#include "common/err.h"

/* No-op when `fd` is not a terminal. */
int console_raw(int fd, err_t *err);
void console_restore(void);

#endif
