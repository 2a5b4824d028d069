/* The cgroup v2 device program, run by a small interpreter of the BPF
 * instructions it uses, so the rules' meaning is tested without a kernel;
 * the e2e suite has the kernel's verifier load it and enforce it. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "common/cleanup.h"
#include "runtime/cgroup/devices.h"

static int run(const struct bpf_insn *p, size_t len, const struct bpf_cgroup_dev_ctx *ctx)
{
  uint64_t r[11] = {0};
  r[1] = (uint64_t)(uintptr_t)ctx;
  for (size_t pc = 0; pc < len; pc++) {
    const struct bpf_insn *i = &p[pc];
    uint64_t src = BPF_SRC(i->code) == BPF_X ? r[i->src_reg] : (uint64_t)(int64_t)i->imm;
    switch (BPF_CLASS(i->code)) {
    case BPF_LDX:
      cr_assert_eq(BPF_SIZE(i->code), BPF_W);
      r[i->dst_reg] = *(const uint32_t *)((const char *)(uintptr_t)r[i->src_reg] + i->off);
      break;
    case BPF_ALU64:
      switch (BPF_OP(i->code)) {
      case BPF_MOV: r[i->dst_reg] = src; break;
      case BPF_AND: r[i->dst_reg] &= src; break;
      case BPF_RSH: r[i->dst_reg] >>= src; break;
      default: cr_assert_fail("unexpected ALU op %#x at %zu", i->code, pc);
      }
      break;
    case BPF_JMP:
      if (BPF_OP(i->code) == BPF_EXIT)
        return (int)r[0];
      cr_assert(BPF_OP(i->code) == BPF_JNE || BPF_OP(i->code) == BPF_JEQ);
      if ((r[i->dst_reg] == src) == (BPF_OP(i->code) == BPF_JEQ))
        pc += (size_t)i->off;
      cr_assert_lt(pc, len, "jump out of the program");
      break;
    default: cr_assert_fail("unexpected instruction class %#x at %zu", i->code, pc);
    }
  }
  cr_assert_fail("fell off the end of the program");
  return -1;
}

/* Does the program for `cfg` (plus the defaults) allow this access? */
static int allows(const struct spec_device_rule *cfg, size_t n, char type, unsigned major,
                  unsigned minor, const char *access)
{
  struct spec_resources res;
  spec_resources_init(&res);
  res.devices = (struct spec_device_rule *)cfg;
  res.n_devices = n;
  _cleanup_free_ struct spec_device_rule *rules = NULL;
  size_t nr;
  cr_assert_eq(devices_effective(&res, &rules, &nr, NULL), 0);
  _cleanup_free_ struct bpf_insn *prog = NULL;
  size_t len;
  cr_assert_eq(devices_bpf_program(rules, nr, &prog, &len, NULL), 0);
  unsigned acc = 0;
  for (const char *a = access; *a; a++)
    acc |= *a == 'r' ? BPF_DEVCG_ACC_READ : *a == 'w' ? BPF_DEVCG_ACC_WRITE : BPF_DEVCG_ACC_MKNOD;
  struct bpf_cgroup_dev_ctx ctx = {
      .access_type = (acc << 16) | (type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK),
      .major = major, .minor = minor};
  return run(prog, len, &ctx);
}

static const struct spec_device_rule deny_all = {false, 'a', -1, -1, "rwm"};

Test(devices, defaults_allow_the_standard_devices_and_mknod_only)
{
  cr_assert(allows(&deny_all, 1, 'c', 1, 3, "rw"));   /* /dev/null */
  cr_assert(allows(&deny_all, 1, 'c', 136, 4, "rw")); /* a pty */
  cr_assert(allows(&deny_all, 1, 'b', 8, 0, "m"));
  cr_assert_not(allows(&deny_all, 1, 'b', 8, 0, "r"));
  cr_assert_not(allows(&deny_all, 1, 'c', 10, 229, "r"));
  cr_assert_not(allows(NULL, 0, 'c', 10, 229, "r")); /* no rules: deny */
}

Test(devices, an_allow_rule_grants_only_its_access)
{
  struct spec_device_rule cfg[] = {deny_all, {true, 'c', 10, 229, "r"}};
  cr_assert(allows(cfg, 2, 'c', 10, 229, "r"));
  cr_assert_not(allows(cfg, 2, 'c', 10, 229, "rw"));
  cr_assert_not(allows(cfg, 2, 'c', 10, 228, "r"));
  cr_assert_not(allows(cfg, 2, 'b', 10, 229, "r"));
}

Test(devices, the_last_matching_rule_wins)
{
  struct spec_device_rule cfg[] = {deny_all, {true, 'c', 10, -1, "rw"}, {false, 'c', 10, 229, "w"}};
  cr_assert(allows(cfg, 3, 'c', 10, 200, "rw"));
  cr_assert(allows(cfg, 3, 'c', 10, 229, "r"));
  cr_assert_not(allows(cfg, 3, 'c', 10, 229, "w"));
  cr_assert_not(allows(cfg, 3, 'c', 10, 229, "rw"));
}

Test(devices, allow_all_is_privileged)
{
  struct spec_device_rule cfg[] = {{true, 'a', -1, -1, "rwm"}};
  cr_assert(allows(cfg, 1, 'b', 8, 0, "rw"));
  cr_assert(allows(cfg, 1, 'c', 10, 229, "rwm"));
}

Test(devices, the_defaults_cannot_be_denied)
{
  struct spec_device_rule cfg[] = {{false, 'c', 1, 3, "rwm"}};
  cr_assert(allows(cfg, 1, 'c', 1, 3, "rw"));
}
