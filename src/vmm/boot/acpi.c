/* ACPI tables (ACPI 6.4 chapter 5): RSDP -> XSDT -> FADT (hardware-reduced,
 * §5.2.9 flag HW_REDUCED_ACPI, with sleep control/status and reset
 * registers) -> DSDT, and the MADT listing CPUs and the IOAPIC. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/boot/aml.h"
#include "vmm/boot/boot.h"
#include "vmm/layout.h"

struct acpi_header {
  char signature[4];
  uint32_t length;
  uint8_t revision, checksum;
  char oem_id[6], oem_table_id[8];
  uint32_t oem_revision;
  char creator_id[4];
  uint32_t creator_revision;
} __attribute__((packed));

struct rsdp {
  char signature[8];
  uint8_t checksum;
  char oem_id[6];
  uint8_t revision;
  uint32_t rsdt;
  uint32_t length;
  uint64_t xsdt;
  uint8_t ext_checksum, reserved[3];
} __attribute__((packed));

struct gas {
  uint8_t space, bit_width, bit_offset, access_size;
  uint64_t address;
} __attribute__((packed));

struct fadt {
  struct acpi_header h;
  uint32_t firmware_ctrl, dsdt;
  uint8_t reserved0, pm_profile;
  uint16_t sci_int;
  uint8_t legacy[109 - 48]; /* SMI_CMD .. CENTURY: unused when hardware-reduced */
  uint16_t iapc_boot_arch;
  uint8_t reserved1;
  uint32_t flags;
  struct gas reset_reg;
  uint8_t reset_value;
  uint16_t arm_boot_arch;
  uint8_t minor_version;
  uint64_t x_firmware_ctrl, x_dsdt;
  struct gas x_pm_blocks[8]; /* X_PM1a_EVT_BLK .. X_GPE1_BLK */
  struct gas sleep_control, sleep_status;
  uint64_t hypervisor_vendor;
} __attribute__((packed));

_Static_assert(sizeof(struct fadt) == 276, "FADT revision 6.4 is 276 bytes");
_Static_assert(offsetof(struct fadt, flags) == 112, "FADT flags");
_Static_assert(offsetof(struct fadt, sleep_control) == 244, "FADT sleep control");

#define FADT_RESET_REG_SUP (1u << 10)
#define FADT_HW_REDUCED_ACPI (1u << 20)
#define BOOT_ARCH_8042 (1u << 1)
#define BOOT_ARCH_NO_VGA (1u << 2)
#define BOOT_ARCH_NO_CMOS_RTC (1u << 5)
#define GAS_IO 1
#define GAS_BYTE 1

static void header(struct acpi_header *h, const char *sig, uint32_t len, uint8_t rev)
{
  memcpy(h->signature, sig, 4);
  h->length = len;
  h->revision = rev;
  memcpy(h->oem_id, "ISOLA ", 6);
  memcpy(h->oem_table_id, "ISOLAVMM", 8);
  h->oem_revision = 1;
  memcpy(h->creator_id, "ISLA", 4);
  h->creator_revision = 1;
}

struct writer {
  const struct guest_mem *gm;
  uint64_t next;
};

/* Fix the checksum at `sum_at` and store the table; returns its address. */
static int emit(struct writer *w, void *table, uint32_t len, size_t sum_at, uint64_t *addr,
                err_t *err)
{
  uint8_t *b = table;
  b[sum_at] = 0;
  b[sum_at] = (uint8_t)-boot_checksum(b, len);
  if (w->next + len > LAYOUT_VMGENID)
    return err_make(err, E2BIG, "the ACPI tables do not fit below 0x%llx",
                    (unsigned long long)LAYOUT_VMGENID);
  *addr = w->next;
  w->next = (w->next + len + 15) & ~15ULL;
  return guest_mem_write(w->gm, *addr, b, len, err);
}

/* Linux's virtio_mmio driver matches LNRO0005; the order of the devices
 * is the order the guest names them (vda first). */
static void virtio_devices(struct aml *sb, const struct acpi_mmio_dev *devs, int ndevs)
{
  for (int i = 0; i < ndevs; i++) {
    uint8_t crs[] = {0x86, 0x09, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, /* Memory32Fixed, RW */
                     0x89, 0x06, 0x00, 0x03, 0x01, 0, 0, 0, 0, /* Interrupt: consumer, edge, high */
                     0x79, 0x00};
    uint32_t base = (uint32_t)devs[i].base, irq = (uint32_t)devs[i].irq;
    memcpy(crs + 4, &base, 4);
    memcpy(crs + 8, &devs[i].len, 4);
    memcpy(crs + 17, &irq, 4);
    struct aml dev = {0};
    char name[5];
    snprintf(name, sizeof(name), "VR%02u", (unsigned)i % 100);
    aml_name_string(&dev, "_HID", "LNRO0005");
    aml_name_int(&dev, "_UID", (uint64_t)i);
    aml_name_buffer(&dev, "_CRS", crs, sizeof(crs));
    aml_device(sb, name, &dev);
  }
}

/* The VM generation ID (Microsoft's "Virtual Machine Generation ID" spec,
 * Linux's drivers/virt/vmgenid.c): 16 bytes at LAYOUT_VMGENID that change
 * when a snapshot is restored, and a Generic Event Device (ACPI 6.4
 * §5.6.9) whose interrupt makes the kernel look (Notify 0x80), so that
 * clones reseed their random number generators. */
static void vmgenid_devices(struct aml *sb)
{
  uint8_t crs[] = {0x89, 0x06, 0x00, 0x03, 0x01, 0, 0, 0, 0, /* Interrupt: consumer, edge, high */
                   0x79, 0x00};
  uint32_t gsi = IRQ_VMGENID;
  memcpy(crs + 5, &gsi, 4);
  const uint64_t addr[] = {LAYOUT_VMGENID & 0xffffffff, LAYOUT_VMGENID >> 32};
  struct aml gen = {0}, ged = {0};
  aml_name_string(&gen, "_HID", "VMGENCTR");
  aml_name_string(&gen, "_CID", "VM_Gen_Counter");
  aml_name_string(&gen, "_DDN", "VM_Gen_Counter");
  aml_name_package(&gen, "ADDR", addr, 2);
  aml_device(sb, "VGEN", &gen);
  aml_name_string(&ged, "_HID", "ACPI0013");
  aml_name_int(&ged, "_UID", 0);
  aml_name_buffer(&ged, "_CRS", crs, sizeof(crs));
  aml_evt_notify(&ged, IRQ_VMGENID, "VGEN", 0x80);
  aml_device(sb, "GED_", &ged);
}

static int write_dsdt(struct writer *w, const struct acpi_mmio_dev *devs, int ndevs,
                      uint64_t *addr, err_t *err)
{
  /* COM1 and the PS/2 keyboard controller, with their ports and IRQs, and
   * \_S5 so that the kernel powers off through the sleep control register
   * (SLP_TYP 5). Resource descriptors: ACPI 6.4 §6.4.2. */
  static const uint8_t com1_crs[] = {0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08, /* IO */
                                     0x22, 0x10, 0x00,                               /* IRQ 4 */
                                     0x79, 0x00};
  static const uint8_t kbd_crs[] = {0x47, 0x01, 0x60, 0x00, 0x60, 0x00, 0x01, 0x01,
                                    0x47, 0x01, 0x64, 0x00, 0x64, 0x00, 0x01, 0x01,
                                    0x22, 0x02, 0x00, /* IRQ 1 */
                                    0x79, 0x00};
  static const uint64_t s5[] = {5, 0, 0, 0};
  struct aml com1 = {0}, kbd = {0}, sb = {0}, body = {0};
  aml_name_eisaid(&com1, "_HID", "PNP0501");
  aml_name_int(&com1, "_UID", 0);
  aml_name_buffer(&com1, "_CRS", com1_crs, sizeof(com1_crs));
  aml_name_eisaid(&kbd, "_HID", "PNP0303");
  aml_name_int(&kbd, "_UID", 0);
  aml_name_buffer(&kbd, "_CRS", kbd_crs, sizeof(kbd_crs));
  aml_device(&sb, "COM1", &com1);
  aml_device(&sb, "PS2K", &kbd);
  virtio_devices(&sb, devs, ndevs);
  vmgenid_devices(&sb);
  aml_scope(&body, "\\_SB_", &sb);
  aml_name_package(&body, "_S5_", s5, sizeof(s5) / sizeof(s5[0]));
  if (body.overflow)
    return err_make(err, E2BIG, "the DSDT does not fit its buffer");
  struct {
    struct acpi_header h;
    uint8_t aml[sizeof(body.buf)];
  } __attribute__((packed)) t;
  uint32_t len = (uint32_t)(sizeof(t.h) + body.len);
  memset(&t, 0, sizeof(t));
  header(&t.h, "DSDT", len, 2);
  memcpy(t.aml, body.buf, body.len);
  return emit(w, &t, len, offsetof(struct acpi_header, checksum), addr, err);
}

static int write_fadt(struct writer *w, uint64_t dsdt, uint64_t *addr, err_t *err)
{
  struct fadt f;
  memset(&f, 0, sizeof(f));
  header(&f.h, "FACP", sizeof(f), 6);
  f.minor_version = 4;
  f.flags = FADT_HW_REDUCED_ACPI | FADT_RESET_REG_SUP;
  f.iapc_boot_arch = BOOT_ARCH_8042 | BOOT_ARCH_NO_VGA | BOOT_ARCH_NO_CMOS_RTC;
  f.x_dsdt = dsdt;
  f.reset_reg = (struct gas){GAS_IO, 8, 0, GAS_BYTE, PORT_RESET};
  f.reset_value = 0x06;
  f.sleep_control = (struct gas){GAS_IO, 8, 0, GAS_BYTE, PORT_ACPI_SLEEP};
  f.sleep_status = (struct gas){GAS_IO, 8, 0, GAS_BYTE, PORT_ACPI_SLEEP + 1};
  memcpy(&f.hypervisor_vendor, "ISOLAVMM", 8);
  return emit(w, &f, sizeof(f), offsetof(struct acpi_header, checksum), addr, err);
}

static int write_madt(struct writer *w, int ncpus, uint64_t *addr, err_t *err)
{
  uint8_t t[sizeof(struct acpi_header) + 8 + VMM_MAX_CPUS * 8 + 12 + 6];
  uint32_t off = sizeof(struct acpi_header);
  uint32_t lapic = (uint32_t)LAYOUT_LAPIC, flags = 1; /* PCAT_COMPAT: there is an 8259 too */
  memcpy(t + off, &lapic, 4);
  memcpy(t + off + 4, &flags, 4);
  off += 8;
  for (int i = 0; i < ncpus; i++) {
    uint8_t e[8] = {0 /* Processor Local APIC */, 8, (uint8_t)i, (uint8_t)i, 1 /* enabled */};
    memcpy(t + off, e, 8);
    off += 8;
  }
  uint8_t io[12] = {1 /* I/O APIC */, 12, (uint8_t)ncpus, 0};
  uint32_t io_addr = (uint32_t)LAYOUT_IOAPIC, gsi_base = 0;
  memcpy(io + 4, &io_addr, 4);
  memcpy(io + 8, &gsi_base, 4);
  memcpy(t + off, io, 12);
  off += 12;
  uint8_t nmi[6] = {4 /* Local APIC NMI */, 6, 0xff /* all */, 0, 0, 1 /* LINT1 */};
  memcpy(t + off, nmi, 6);
  off += 6;
  header((struct acpi_header *)t, "APIC", off, 5);
  return emit(w, t, off, offsetof(struct acpi_header, checksum), addr, err);
}

int acpi_write(const struct guest_mem *gm, int ncpus, const struct acpi_mmio_dev *devs, int ndevs,
               uint64_t *rsdp_addr, err_t *err)
{
  struct writer w = {gm, LAYOUT_ACPI + 64};
  uint64_t dsdt, fadt, madt, xsdt;
  if (write_dsdt(&w, devs, ndevs, &dsdt, err) < 0 || write_fadt(&w, dsdt, &fadt, err) < 0 ||
      write_madt(&w, ncpus, &madt, err) < 0)
    return -1;
  struct {
    struct acpi_header h;
    uint64_t entries[2];
  } __attribute__((packed)) x;
  memset(&x, 0, sizeof(x));
  header(&x.h, "XSDT", sizeof(x), 1);
  x.entries[0] = fadt;
  x.entries[1] = madt;
  if (emit(&w, &x, sizeof(x), offsetof(struct acpi_header, checksum), &xsdt, err) < 0)
    return -1;
  struct rsdp r;
  memset(&r, 0, sizeof(r));
  memcpy(r.signature, "RSD PTR ", 8);
  memcpy(r.oem_id, "ISOLA ", 6);
  r.revision = 2;
  r.length = sizeof(r);
  r.xsdt = xsdt;
  r.checksum = (uint8_t)-boot_checksum(&r, 20);
  r.ext_checksum = (uint8_t)-boot_checksum(&r, sizeof(r));
  *rsdp_addr = LAYOUT_ACPI;
  return guest_mem_write(gm, LAYOUT_ACPI, &r, sizeof(r), err);
}
