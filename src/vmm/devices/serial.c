#include "vmm/devices/serial.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

enum { REG_DATA, REG_IER, REG_IIR_FCR, REG_LCR, REG_MCR, REG_LSR, REG_MSR, REG_SCR };

#define IER_RDI 0x01  /* received data available */
#define IER_THRI 0x02 /* transmitter holding register empty */
#define IIR_NONE 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_FIFO 0xc0
#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define LCR_DLAB 0x80
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_DCD 0x80

void serial_init(struct serial *s, int out_fd, struct irq_line irq)
{
  memset(s, 0, sizeof(*s));
  pthread_mutex_init(&s->lock, NULL);
  s->out_fd = out_fd;
  s->irq = irq;
  s->mcr = 0x08; /* OUT2: the PC wiring that gates the interrupt line */
}

void serial_destroy(struct serial *s)
{
  pthread_mutex_destroy(&s->lock);
}

static uint8_t iir(const struct serial *s)
{
  if ((s->ier & IER_RDI) && s->rx_len)
    return IIR_RDI;
  if ((s->ier & IER_THRI) && s->thr_empty_pending)
    return IIR_THRI;
  return IIR_NONE;
}

static void update_irq(struct serial *s)
{
  bool level = iir(s) != IIR_NONE;
  if (level != s->irq_level) {
    s->irq_level = level;
    irq_line_set(&s->irq, level);
  }
}

static void rx_put(struct serial *s, uint8_t b)
{
  if (s->rx_len == SERIAL_FIFO)
    return; /* overrun: the byte is lost, as on the chip */
  s->rx[(s->rx_head + s->rx_len) % SERIAL_FIFO] = b;
  s->rx_len++;
}

/* The byte leaves through the fd after the lock is dropped: a console
 * nobody reads (a full pipe) then blocks only this vCPU, never the main
 * loop, which needs the lock to feed input.  A vCPU thread sees EINTR only
 * when it is kicked to stop (every other signal is blocked there), so the
 * byte is dropped rather than retried. */
static void emit(int fd, uint8_t b)
{
  if (fd >= 0 && write(fd, &b, 1) < 0 && errno != EINTR && errno != EPIPE)
    return; /* nowhere to report it; the guest's console is best effort */
}

uint8_t serial_read_reg(struct serial *s, uint64_t reg)
{
  uint8_t v = 0;
  pthread_mutex_lock(&s->lock);
  switch (reg) {
  case REG_DATA:
    if (s->lcr & LCR_DLAB) {
      v = s->dll;
    } else if (s->rx_len) {
      v = s->rx[s->rx_head];
      s->rx_head = (s->rx_head + 1) % SERIAL_FIFO;
      s->rx_len--;
    }
    break;
  case REG_IER: v = (s->lcr & LCR_DLAB) ? s->dlm : s->ier; break;
  case REG_IIR_FCR:
    v = iir(s);
    if (v == IIR_THRI)
      s->thr_empty_pending = false; /* reading IIR acknowledges THRE (PC16550D table 4) */
    if (s->fcr & FCR_ENABLE)
      v |= IIR_FIFO;
    break;
  case REG_LCR: v = s->lcr; break;
  case REG_MCR: v = s->mcr; break;
  case REG_LSR: v = LSR_THRE | LSR_TEMT | (s->rx_len ? LSR_DR : 0); break;
  case REG_MSR:
    if (s->mcr & MCR_LOOP) /* DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD */
      v = (uint8_t)(((s->mcr & 0x01) << 5) | ((s->mcr & 0x02) << 3) | ((s->mcr & 0x04) << 4) |
                    ((s->mcr & 0x08) << 4));
    else
      v = MSR_DCD | MSR_DSR | MSR_CTS;
    break;
  case REG_SCR: v = s->scr; break;
  }
  update_irq(s);
  pthread_mutex_unlock(&s->lock);
  return v;
}

void serial_write_reg(struct serial *s, uint64_t reg, uint8_t v)
{
  int out = -1;
  pthread_mutex_lock(&s->lock);
  switch (reg) {
  case REG_DATA:
    if (s->lcr & LCR_DLAB) {
      s->dll = v;
      break;
    }
    if (s->mcr & MCR_LOOP)
      rx_put(s, v);
    else
      out = s->out_fd;
    s->tx_bytes++;
    s->thr_empty_pending = true; /* sent at once: the THR is empty again */
    break;
  case REG_IER:
    if (s->lcr & LCR_DLAB) {
      s->dlm = v;
    } else {
      if ((v & IER_THRI) && !(s->ier & IER_THRI))
        s->thr_empty_pending = true; /* enabling THRE with an empty THR interrupts at once */
      s->ier = v & 0x0f;
    }
    break;
  case REG_IIR_FCR:
    if (v & FCR_CLEAR_RX)
      s->rx_len = 0;
    s->fcr = v;
    break;
  case REG_LCR: s->lcr = v; break;
  case REG_MCR: s->mcr = v & 0x1f; break;
  case REG_SCR: s->scr = v; break;
  default: break; /* LSR and MSR are read-only */
  }
  update_irq(s);
  pthread_mutex_unlock(&s->lock);
  emit(out, v);
}

size_t serial_rx_push(struct serial *s, const uint8_t *data, size_t n)
{
  pthread_mutex_lock(&s->lock);
  size_t room = SERIAL_FIFO - s->rx_len;
  if (n > room)
    n = room;
  for (size_t i = 0; i < n; i++)
    rx_put(s, data[i]);
  update_irq(s);
  pthread_mutex_unlock(&s->lock);
  return n;
}

size_t serial_rx_space(struct serial *s)
{
  pthread_mutex_lock(&s->lock);
  size_t room = SERIAL_FIFO - s->rx_len;
  pthread_mutex_unlock(&s->lock);
  return room;
}

static void bus_rd(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
  data[0] = serial_read_reg(dev, off);
  for (uint32_t i = 1; i < len; i++)
    data[i] = 0;
}

static void bus_wr(void *dev, uint64_t off, const uint8_t *data, uint32_t len)
{
  serial_write_reg(dev, off, data[0]);
}

int serial_attach(struct serial *s, struct bus *pio, uint16_t port, err_t *err)
{
  struct bus_range r = {.name = "serial", .base = port, .len = 8, .dev = s,
                        .read = bus_rd, .write = bus_wr};
  return bus_register(pio, &r, err);
}
