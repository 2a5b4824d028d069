/* 16550A-compatible UART (the 8250 family, as Linux's 8250 driver and the
 * National Semiconductor PC16550D datasheet describe it): transmit to an
 * fd, receive from the host through serial_rx_push(), interrupts for
 * received data and an empty transmitter, loopback for the driver's probe. */
#ifndef ISOLA_VMM_DEVICES_SERIAL_H
#define ISOLA_VMM_DEVICES_SERIAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/devices/irq.h"

#define SERIAL_FIFO 64

struct serial {
  pthread_mutex_t lock;
  int out_fd; /* -1: output dropped */
  struct irq_line irq;
  uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
  bool thr_empty_pending; /* THRE interrupt armed until IIR reports it */
  bool irq_level;
  uint64_t tx_bytes; /* written by the guest (metrics) */
  uint8_t rx[SERIAL_FIFO];
  size_t rx_head, rx_len;
};

void serial_init(struct serial *s, int out_fd, struct irq_line irq);
void serial_destroy(struct serial *s);

/* Register at `port` (8 registers). */
int serial_attach(struct serial *s, struct bus *pio, uint16_t port, err_t *err);

/* Queue host input for the guest; returns how many bytes fitted. */
size_t serial_rx_push(struct serial *s, const uint8_t *data, size_t n);
size_t serial_rx_space(struct serial *s);

/* The UART's registers and receive FIFO as a snapshot records them
 * (record T_SERIAL of format 1 and 2: this layout is the file format). */
struct serial_state {
  uint8_t ier, lcr, mcr, scr, dll, dlm, fcr, thr_empty_pending, irq_level, pad[7];
  uint8_t rx[64];
  uint64_t rx_head, rx_len;
};

/* Copy the UART's state out, or back in (a FIFO position or length out of
 * range is clamped, so a damaged file cannot overrun the FIFO). */
void serial_save(struct serial *s, struct serial_state *st);
void serial_load(struct serial *s, const struct serial_state *st);

/* Register accessors (the bus callbacks; exposed for unit tests). */
uint8_t serial_read_reg(struct serial *s, uint64_t reg);
void serial_write_reg(struct serial *s, uint64_t reg, uint8_t v);

#endif
