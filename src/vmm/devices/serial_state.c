/* The UART's snapshot state, kept apart from its register logic
 * (serial.c): what a snapshot saves and a restore puts back. */
#include <string.h>

#include "vmm/devices/serial.h"

_Static_assert(sizeof(((struct serial_state *)0)->rx) == SERIAL_FIFO, "the FIFO is part of the file format");

void serial_save(struct serial *s, struct serial_state *st)
{
  *st = (struct serial_state){0};
  pthread_mutex_lock(&s->lock);
  st->ier = s->ier, st->lcr = s->lcr, st->mcr = s->mcr, st->scr = s->scr, st->dll = s->dll, st->dlm = s->dlm;
  st->fcr = s->fcr, st->thr_empty_pending = s->thr_empty_pending, st->irq_level = s->irq_level;
  memcpy(st->rx, s->rx, sizeof st->rx);
  st->rx_head = s->rx_head, st->rx_len = s->rx_len;
  pthread_mutex_unlock(&s->lock);
}

void serial_load(struct serial *s, const struct serial_state *st)
{
  pthread_mutex_lock(&s->lock);
  s->ier = st->ier, s->lcr = st->lcr, s->mcr = st->mcr, s->scr = st->scr, s->dll = st->dll, s->dlm = st->dlm;
  s->fcr = st->fcr, s->thr_empty_pending = st->thr_empty_pending, s->irq_level = st->irq_level;
  memcpy(s->rx, st->rx, sizeof s->rx);
  s->rx_head = st->rx_head % SERIAL_FIFO, s->rx_len = st->rx_len > SERIAL_FIFO ? SERIAL_FIFO : st->rx_len;
  pthread_mutex_unlock(&s->lock);
}
