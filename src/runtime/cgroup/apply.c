/* A container's linux.resources written to its cgroup, in whichever layout
 * the host has (the per-layout writers: v1.c, v2.c; device rules: devices.c). */
#include "runtime/cgroup/apply.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "runtime/cgroup/devices.h"

int cgroup_apply(const struct cgroup *cg, const struct spec_resources *r, bool update, err_t *err)
{
  if (cg->none) {
    const char *what = spec_resources_first_limit(r);
    return what ? err_make(err, EPERM, "linux.resources.%s: the container has no cgroup (rootless, "
                           "and no cgroup was delegated to uid %u)", what, (unsigned)geteuid())
                : 0;
  }
  if (cg->mode == CGROUP_V2) {
    if (cgroup_v2_apply(cg->unified_dir, r, err) < 0)
      return -1;
    if (update && !r->n_devices)
      return 0;
    _cleanup_free_ struct spec_device_rule *rules = NULL;
    size_t n;
    if (devices_effective(r, &rules, &n, err) < 0 ||
        devices_bpf_apply(cg->unified_dir, rules, n, err) < 0)
      return err_context(err, "linux.resources.devices");
    return 0;
  }
  if (cgroup_v1_apply(cg, r, update, err) < 0)
    return -1;
  /* Hybrid: controllers bound to the unified hierarchy (hugetlb here) are
   * set there; cgroup_v2_apply skips files the hierarchy does not have. */
  if (cg->mode == CGROUP_HYBRID && r->n_hugepages && !cgroup_v1_dir(cg, "hugetlb")) {
    struct spec_resources only;
    spec_resources_init(&only);
    only.hugepages = r->hugepages;
    only.n_hugepages = r->n_hugepages;
    return cgroup_v2_apply(cg->unified_dir, &only, err);
  }
  return 0;
}
