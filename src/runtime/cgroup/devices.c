#include "runtime/cgroup/devices.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"

/* mknod of anything, and the standard character devices. */
static const struct spec_device_rule default_allow[] = {
    {true, 'c', -1, -1, "m"}, {true, 'b', -1, -1, "m"},  {true, 'c', 1, 3, "rwm"},
    {true, 'c', 1, 5, "rwm"}, {true, 'c', 1, 7, "rwm"},  {true, 'c', 1, 8, "rwm"},
    {true, 'c', 1, 9, "rwm"}, {true, 'c', 5, 0, "rwm"},  {true, 'c', 5, 1, "rwm"},
    {true, 'c', 5, 2, "rwm"}, {true, 'c', 136, -1, "rwm"},
};
#define N_DEFAULT (sizeof(default_allow) / sizeof(default_allow[0]))

int devices_effective(const struct spec_resources *r, struct spec_device_rule **out, size_t *n,
                      err_t *err)
{
  size_t total = r->n_devices + N_DEFAULT;
  struct spec_device_rule *v = calloc(total, sizeof(*v));
  if (!v)
    return err_sys(err, "devices");
  if (r->n_devices)
    memcpy(v, r->devices, r->n_devices * sizeof(*v));
  memcpy(v + r->n_devices, default_allow, sizeof(default_allow));
  *out = v;
  *n = total;
  return 0;
}

/* --- the program -------------------------------------------------------- */

#define INSN(c, d, s, o, i) ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})

static unsigned access_bits(const char *a)
{
  unsigned bits = 0;
  for (; *a; a++)
    bits |= *a == 'r' ? BPF_DEVCG_ACC_READ : *a == 'w' ? BPF_DEVCG_ACC_WRITE
            : *a == 'm' ? BPF_DEVCG_ACC_MKNOD : 0;
  return bits;
}

/* One rule: jump past itself (to the next rule) unless it matches, else
 * return its verdict.  Registers: r2 type, r3 access, r4 major, r5 minor. */
static size_t emit_rule(struct bpf_insn *p, const struct spec_device_rule *r)
{
  struct bpf_insn body[12];
  size_t n = 0;
  unsigned acc = access_bits(r->access);
  unsigned all = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;
  /* Offsets are patched below, once the rule's length is known: -1 marks
   * "to the next rule". */
  if (r->type == 'c' || r->type == 'b')
    body[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, -1,
                     r->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK);
  if (r->type != 'a' && acc != all) {
    body[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0);
    if (r->allow) { /* allows only if every access asked for is allowed */
      body[n++] = INSN(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_1, 0, 0, (int)(~acc & all));
      body[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_1, 0, -1, 0);
    } else { /* denies if any access asked for is denied */
      body[n++] = INSN(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_1, 0, 0, (int)acc);
      body[n++] = INSN(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_1, 0, -1, 0);
    }
  }
  if (r->type != 'a' && r->major >= 0)
    body[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, -1, (int)r->major);
  if (r->type != 'a' && r->minor >= 0)
    body[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, -1, (int)r->minor);
  body[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, r->allow ? 1 : 0);
  body[n++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  for (size_t i = 0; i < n; i++) {
    if (body[i].off == -1 && BPF_CLASS(body[i].code) == BPF_JMP)
      body[i].off = (short)(n - i - 1);
    p[i] = body[i];
  }
  return n;
}

int devices_bpf_program(const struct spec_device_rule *rules, size_t n, struct bpf_insn **out,
                        size_t *len, err_t *err)
{
  struct bpf_insn *p = calloc(6 + n * 12 + 2, sizeof(*p));
  if (!p)
    return err_sys(err, "device program");
  size_t k = 0;
  /* r2 = type, r3 = access, r4 = major, r5 = minor (struct bpf_cgroup_dev_ctx) */
  p[k++] = INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0);
  p[k++] = INSN(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff);
  p[k++] = INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_1, 0, 0);
  p[k++] = INSN(BPF_ALU64 | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16);
  p[k++] = INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, 4, 0);
  p[k++] = INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, 8, 0);
  /* Last match wins: test the rules from the last to the first.  A rule
   * that matches everything ends the program (the verifier refuses code
   * that cannot be reached). */
  bool open_end = true;
  for (size_t i = n; i-- > 0 && open_end;) {
    size_t len_rule = emit_rule(p + k, &rules[i]);
    k += len_rule;
    open_end = len_rule > 2;
  }
  if (open_end) { /* nothing matched: deny */
    p[k++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
    p[k++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  }
  *out = p;
  *len = k;
  return 0;
}

/* --- loading and attaching ---------------------------------------------- */

static int sys_bpf(int cmd, union bpf_attr *a)
{
  return (int)syscall(SYS_bpf, cmd, a, sizeof(*a));
}

static int load(const struct bpf_insn *p, size_t len, err_t *err)
{
  static char vlog[4096];
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  a.insns = (uint64_t)(uintptr_t)p;
  a.insn_cnt = (uint32_t)len;
  a.license = (uint64_t)(uintptr_t) "Apache-2.0";
  int fd = sys_bpf(BPF_PROG_LOAD, &a);
  if (fd >= 0)
    return fd;
  /* Again with the verifier's log, to say why (its tail has the reason). */
  int saved = errno;
  a.log_buf = (uint64_t)(uintptr_t)vlog;
  a.log_size = sizeof(vlog);
  a.log_level = 1;
  vlog[0] = '\0';
  if ((fd = sys_bpf(BPF_PROG_LOAD, &a)) >= 0)
    return fd;
  size_t l = strlen(vlog);
  errno = saved;
  return err_sys(err, "cannot load the device program (bpf verifier: %s)",
                 l > 300 ? vlog + l - 300 : vlog);
}

/* Ids of the device programs attached to `cg` now (at most `max`). */
static size_t attached(int cg, uint32_t *ids, size_t max)
{
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.query.target_fd = (uint32_t)cg;
  a.query.attach_type = BPF_CGROUP_DEVICE;
  a.query.prog_ids = (uint64_t)(uintptr_t)ids;
  a.query.prog_cnt = (uint32_t)max;
  if (sys_bpf(BPF_PROG_QUERY, &a) < 0)
    return 0;
  return a.query.prog_cnt < max ? a.query.prog_cnt : max;
}

static void detach_id(int cg, uint32_t id)
{
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.prog_id = id;
  int fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &a);
  if (fd < 0)
    return;
  memset(&a, 0, sizeof(a));
  a.target_fd = (uint32_t)cg;
  a.attach_bpf_fd = (uint32_t)fd;
  a.attach_type = BPF_CGROUP_DEVICE;
  sys_bpf(BPF_PROG_DETACH, &a);
  close(fd);
}

int devices_bpf_apply(const char *dir, const struct spec_device_rule *rules, size_t n, err_t *err)
{
  _cleanup_free_ struct bpf_insn *prog = NULL;
  size_t len;
  if (devices_bpf_program(rules, n, &prog, &len, err) < 0)
    return -1;
  _cleanup_close_ int pfd = load(prog, len, err);
  if (pfd < 0)
    return -1;
  _cleanup_close_ int cg = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (cg < 0)
    return err_sys(err, "cannot open cgroup `%s`", dir);
  uint32_t old[64];
  size_t n_old = attached(cg, old, 64);
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.target_fd = (uint32_t)cg;
  a.attach_bpf_fd = (uint32_t)pfd;
  a.attach_type = BPF_CGROUP_DEVICE;
  a.attach_flags = BPF_F_ALLOW_MULTI;
  if (sys_bpf(BPF_PROG_ATTACH, &a) < 0)
    return err_sys(err, "cannot attach the device program to `%s`", dir);
  /* The new program is in force: the ones it replaces can go. */
  for (size_t i = 0; i < n_old; i++)
    detach_id(cg, old[i]);
  return 0;
}
