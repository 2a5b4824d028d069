/* Writing a container's linux.resources (runtime/spec) to its cgroup: the
 * OCI side of the cgroup code; the host mechanism is sys/cgroup. */
#ifndef ISOLA_RUNTIME_CGROUP_APPLY_H
#define ISOLA_RUNTIME_CGROUP_APPLY_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "runtime/spec/spec.h"
#include "sys/cgroup/cgroup.h"

/* Write the limits of `r`; on `update`, device rules only when `r` has some.
 * A "none" cgroup refuses any limit. */
int cgroup_apply(const struct cgroup *cg, const struct spec_resources *r, bool update, err_t *err);

/* Per-layout resource writers, exposed for the unit tests. */
int cgroup_v1_apply(const struct cgroup *cg, const struct spec_resources *r, bool update, err_t *err);
int cgroup_v2_apply(const char *dir, const struct spec_resources *r, err_t *err);

/* v1 cpu.shares -> v2 cpu.weight; v1 blkio weight -> v2 io.weight. */
uint64_t cgroup_shares_to_weight(uint64_t shares);
uint64_t cgroup_blkio_to_io_weight(uint64_t weight);

#endif
