/* The legacy devices, driven through their registers as a guest would. */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#include "vmm/devices/i8042.h"
#include "vmm/devices/serial.h"
#include "vmm/layout.h"

static int irq_level = -1, irq_edges;
static void rec_irq(void *ctx, int irq, bool level)
{
  if (level && irq_level != 1)
    irq_edges++;
  irq_level = level;
}
static int stops;
static const char *stop_why;
static void rec_stop(void *ctx, int status, const char *why)
{
  stops++;
  stop_why = why;
}

enum { DATA, IER, IIR, LCR, MCR, LSR, MSR };

Test(serial, transmits_to_its_fd_and_raises_thre_interrupts)
{
  int p[2];
  cr_assert_eq(pipe(p), 0);
  struct serial s;
  serial_init(&s, p[1], (struct irq_line){rec_irq, NULL, IRQ_COM1});
  cr_assert_eq(serial_read_reg(&s, LSR) & 0x60, 0x60, "transmitter empty");
  serial_write_reg(&s, DATA, 'A');
  char c;
  cr_assert_eq(read(p[0], &c, 1), 1);
  cr_assert_eq(c, 'A');
  cr_assert_eq(serial_read_reg(&s, IIR) & 0xf, 0x1, "no interrupt while IER is clear");
  serial_write_reg(&s, IER, 0x02);
  cr_assert_eq(irq_level, 1, "enabling THRE with an empty THR interrupts");
  cr_assert_eq(serial_read_reg(&s, IIR) & 0xf, 0x2);
  cr_assert_eq(irq_level, 0, "reading IIR acknowledges THRE");
  cr_assert_eq(serial_read_reg(&s, IIR) & 0xf, 0x1);
  serial_destroy(&s);
  close(p[0]);
  close(p[1]);
}

Test(serial, received_bytes_interrupt_and_fifo_bounds)
{
  struct serial s;
  serial_init(&s, -1, (struct irq_line){rec_irq, NULL, IRQ_COM1});
  serial_write_reg(&s, IER, 0x01);
  uint8_t many[100];
  memset(many, 'x', sizeof(many));
  cr_assert_eq(serial_rx_push(&s, many, sizeof(many)), SERIAL_FIFO, "only what fits");
  cr_assert_eq(serial_rx_space(&s), 0);
  cr_assert_eq(irq_level, 1);
  cr_assert_eq(serial_read_reg(&s, IIR) & 0xf, 0x4);
  cr_assert_eq(serial_read_reg(&s, LSR) & 1, 1);
  for (int i = 0; i < SERIAL_FIFO; i++)
    cr_assert_eq(serial_read_reg(&s, DATA), 'x');
  cr_assert_eq(serial_read_reg(&s, LSR) & 1, 0);
  cr_assert_eq(irq_level, 0);
  serial_destroy(&s);
}

Test(serial, loopback_passes_the_8250_probe)
{
  /* Linux's autoconfig: MCR = LOOP | OUT2 | RTS must read back as
   * MSR = DCD | CTS (0x90), and THR writes come back on RBR. */
  struct serial s;
  serial_init(&s, -1, (struct irq_line){0});
  serial_write_reg(&s, MCR, 0x10 | 0x0a);
  cr_assert_eq(serial_read_reg(&s, MSR) & 0xf0, 0x90);
  serial_write_reg(&s, DATA, 0x55);
  cr_assert_eq(serial_read_reg(&s, DATA), 0x55);
  serial_write_reg(&s, LCR, 0x80);
  serial_write_reg(&s, DATA, 0x0c);
  cr_assert_eq(serial_read_reg(&s, DATA), 0x0c, "divisor latch");
  serial_destroy(&s);
}

Test(i8042, self_test_ctr_and_keyboard_id)
{
  struct i8042 k;
  i8042_init(&k, (struct irq_line){rec_irq, NULL, IRQ_KEYBOARD}, (struct stop_hook){rec_stop, NULL});
  i8042_write_port(&k, PORT_I8042_CMD, 0xaa);
  cr_assert(i8042_read_port(&k, PORT_I8042_CMD) & 1);
  cr_assert_eq(i8042_read_port(&k, PORT_I8042_DATA), 0x55);
  i8042_write_port(&k, PORT_I8042_CMD, 0x60);
  i8042_write_port(&k, PORT_I8042_DATA, 0x45);
  i8042_write_port(&k, PORT_I8042_CMD, 0x20);
  cr_assert_eq(i8042_read_port(&k, PORT_I8042_DATA), 0x45);
  i8042_write_port(&k, PORT_I8042_DATA, 0xf2);
  cr_assert_eq(i8042_read_port(&k, PORT_I8042_DATA), 0xfa);
  cr_assert_eq(i8042_read_port(&k, PORT_I8042_DATA), 0xab);
  cr_assert_eq(i8042_read_port(&k, PORT_I8042_DATA), 0x83);
  cr_assert_eq(i8042_read_port(&k, PORT_I8042_CMD) & 1, 0);
  i8042_destroy(&k);
}

Test(i8042, ctrl_alt_del_arrives_as_scancodes_with_irq1)
{
  struct i8042 k;
  irq_edges = 0;
  irq_level = 0;
  i8042_init(&k, (struct irq_line){rec_irq, NULL, IRQ_KEYBOARD}, (struct stop_hook){rec_stop, NULL});
  i8042_ctrl_alt_del(&k);
  static const uint8_t want[] = {0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d};
  for (size_t i = 0; i < sizeof(want); i++)
    cr_assert_eq(i8042_read_port(&k, PORT_I8042_DATA), want[i]);
  cr_assert_geq(irq_edges, 8, "one edge per byte");
  i8042_destroy(&k);
}

Test(i8042, reset_command_and_output_port_stop_the_vm)
{
  struct i8042 k;
  stops = 0;
  i8042_init(&k, (struct irq_line){0}, (struct stop_hook){rec_stop, NULL});
  i8042_write_port(&k, PORT_I8042_CMD, 0xfe);
  cr_assert_eq(stops, 1);
  cr_assert(strstr(stop_why, "reset"));
  i8042_write_port(&k, PORT_I8042_CMD, 0xd1);
  i8042_write_port(&k, PORT_I8042_DATA, 0x00);
  cr_assert_eq(stops, 2);
  i8042_destroy(&k);
}
