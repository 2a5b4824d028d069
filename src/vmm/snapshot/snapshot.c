/* KVM's state ioctls (Documentation/virt/kvm/api.rst 4.x), saved and set in
 * the order Firecracker uses: on restore special registers before general
 * ones, MSRs after the FPU state, the local APIC before MP state and
 * events. */
#include "vmm/snapshot/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "common/cleanup.h"
#include "common/file.h"
#include "common/log.h"
#include "vmm/devices/vmgenid.h"
#include "vmm/kvm.h"
#include "vmm/metrics.h"
#include "vmm/registry.h"
#include "vmm/snapshot/devices.h"
#include "vmm/vm.h"

enum tag {
  T_END = 0,
  T_MACHINE,
  T_REGS,
  T_SREGS,
  T_FPU,
  T_XSAVE,
  T_XCRS,
  T_MSRS,
  T_LAPIC,
  T_MP,
  T_EVENTS,
  T_DEBUGREGS,
  T_IRQCHIP,
  T_PIT,
  T_CLOCK,
  T_SERIAL, /* the serial port's: its device type saves it (devices/serial_type.c) */
  T_DEVICES, /* format 2: the virtio devices' configuration, as JSON */
  T_VIRTIO,  /* format 2: one virtio transport (index: its slot) */
};

struct machine {
  uint32_t ncpus;
  uint32_t pad;
  uint64_t memory;
};

/* ---- writing ---- */

static int put(int fd, uint32_t tag, uint32_t index, const void *data, uint32_t len, err_t *err)
{
  uint32_t h[3] = {tag, index, len};
  if (fd_write_all(fd, h, sizeof h, err) < 0 || (len && fd_write_all(fd, data, len, err) < 0))
    return -1;
  return 0;
}

#define GET(fd, req, obj, what)                                                                              \
  do {                                                                                                       \
    if (ioctl(fd, req, obj) < 0)                                                                             \
      return err_sys(err, "%s: " what " failed", who);                                                      \
  } while (0)

static struct kvm_msrs *msr_list(struct vm *vm, err_t *err)
{
  struct kvm_msr_list probe = {0};
  ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe); /* E2BIG with the count */
  struct kvm_msr_list *list = calloc(1, sizeof *list + probe.nmsrs * sizeof(uint32_t));
  if (!list)
    return NULL;
  list->nmsrs = probe.nmsrs;
  if (ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
    err_sys(err, "KVM_GET_MSR_INDEX_LIST failed");
    free(list);
    return NULL;
  }
  struct kvm_msrs *m = calloc(1, sizeof *m + list->nmsrs * sizeof(struct kvm_msr_entry));
  if (m) {
    m->nmsrs = list->nmsrs;
    for (uint32_t i = 0; i < list->nmsrs; i++)
      m->entries[i].index = list->indices[i];
  }
  free(list);
  return m;
}

static int save_vcpu(struct vm *vm, struct vcpu *v, int fd, err_t *err)
{
  char who[32];
  snprintf(who, sizeof who, "vCPU %d", v->id);
  struct kvm_regs regs;
  struct kvm_sregs sregs;
  struct kvm_fpu fpu;
  struct kvm_lapic_state lapic;
  struct kvm_mp_state mp;
  struct kvm_vcpu_events ev;
  struct kvm_debugregs dr;
  GET(v->fd, KVM_GET_REGS, &regs, "KVM_GET_REGS");
  GET(v->fd, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS");
  GET(v->fd, KVM_GET_FPU, &fpu, "KVM_GET_FPU");
  GET(v->fd, KVM_GET_LAPIC, &lapic, "KVM_GET_LAPIC");
  GET(v->fd, KVM_GET_MP_STATE, &mp, "KVM_GET_MP_STATE");
  GET(v->fd, KVM_GET_VCPU_EVENTS, &ev, "KVM_GET_VCPU_EVENTS");
  GET(v->fd, KVM_GET_DEBUGREGS, &dr, "KVM_GET_DEBUGREGS");
  uint32_t i = (uint32_t)v->id;
  if (put(fd, T_REGS, i, &regs, sizeof regs, err) < 0 || put(fd, T_SREGS, i, &sregs, sizeof sregs, err) < 0 ||
      put(fd, T_FPU, i, &fpu, sizeof fpu, err) < 0)
    return -1;
  if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0) {
    struct kvm_xsave xs;
    GET(v->fd, KVM_GET_XSAVE, &xs, "KVM_GET_XSAVE");
    if (put(fd, T_XSAVE, i, &xs, sizeof xs, err) < 0)
      return -1;
  }
  if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0) {
    struct kvm_xcrs xc;
    GET(v->fd, KVM_GET_XCRS, &xc, "KVM_GET_XCRS");
    if (put(fd, T_XCRS, i, &xc, sizeof xc, err) < 0)
      return -1;
  }
  _cleanup_free_ struct kvm_msrs *msrs = msr_list(vm, err);
  if (!msrs)
    return -1;
  int n = ioctl(v->fd, KVM_GET_MSRS, msrs);
  if (n < 0)
    return err_sys(err, "%s: KVM_GET_MSRS failed", who);
  msrs->nmsrs = (uint32_t)n; /* the ones read, in order */
  if (put(fd, T_MSRS, i, msrs, (uint32_t)(sizeof *msrs + (size_t)n * sizeof(struct kvm_msr_entry)), err) < 0)
    return -1;
  return put(fd, T_LAPIC, i, &lapic, sizeof lapic, err) < 0 || put(fd, T_MP, i, &mp, sizeof mp, err) < 0 ||
                 put(fd, T_EVENTS, i, &ev, sizeof ev, err) < 0 || put(fd, T_DEBUGREGS, i, &dr, sizeof dr, err) < 0
             ? -1
             : 0;
}

static int save_vm(struct vm *vm, int fd, err_t *err)
{
  const char *who = "VM";
  for (uint32_t chip = 0; chip < 3; chip++) {
    struct kvm_irqchip ic = {.chip_id = chip};
    GET(vm->vm_fd, KVM_GET_IRQCHIP, &ic, "KVM_GET_IRQCHIP");
    if (put(fd, T_IRQCHIP, chip, &ic, sizeof ic, err) < 0)
      return -1;
  }
  struct kvm_pit_state2 pit;
  GET(vm->vm_fd, KVM_GET_PIT2, &pit, "KVM_GET_PIT2");
  struct kvm_clock_data clock = {0};
  GET(vm->vm_fd, KVM_GET_CLOCK, &clock, "KVM_GET_CLOCK");
  return put(fd, T_PIT, 0, &pit, sizeof pit, err) < 0 || put(fd, T_CLOCK, 0, &clock, sizeof clock, err) < 0
             ? -1
             : 0;
}

struct state_out {
  int fd;
  uint32_t tag;
};

static int put_state(void *ctx, uint32_t index, const void *data, uint32_t len, err_t *err)
{
  struct state_out *o = ctx;
  return put(o->fd, o->tag, index, data, len, err);
}

/* Each device type's own state records (the serial port's first: where
 * format 1 put it), in table order. */
static int save_device_state(struct vm *vm, int fd, err_t *err)
{
  vmm_foreach_device_type(t) {
    struct state_out o = {fd, t->state_tag};
    if (t->save && t->save(vm, put_state, &o, err) < 0)
      return err_context(err, "%s", t->name);
  }
  return 0;
}

/* The devices' configuration, then each transport (the device loop is
 * parked: nothing moves under us). */
static int save_devices(struct vm *vm, int fd, err_t *err)
{
  json_t *j = json_object();
  if (!j || devices_to_json(vm->cfg, j) < 0) {
    json_decref(j);
    return err_make(err, ENOMEM, "out of memory");
  }
  char *text = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  if (!text)
    return err_make(err, ENOMEM, "out of memory");
  int r = put(fd, T_DEVICES, 0, text, (uint32_t)strlen(text), err);
  free(text);
  for (int i = 0; r == 0 && i < vm->nslots; i++) {
    struct virtio_mmio_state st;
    virtio_mmio_save(&vm->slots[i].mmio, &st);
    r = put(fd, T_VIRTIO, (uint32_t)i, &st, sizeof st, err);
  }
  return r;
}

/* A Diff writes into an existing file without truncating it: pointed at
 * a copy of the last memory file, it brings that copy up to date. */
static int save_memory(struct vm *vm, const char *path, bool diff, err_t *err)
{
  _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | (diff ? 0 : O_TRUNC) | O_CLOEXEC, 0600);
  if (fd < 0)
    return err_sys(err, "cannot create memory file `%s`", path);
  bool tracking = guest_mem_tracking(&vm->mem);
  uint64_t pages;
  /* the guest's writes since the last snapshot join the VMM's own */
  if ((tracking && kvm_collect_dirty(vm->vm_fd, &vm->mem, err) < 0) ||
      guest_mem_save(&vm->mem, fd, diff, &pages, err) < 0)
    return err_context(err, "memory file `%s`", path);
  if (fsync(fd) < 0)
    return err_sys(err, "cannot write memory file `%s`", path);
  log_debug("memory file `%s`: %llu pages written (%s)", path, (unsigned long long)pages, diff ? "Diff" : "Full");
  /* only now: a failed snapshot keeps every dirty bit for the next try */
  if (tracking)
    guest_mem_clear_dirty(&vm->mem);
  return 0;
}

/* The memory file must not be the one the memory is mapped from: a Full
 * snapshot would truncate it under the mapping, a Diff would change the
 * base of every other clone. */
static int check_mem_path(const struct vm *vm, const char *path, err_t *err)
{
  struct stat st;
  if (vm->mem.from_file && stat(path, &st) == 0 && st.st_dev == vm->mem.file_dev && st.st_ino == vm->mem.file_ino)
    return err_make(err, EINVAL,
                    "mem_file_path: `%s` is the file this VM's memory was restored from (mapped copy-on-write); "
                    "write the snapshot to another file",
                    path);
  return 0;
}

int snapshot_create(struct vm *vm, const char *state_path, const char *mem_path, bool diff, err_t *err)
{
  if (!vm_is_paused(vm))
    return err_make(err, EINVAL, "the VM must be paused for a snapshot (PATCH /vm {\"state\": \"Paused\"})");
  if (diff && !guest_mem_tracking(&vm->mem))
    return err_make(err, EINVAL, "snapshot_type: a Diff snapshot needs dirty-page tracking: set track_dirty_pages "
                                 "in PUT /machine-config (or in PUT /snapshot/load)");
  if (diff && !vm->restored && !vm->snapshotted)
    return err_make(err, EINVAL, "snapshot_type: a Diff snapshot holds the pages changed since the last snapshot "
                                 "(or since the one this VM was loaded from): take a Full snapshot first");
  if (check_mem_path(vm, mem_path, err) < 0)
    return -1;
  _cleanup_free_ char *tmp = NULL;
  if (asprintf(&tmp, "%s.tmp", state_path) < 0)
    return err_make(err, ENOMEM, "out of memory");
  _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return err_sys(err, "cannot create snapshot file `%s`", state_path);
  evloop_pause(&vm->loop); /* devices finish what is in flight, then stay still */
  uint32_t version = SNAPSHOT_VERSION;
  struct machine m = {.ncpus = (uint32_t)vm->ncpus, .memory = vm->mem.total};
  int r = fd_write_all(fd, SNAPSHOT_MAGIC, 8, err);
  if (r == 0)
    r = fd_write_all(fd, &version, sizeof version, err);
  if (r == 0)
    r = put(fd, T_MACHINE, 0, &m, sizeof m, err);
  for (int i = 0; r == 0 && i < vm->ncpus; i++)
    r = save_vcpu(vm, &vm->vcpus[i], fd, err);
  if (r == 0)
    r = save_vm(vm, fd, err);
  if (r == 0)
    r = save_device_state(vm, fd, err);
  if (r == 0)
    r = save_devices(vm, fd, err);
  if (r == 0)
    r = put(fd, T_END, 0, NULL, 0, err);
  if (r == 0 && fsync(fd) < 0)
    r = err_sys(err, "cannot write snapshot file `%s`", state_path);
  if (r == 0)
    r = save_memory(vm, mem_path, diff, err);
  evloop_resume(&vm->loop);
  if (r == 0 && rename(tmp, state_path) < 0)
    r = err_sys(err, "cannot rename `%s` to `%s`", tmp, state_path);
  if (r == 0) {
    vm->snapshotted = true;
    METRIC_INC(snapshots_created);
  }
  if (r < 0)
    unlink(tmp);
  return r;
}

/* ---- reading ---- */

struct reader {
  char *buf;
  size_t len, off;
  const char *path;
};

static int open_state(struct reader *rd, const char *path, err_t *err)
{
  rd->path = path;
  rd->off = 0;
  if (file_read_all(path, 64u << 20, &rd->buf, &rd->len, err) < 0)
    return err_context(err, "snapshot");
  uint32_t version;
  if (rd->len < 12 || memcmp(rd->buf, SNAPSHOT_MAGIC, 8)) {
    free(rd->buf);
    return err_make(err, EINVAL, "`%s` is not an isola-vmm snapshot (no %s header)", path, SNAPSHOT_MAGIC);
  }
  memcpy(&version, rd->buf + 8, 4);
  if (version < SNAPSHOT_OLDEST || version > SNAPSHOT_VERSION) {
    free(rd->buf);
    return err_make(err, EINVAL, "snapshot `%s` has format %u; this isola-vmm reads formats %u to %u", path,
                    version, SNAPSHOT_OLDEST, SNAPSHOT_VERSION);
  }
  rd->off = 12;
  return 0;
}

/* The next record; 0 at the end, -1 on a truncated file. */
static int next(struct reader *rd, uint32_t *tag, uint32_t *index, const void **data, uint32_t *len, err_t *err)
{
  uint32_t h[3];
  if (rd->len - rd->off < sizeof h)
    return err_make(err, EINVAL, "snapshot `%s` is truncated at byte %zu", rd->path, rd->off);
  memcpy(h, rd->buf + rd->off, sizeof h);
  rd->off += sizeof h;
  if (h[2] > rd->len - rd->off)
    return err_make(err, EINVAL, "snapshot `%s` is truncated in record %u at byte %zu", rd->path, h[0], rd->off);
  *tag = h[0], *index = h[1], *len = h[2], *data = rd->buf + rd->off;
  rd->off += h[2];
  return h[0] == T_END ? 0 : 1;
}

int snapshot_read_config(const char *state_path, struct vm_config *cfg, json_t **devices, err_t *err)
{
  struct reader rd;
  *devices = NULL;
  if (open_state(&rd, state_path, err) < 0)
    return -1;
  uint32_t tag, idx, len;
  const void *data;
  int r = next(&rd, &tag, &idx, &data, &len, err);
  if (r == 1 && (tag != T_MACHINE || len != sizeof(struct machine)))
    r = err_make(err, EINVAL, "snapshot `%s` does not start with its machine record", state_path);
  if (r == 1) {
    struct machine m;
    memcpy(&m, data, sizeof m);
    cfg->ncpus = (int)m.ncpus;
    cfg->memory = m.memory;
  }
  while (r == 1 && (r = next(&rd, &tag, &idx, &data, &len, err)) == 1) {
    if (tag != T_DEVICES)
      continue;
    json_error_t je;
    *devices = json_loadb(data, len, 0, &je);
    if (!*devices)
      r = err_make(err, EINVAL, "snapshot `%s`: its device record is not JSON (%s)", state_path, je.text);
    break;
  }
  free(rd.buf);
  if (r < 0)
    return -1;
  r = devices_from_json(*devices, cfg, state_path, err); /* format 1 has none: NULL reads as empty */
  if (r < 0) {
    json_decref(*devices);
    *devices = NULL;
  }
  return r;
}

static int set_vcpu(struct vcpu *v, uint32_t tag, const void *data, uint32_t len, err_t *err)
{
  static const struct {
    uint32_t tag;
    unsigned long req;
    size_t size;
    const char *name;
  } simple[] = {
      {T_SREGS, KVM_SET_SREGS, sizeof(struct kvm_sregs), "KVM_SET_SREGS"},
      {T_REGS, KVM_SET_REGS, sizeof(struct kvm_regs), "KVM_SET_REGS"},
      {T_FPU, KVM_SET_FPU, sizeof(struct kvm_fpu), "KVM_SET_FPU"},
      {T_XSAVE, KVM_SET_XSAVE, sizeof(struct kvm_xsave), "KVM_SET_XSAVE"},
      {T_XCRS, KVM_SET_XCRS, sizeof(struct kvm_xcrs), "KVM_SET_XCRS"},
      {T_LAPIC, KVM_SET_LAPIC, sizeof(struct kvm_lapic_state), "KVM_SET_LAPIC"},
      {T_MP, KVM_SET_MP_STATE, sizeof(struct kvm_mp_state), "KVM_SET_MP_STATE"},
      {T_EVENTS, KVM_SET_VCPU_EVENTS, sizeof(struct kvm_vcpu_events), "KVM_SET_VCPU_EVENTS"},
      {T_DEBUGREGS, KVM_SET_DEBUGREGS, sizeof(struct kvm_debugregs), "KVM_SET_DEBUGREGS"},
  };
  if (tag == T_MSRS) {
    /* records are packed: copy before looking (alignment) */
    if (len < sizeof(struct kvm_msrs))
      return err_make(err, EINVAL, "vCPU %d: the MSR record is malformed", v->id);
    _cleanup_free_ struct kvm_msrs *copy = malloc(len);
    if (!copy)
      return err_make(err, ENOMEM, "out of memory");
    memcpy(copy, data, len);
    if ((len - sizeof *copy) / sizeof(struct kvm_msr_entry) != copy->nmsrs ||
        (len - sizeof *copy) % sizeof(struct kvm_msr_entry))
      return err_make(err, EINVAL, "vCPU %d: the MSR record is malformed", v->id);
    int n = ioctl(v->fd, KVM_SET_MSRS, copy);
    if (n < 0)
      return err_sys(err, "vCPU %d: KVM_SET_MSRS failed", v->id);
    if ((uint32_t)n != copy->nmsrs)
      return err_make(err, EINVAL, "vCPU %d: KVM took %d of %u MSRs; MSR 0x%x was refused", v->id, n,
                      copy->nmsrs, copy->entries[n].index);
    return 0;
  }
  for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++) {
    if (simple[i].tag != tag)
      continue;
    if (len != simple[i].size)
      return err_make(err, EINVAL, "vCPU %d: %s record of %u bytes, %zu expected", v->id, simple[i].name, len,
                      simple[i].size);
    _cleanup_free_ void *copy = malloc(len);
    if (!copy)
      return err_make(err, ENOMEM, "out of memory");
    memcpy(copy, data, len);
    if (ioctl(v->fd, simple[i].req, copy) < 0)
      return err_sys(err, "vCPU %d: %s failed", v->id, simple[i].name);
    return 0;
  }
  return err_make(err, EINVAL, "vCPU %d: unknown record %u", v->id, tag);
}

static int set_vm(struct vm *vm, uint32_t tag, uint32_t idx, const void *data, uint32_t len, err_t *err)
{
  if (tag == T_IRQCHIP && len == sizeof(struct kvm_irqchip) && idx < 3) {
    struct kvm_irqchip ic;
    memcpy(&ic, data, sizeof ic);
    if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &ic) < 0)
      return err_sys(err, "KVM_SET_IRQCHIP %u failed", idx);
    return 0;
  }
  if (tag == T_PIT && len == sizeof(struct kvm_pit_state2)) {
    struct kvm_pit_state2 pit;
    memcpy(&pit, data, sizeof pit);
    return ioctl(vm->vm_fd, KVM_SET_PIT2, &pit) < 0 ? err_sys(err, "KVM_SET_PIT2 failed") : 0;
  }
  if (tag == T_CLOCK && len == sizeof(struct kvm_clock_data)) {
    struct kvm_clock_data clock;
    memcpy(&clock, data, sizeof clock);
    clock.flags = 0; /* only the value is set (KVM_CLOCK_TSC_STABLE is read-only) */
    return ioctl(vm->vm_fd, KVM_SET_CLOCK, &clock) < 0 ? err_sys(err, "KVM_SET_CLOCK failed") : 0;
  }
  if (tag == T_VIRTIO && len == sizeof(struct virtio_mmio_state)) {
    if (idx >= (uint32_t)vm->nslots)
      return err_make(err, EINVAL, "the snapshot has virtio slot %u; this VM has %d", idx, vm->nslots);
    struct virtio_mmio_state st;
    memcpy(&st, data, sizeof st);
    return virtio_mmio_load(&vm->slots[idx].mmio, &st, err);
  }
  if (tag == T_DEVICES)
    return 0; /* read by snapshot_read_config() */
  const struct vmm_device_type *t = vmm_device_by_tag(tag);
  if (t)
    return t->load(vm, idx, data, len, err) < 0 ? err_context(err, "%s", t->name) : 0;
  return err_make(err, EINVAL, "snapshot record %u (index %u, %u bytes) is not one this VMM knows", tag, idx, len);
}

int snapshot_restore(struct vm *vm, const char *state_path, err_t *err)
{
  struct reader rd;
  if (open_state(&rd, state_path, err) < 0)
    return -1;
  uint32_t tag, idx, len;
  const void *data;
  int r, slots = 0;
  while ((r = next(&rd, &tag, &idx, &data, &len, err)) == 1) {
    if (tag == T_MACHINE)
      continue;
    slots += tag == T_VIRTIO;
    if (tag >= T_REGS && tag <= T_DEBUGREGS) {
      if (idx >= (uint32_t)vm->ncpus) {
        r = err_make(err, EINVAL, "snapshot `%s` has state for vCPU %u of %d", state_path, idx, vm->ncpus);
        break;
      }
      r = set_vcpu(&vm->vcpus[idx], tag, data, len, err);
    } else {
      r = set_vm(vm, tag, idx, data, len, err);
    }
    if (r < 0)
      break;
  }
  free(rd.buf);
  if (r == 0 && slots != vm->nslots)
    r = err_make(err, EINVAL, "the snapshot has the state of %d virtio devices for %d", slots, vm->nslots);
  if (r < 0)
    return err_context(err, "cannot restore `%s`", state_path);
  vmm_foreach_device_type(t) {
    if (t->restored)
      t->restored(vm);
  }
  if (vmgenid_changed(&vm->mem, vm->vm_fd, err) < 0) /* a clone is not its parent */
    return -1;
  vm->restored = true;
  return 0;
}
