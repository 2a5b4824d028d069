/* Intel MultiProcessor Specification 1.4, chapter 4: the floating pointer
 * structure in the BIOS ROM area and the configuration table after it.
 * Older kernels (and `acpi=off`) find CPUs and interrupt routing here. */
#include <errno.h>
#include <string.h>

#include "vmm/boot/boot.h"
#include "vmm/layout.h"

struct mpf {
  char signature[4];
  uint32_t physptr;
  uint8_t length, specrev, checksum, feature[5];
} __attribute__((packed));

struct mpc_header {
  char signature[4];
  uint16_t length;
  uint8_t spec, checksum;
  char oem[8], product[12];
  uint32_t oemptr;
  uint16_t oemsize, count;
  uint32_t lapic;
  uint16_t reserved_len;
  uint8_t reserved_sum, reserved;
} __attribute__((packed));

struct mpc_cpu {
  uint8_t type, apicid, apicver, cpuflag;
  uint32_t cpufeature, featureflag, reserved[2];
} __attribute__((packed));

struct mpc_bus {
  uint8_t type, busid;
  char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
  uint8_t type, apicid, apicver, flags;
  uint32_t apicaddr;
} __attribute__((packed));

struct mpc_intsrc {
  uint8_t type, irqtype;
  uint16_t irqflag;
  uint8_t srcbus, srcbusirq, dstapic, dstirq;
} __attribute__((packed));

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };
enum { MP_INT, MP_NMI, MP_SMI, MP_EXTINT };
#define APIC_VERSION 0x14
#define IOAPIC_VERSION 0x11
#define CPU_ENABLED 1
#define CPU_BOOTPROCESSOR 2

int mptable_write(const struct guest_mem *gm, int ncpus, err_t *err)
{
  uint8_t buf[0x10000 - sizeof(struct mpf)];
  uint64_t table = LAYOUT_MPTABLE + sizeof(struct mpf);
  struct mpc_header h = {
      .signature = "PCMP", .spec = 4, .oem = "ISOLA   ", .product = "isola-vmm   ",
      .lapic = (uint32_t)LAYOUT_LAPIC};
  uint64_t off = sizeof(h);
  uint16_t count = 0;
  uint8_t ioapic_id = (uint8_t)ncpus;
#define PUT(entry)                                                                                \
  do {                                                                                            \
    if (off + sizeof(entry) > sizeof(buf))                                                        \
      return err_make(err, E2BIG, "the MP table for %d vCPUs does not fit", ncpus);              \
    memcpy(buf + off, &(entry), sizeof(entry));                                                   \
    off += sizeof(entry);                                                                         \
    count++;                                                                                      \
  } while (0)

  for (int i = 0; i < ncpus; i++) {
    struct mpc_cpu c = {.type = MP_PROCESSOR, .apicid = (uint8_t)i, .apicver = APIC_VERSION,
                        .cpuflag = CPU_ENABLED | (i == 0 ? CPU_BOOTPROCESSOR : 0),
                        .cpufeature = 0x600, .featureflag = 0x201 /* FPU, APIC */};
    PUT(c);
  }
  struct mpc_bus bus = {.type = MP_BUS, .busid = 0, .bustype = "ISA   "};
  PUT(bus);
  struct mpc_ioapic io = {.type = MP_IOAPIC, .apicid = ioapic_id, .apicver = IOAPIC_VERSION,
                          .flags = 1, .apicaddr = (uint32_t)LAYOUT_IOAPIC};
  PUT(io);
  /* ISA IRQ n is IOAPIC pin n: KVM's default GSI routing, also what the
   * MADT says (no interrupt source overrides). */
  for (uint8_t irq = 0; irq < 16; irq++) {
    struct mpc_intsrc s = {.type = MP_INTSRC, .irqtype = MP_INT, .srcbus = 0, .srcbusirq = irq,
                           .dstapic = ioapic_id, .dstirq = irq};
    PUT(s);
  }
  struct mpc_intsrc lint0 = {.type = MP_LINTSRC, .irqtype = MP_EXTINT, .srcbus = 0,
                             .dstapic = 0xff, .dstirq = 0};
  struct mpc_intsrc lint1 = {.type = MP_LINTSRC, .irqtype = MP_NMI, .srcbus = 0,
                             .dstapic = 0xff, .dstirq = 1};
  PUT(lint0);
  PUT(lint1);
#undef PUT
  h.length = (uint16_t)off;
  h.count = count;
  memcpy(buf, &h, sizeof(h));
  buf[offsetof(struct mpc_header, checksum)] = (uint8_t)-boot_checksum(buf, off);

  struct mpf f = {.signature = "_MP_", .physptr = (uint32_t)table, .length = 1, .specrev = 4};
  f.checksum = (uint8_t)-boot_checksum(&f, sizeof(f));
  if (guest_mem_write(gm, LAYOUT_MPTABLE, &f, sizeof(f), err) < 0)
    return -1;
  return guest_mem_write(gm, table, buf, off, err);
}
