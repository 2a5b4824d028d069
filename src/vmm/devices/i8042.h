/* The PS/2 controller, enough for Linux's i8042 and atkbd drivers: the
 * controller commands they probe with, keyboard command replies, reset
 * through command 0xfe (reboot=k) or the output port, and Ctrl-Alt-Del
 * injected as scancodes on IRQ 1 (Firecracker's SendCtrlAltDel). */
#ifndef ISOLA_VMM_DEVICES_I8042_H
#define ISOLA_VMM_DEVICES_I8042_H

#include <pthread.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/devices/irq.h"

#define I8042_QUEUE 16

struct i8042 {
  pthread_mutex_t lock;
  struct irq_line irq;
  struct stop_hook stop;
  uint8_t ctr;        /* controller configuration byte */
  uint8_t pending;    /* controller command waiting for its data byte, or 0 */
  uint8_t kbd_pending; /* keyboard command waiting for its argument, or 0 */
  bool last_was_cmd;
  uint8_t q[I8042_QUEUE];
  int q_head, q_len;
};

void i8042_init(struct i8042 *k, struct irq_line irq, struct stop_hook stop);
void i8042_destroy(struct i8042 *k);
int i8042_attach(struct i8042 *k, struct bus *pio, err_t *err);

/* Press and release Ctrl-Alt-Del (set 1 scancodes, as after translation). */
void i8042_ctrl_alt_del(struct i8042 *k);

uint8_t i8042_read_port(struct i8042 *k, uint16_t port);
void i8042_write_port(struct i8042 *k, uint16_t port, uint8_t v);

#endif
