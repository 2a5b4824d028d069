/* The device registry: every type has what its kind needs, owns its
 * section and state tag alone, and each type's config and state come back
 * as they went out (to JSON and back, save and load). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/layout.h"
#include "vmm/registry.h"
#include "vmm/snapshot/devices.h"
#include "vmm/vm.h"

Test(registry, every_type_has_the_callbacks_its_kind_needs)
{
  int n = 0;
  vmm_foreach_device_type(t) {
    n++;
    cr_assert_not_null(t->name);
    cr_assert(t->kind == VMM_DEVICE_VIRTIO || t->kind == VMM_DEVICE_PLATFORM, "%s", t->name);
    if (t->kind == VMM_DEVICE_VIRTIO) {
      cr_assert(t->section && t->count && t->attach && t->release && t->to_json && t->from_json, "%s", t->name);
    } else {
      /* made with the machine by vm.c: the registry does not attach it */
      cr_assert(!t->attach && !t->release && !t->count, "%s", t->name);
    }
    cr_assert(!t->api_section || t->kind == VMM_DEVICE_VIRTIO, "%s: only a virtio type keeps a section", t->name);
    cr_assert(!t->patch || t->api_section, "%s: PATCH /<section> is api/devices.c's, for api_section types",
              t->name);
    cr_assert_eq(!t->save, !t->load, "%s: save and load go together", t->name);
    cr_assert(!t->save || t->state_tag == 15 || t->state_tag >= VMM_STATE_TAG_FIRST,
              "%s: state tag %u is the snapshot core's", t->name, t->state_tag);
  }
  cr_assert_geq(n, 6);
}

Test(registry, sections_and_state_tags_belong_to_one_type_each)
{
  vmm_foreach_device_type(a) {
    if (a->section)
      cr_assert_eq(vmm_device_by_section(a->section), a, "%s", a->section);
    if (a->save)
      cr_assert_eq(vmm_device_by_tag(a->state_tag), a, "%s", a->name);
    vmm_foreach_device_type(b) {
      if (a == b)
        continue;
      cr_assert(!a->section || !b->section || strcmp(a->section, b->section), "%s", a->section);
      cr_assert(!a->save || !b->save || a->state_tag != b->state_tag, "%s and %s", a->name, b->name);
    }
  }
  cr_assert_null(vmm_device_by_section("boot-source"));
  cr_assert_not_null(vmm_device_by_tag(15), "the serial port keeps format 1's tag");
}

Test(registry, virtio_types_come_in_slot_order)
{
  const char *want[] = {"virtio-blk", "virtio-net", "virtio-vsock", "virtio-console", "virtio-rng"};
  size_t i = 0;
  vmm_foreach_device_type(t) {
    if (t->kind != VMM_DEVICE_VIRTIO)
      continue;
    cr_assert_lt(i, sizeof want / sizeof *want);
    cr_assert_str_eq(t->name, want[i++], "disks first: the guest names them vda, vdb... in --disk order");
  }
  cr_assert_eq(i, sizeof want / sizeof *want);
}

/* A config with a device of every type, limiters and ids set. */
static void full_config(struct vm_config *c)
{
  *c = (struct vm_config){0};
  c->disks[0] = (struct virtio_blk_config){.path = "/a.img", .id = "rootfs", .ro = true};
  c->disks[1] = (struct virtio_blk_config){.path = "/b.img", .sync_io = true};
  c->disks[1].rate_limiter.bandwidth = (struct bucket_config){.size = 4096, .refill_ms = 100};
  c->ndisks = 2;
  c->nets[0] = (struct vm_net){.id = "net1", .tap = "isolatap0", .mac = {2, 0, 0, 0, 0, 7}, .has_mac = true};
  c->nets[0].tx_rate_limiter.ops = (struct bucket_config){.size = 10, .refill_ms = 1000};
  c->nets[1] = (struct vm_net){.tap = "isolatap1"};
  c->nnets = 2;
  c->vsock = (struct virtio_vsock_config){.cid = 3, .uds = "/v.sock"};
  c->rng = true;
  c->rng_rate_limiter.bandwidth = (struct bucket_config){.size = 100, .refill_ms = 10};
  c->virtio_console = "/c.sock";
}

Test(registry, each_types_config_survives_json_and_back)
{
  struct vm_config c;
  full_config(&c);
  vmm_foreach_device_type(t) {
    if (!t->to_json)
      continue;
    json_t *out = json_object();
    cr_assert_eq(t->to_json(&c, out), 0, "%s", t->name);
    cr_assert_not_null(json_object_get(out, t->section), "%s writes its section %s", t->name, t->section);
    char *text = json_dumps(out, JSON_COMPACT); /* as a snapshot's device record holds it */
    json_t *in = json_loads(text, 0, NULL);
    struct vm_config back = {0};
    err_t e = NULL;
    cr_assert_eq(t->from_json(in, &back, "test", &e), 0, "%s: %s", t->name, err_msg(e));
    cr_assert_eq(t->count(&back), t->count(&c), "%s", t->name);
    json_t *again = json_object();
    cr_assert_eq(t->to_json(&back, again), 0);
    cr_assert(json_equal(out, again), "%s: %s", t->name, text);
    json_decref(out);
    json_decref(in);
    json_decref(again);
    free(text);
  }
}

Test(registry, all_devices_survive_json_and_back)
{
  struct vm_config c, back = {0};
  full_config(&c);
  json_t *out = json_object();
  cr_assert_eq(devices_to_json(&c, out), 0);
  err_t e = NULL;
  cr_assert_eq(devices_from_json(out, &back, "test", &e), 0, "%s", err_msg(e));
  cr_assert_eq(vmm_devices_count(&back), 7);
  cr_assert(devices_any(&back));
  cr_assert_str_eq(back.disks[0].path, "/a.img");
  cr_assert(back.disks[0].ro && back.disks[1].sync_io);
  cr_assert_eq(back.nets[0].mac[5], 7);
  cr_assert_eq(devices_find_net(&back, "eth1"), 1, "an interface from the command line is ethN");
  cr_assert_eq(back.vsock.cid, 3);
  cr_assert_eq(back.rng_rate_limiter.bandwidth.size, 100);
  cr_assert_str_eq(back.virtio_console, "/c.sock");
  json_decref(out);
  struct vm_config none = {0};
  cr_assert_eq(devices_from_json(NULL, &none, "test", &e), 0, "format 1 snapshots have no device record");
  cr_assert_not(devices_any(&none));
}

Test(registry, more_devices_than_slots_are_refused)
{
  struct vm_config c = {0};
  for (int i = 0; i < VM_MAX_VIRTIO; i++)
    c.disks[c.ndisks++] = (struct virtio_blk_config){.path = "/d.img"};
  c.rng = true;
  json_t *out = json_object();
  cr_assert_eq(devices_to_json(&c, out), 0);
  struct vm_config back = {0};
  err_t e = NULL;
  cr_assert_eq(devices_from_json(out, &back, "snap", &e), -1);
  cr_assert(strstr(err_msg(e), "more than 9 virtio devices"), "%s", err_msg(e));
  err_free(&e);
  json_decref(out);
}

struct record {
  uint32_t index, len;
  unsigned char data[4096];
  int n;
};

static int keep(void *ctx, uint32_t index, const void *data, uint32_t len, err_t *err)
{
  struct record *r = ctx;
  cr_assert_leq(len, sizeof r->data);
  r->index = index, r->len = len, r->n++;
  memcpy(r->data, data, len);
  return 0;
}

static void no_irq(void *ctx, int irq, bool level)
{
  (void)ctx, (void)irq, (void)level;
}

enum { DATA, IER, IIR, LCR, MCR, LSR, MSR, SCR };

Test(registry, the_serial_ports_state_survives_save_and_load)
{
  const struct vmm_device_type *t = vmm_device_by_tag(15);
  cr_assert_not_null(t);
  struct vm *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
  serial_init(&a->serial, -1, (struct irq_line){no_irq, NULL, IRQ_COM1});
  serial_init(&b->serial, -1, (struct irq_line){no_irq, NULL, IRQ_COM1});
  serial_write_reg(&a->serial, LCR, 0x83); /* DLAB: the divisor latch */
  serial_write_reg(&a->serial, DATA, 0x0c);
  serial_write_reg(&a->serial, LCR, 0x03);
  serial_write_reg(&a->serial, IER, 0x01);
  serial_write_reg(&a->serial, SCR, 0x5a);
  serial_rx_push(&a->serial, (const uint8_t *)"hi", 2);
  struct record rec = {0};
  err_t e = NULL;
  cr_assert_eq(t->save(a, keep, &rec, &e), 0, "%s", err_msg(e));
  cr_assert_eq(rec.n, 1);
  cr_assert_eq(t->load(b, rec.index, rec.data, rec.len, &e), 0, "%s", err_msg(e));
  cr_assert_eq(serial_read_reg(&b->serial, SCR), 0x5a);
  cr_assert_eq(serial_read_reg(&b->serial, LCR), 0x03);
  cr_assert_eq(serial_read_reg(&b->serial, IER), 0x01);
  cr_assert_eq(serial_read_reg(&b->serial, IIR) & 0xf, 0x4, "received data pending, as before the save");
  cr_assert_eq(serial_read_reg(&b->serial, DATA), 'h');
  cr_assert_eq(serial_read_reg(&b->serial, DATA), 'i');
  cr_assert_eq(serial_read_reg(&b->serial, LSR) & 1, 0, "the FIFO came back whole, no more");
  cr_assert_eq(t->load(b, 0, rec.data, rec.len - 1, &e), -1, "a short record is refused");
  cr_assert(strstr(err_msg(e), "serial"), "%s", err_msg(e));
  err_free(&e);
  serial_destroy(&a->serial);
  serial_destroy(&b->serial);
  free(a);
  free(b);
}

Test(registry, a_damaged_serial_record_cannot_overrun_the_fifo)
{
  struct serial s;
  serial_init(&s, -1, (struct irq_line){no_irq, NULL, IRQ_COM1});
  struct serial_state st = {.rx_head = 1000, .rx_len = 1000};
  serial_load(&s, &st);
  cr_assert_lt(s.rx_head, SERIAL_FIFO);
  cr_assert_leq(s.rx_len, SERIAL_FIFO);
  serial_destroy(&s);
}

Test(registry, each_type_has_its_own_state_slot_in_the_vm)
{
  struct vm *vm = calloc(1, sizeof *vm);
  void **seen[VMM_MAX_DEVICE_TYPES] = {0};
  int n = 0;
  vmm_foreach_device_type(t) {
    void **s = vmm_device_state(vm, t);
    cr_assert_not_null(s, "%s", t->name);
    cr_assert_null(*s, "%s: nothing until attach()", t->name);
    for (int i = 0; i < n; i++)
      cr_assert_neq(seen[i], s, "%s shares a slot", t->name);
    cr_assert_lt(n, VMM_MAX_DEVICE_TYPES);
    seen[n++] = s;
  }
  static const struct vmm_device_type stranger = {.name = "unregistered"};
  cr_assert_null(vmm_device_state(vm, &stranger));
  free(vm);
}

/* A device type that keeps its config as its JSON section, as a new
 * device (a balloon) would: nothing in vm_config names it. */
static const struct vmm_device_type fake_balloon = {
    .name = "virtio-balloon", .kind = VMM_DEVICE_VIRTIO, .section = "balloon", .api_section = true};

Test(registry, a_json_kept_config_is_found_in_the_configs_sections)
{
  struct vm_config c = {0};
  cr_assert_null(vmm_device_section(&c, &fake_balloon), "none configured");
  json_t *j = json_pack("{s{si} s[]}", "balloon", "amount_mib", 64, "drives");
  err_t e = NULL;
  cr_assert_eq(devices_from_json(j, &c, "snap", &e), 0, "%s", err_msg(e));
  json_t *s = vmm_device_section(&c, &fake_balloon);
  cr_assert_not_null(s, "a snapshot's device record carries it");
  cr_assert_eq(json_integer_value(json_object_get(s, "amount_mib")), 64);
  cr_assert_null(vmm_device_section(&c, vmm_device_by_section("drives")),
                 "a type with its own fields in vm_config has no section there");
  json_decref(j);
}
