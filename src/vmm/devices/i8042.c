#include "vmm/devices/i8042.h"

#include <string.h>

#include "vmm/layout.h"

#define ST_OBF 0x01
#define ST_SYS 0x04
#define ST_CMD 0x08
#define ST_UNLOCKED 0x10
#define CTR_KBD_INT 0x01
#define CTR_SYS 0x04
#define CTR_XLATE 0x40

enum {
  CMD_READ_CTR = 0x20, CMD_WRITE_CTR = 0x60, CMD_AUX_DISABLE = 0xa7, CMD_AUX_ENABLE = 0xa8,
  CMD_AUX_TEST = 0xa9, CMD_SELF_TEST = 0xaa, CMD_KBD_TEST = 0xab, CMD_KBD_DISABLE = 0xad,
  CMD_KBD_ENABLE = 0xae, CMD_READ_OUTP = 0xd0, CMD_WRITE_OUTP = 0xd1, CMD_WRITE_KBD_OUT = 0xd2,
  CMD_RESET = 0xfe,
};
enum {
  KBD_SET_LEDS = 0xed, KBD_ECHO = 0xee, KBD_SCANCODE = 0xf0, KBD_GET_ID = 0xf2,
  KBD_TYPEMATIC = 0xf3, KBD_RESET = 0xff, KBD_ACK = 0xfa, KBD_BAT_OK = 0xaa,
};

void i8042_init(struct i8042 *k, struct irq_line irq, struct stop_hook stop)
{
  memset(k, 0, sizeof(*k));
  pthread_mutex_init(&k->lock, NULL);
  k->irq = irq;
  k->stop = stop;
  k->ctr = CTR_KBD_INT | CTR_SYS | CTR_XLATE;
}

void i8042_destroy(struct i8042 *k)
{
  pthread_mutex_destroy(&k->lock);
}

/* Each byte put in the output buffer pulses IRQ 1 when enabled: the IOAPIC
 * pin is edge-triggered, so lower then raise. */
static void push(struct i8042 *k, uint8_t b)
{
  if (k->q_len == I8042_QUEUE)
    return;
  k->q[(k->q_head + k->q_len) % I8042_QUEUE] = b;
  k->q_len++;
  if (k->ctr & CTR_KBD_INT) {
    irq_line_set(&k->irq, false);
    irq_line_set(&k->irq, true);
  }
}

static void controller_cmd(struct i8042 *k, uint8_t cmd)
{
  switch (cmd) {
  case CMD_READ_CTR: push(k, k->ctr); break;
  case CMD_WRITE_CTR:
  case CMD_WRITE_OUTP:
  case CMD_WRITE_KBD_OUT: k->pending = cmd; break;
  case CMD_SELF_TEST: push(k, 0x55); break;
  case CMD_KBD_TEST: push(k, 0x00); break;
  case CMD_AUX_TEST: push(k, 0xff); break; /* no mouse behind this controller */
  case CMD_READ_OUTP: push(k, 0x01); break;
  case CMD_RESET: stop_hook_fire(&k->stop, 0, "the guest reset the machine through the i8042"); break;
  default: break; /* enable/disable and the rest need no answer */
  }
}

static void keyboard_cmd(struct i8042 *k, uint8_t v)
{
  if (k->kbd_pending) {
    uint8_t was = k->kbd_pending;
    k->kbd_pending = 0;
    push(k, KBD_ACK);
    if (was == KBD_SCANCODE && v == 0)
      push(k, 0x02); /* "get current set": set 2 */
    return;
  }
  switch (v) {
  case KBD_SET_LEDS:
  case KBD_SCANCODE:
  case KBD_TYPEMATIC: k->kbd_pending = v; push(k, KBD_ACK); break;
  case KBD_ECHO: push(k, KBD_ECHO); break;
  case KBD_GET_ID: push(k, KBD_ACK); push(k, 0xab); push(k, 0x83); break;
  case KBD_RESET: push(k, KBD_ACK); push(k, KBD_BAT_OK); break;
  default: push(k, KBD_ACK); break;
  }
}

uint8_t i8042_read_port(struct i8042 *k, uint16_t port)
{
  uint8_t v = 0;
  pthread_mutex_lock(&k->lock);
  if (port == PORT_I8042_CMD) {
    v = ST_SYS | ST_UNLOCKED | (k->q_len ? ST_OBF : 0) | (k->last_was_cmd ? ST_CMD : 0);
  } else if (k->q_len) {
    v = k->q[k->q_head];
    k->q_head = (k->q_head + 1) % I8042_QUEUE;
    k->q_len--;
    if (k->q_len && (k->ctr & CTR_KBD_INT)) {
      irq_line_set(&k->irq, false);
      irq_line_set(&k->irq, true);
    }
  }
  pthread_mutex_unlock(&k->lock);
  return v;
}

void i8042_write_port(struct i8042 *k, uint16_t port, uint8_t v)
{
  pthread_mutex_lock(&k->lock);
  if (port == PORT_I8042_CMD) {
    k->last_was_cmd = true;
    controller_cmd(k, v);
  } else {
    k->last_was_cmd = false;
    uint8_t cmd = k->pending;
    k->pending = 0;
    if (cmd == CMD_WRITE_CTR)
      k->ctr = v;
    else if (cmd == CMD_WRITE_OUTP && !(v & 0x01))
      stop_hook_fire(&k->stop, 0, "the guest reset the machine through the i8042 output port");
    else if (cmd == CMD_WRITE_KBD_OUT)
      push(k, v);
    else if (cmd != CMD_WRITE_OUTP)
      keyboard_cmd(k, v);
  }
  pthread_mutex_unlock(&k->lock);
}

void i8042_ctrl_alt_del(struct i8042 *k)
{
  static const uint8_t codes[] = {0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d};
  pthread_mutex_lock(&k->lock);
  for (size_t i = 0; i < sizeof(codes); i++)
    push(k, codes[i]);
  pthread_mutex_unlock(&k->lock);
}

/* One range covers 0x60..0x64; 0x61 (speaker) and the PIT ports never
 * reach it because the in-kernel PIT claims them. */
static void bus_rd(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
  memset(data, 0xff, len);
  if (off == 0 || off == PORT_I8042_CMD - PORT_I8042_DATA)
    data[0] = i8042_read_port(dev, (uint16_t)(PORT_I8042_DATA + off));
}

static void bus_wr(void *dev, uint64_t off, const uint8_t *data, uint32_t len)
{
  if (off == 0 || off == PORT_I8042_CMD - PORT_I8042_DATA)
    i8042_write_port(dev, (uint16_t)(PORT_I8042_DATA + off), data[0]);
}

int i8042_attach(struct i8042 *k, struct bus *pio, err_t *err)
{
  struct bus_range r = {.name = "i8042", .base = PORT_I8042_DATA,
                        .len = PORT_I8042_CMD - PORT_I8042_DATA + 1, .dev = k, .read = bus_rd,
                        .write = bus_wr};
  return bus_register(pio, &r, err);
}
