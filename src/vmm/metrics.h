/* Firecracker-style metrics: one JSON object per line, written to a file
 * or FIFO (--metrics-path, PUT /metrics) every 60 s, on PUT /actions
 * FlushMetrics and when the VMM ends.  Groups as Firecracker names them
 * (vcpu, uart, block_ID, net_ID, rng, vsock, vmm, api_server) plus
 * utc_timestamp_ms.  Unlike Firecracker's, the counters are totals since
 * the VMM started, not deltas since the last line.
 * `isola-vmm --describe-metrics` prints every metric with its meaning. */
#ifndef ISOLA_VMM_METRICS_H
#define ISOLA_VMM_METRICS_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "common/err.h"

struct vm;

/* Counters kept outside the devices (which count for themselves). */
struct vmm_counters {
  atomic_uint_fast64_t exit_io_in, exit_io_out, exit_mmio_read, exit_mmio_write, exit_hlt;
  atomic_uint_fast64_t pauses, resumes, snapshots_created;
  atomic_uint_fast64_t api_requests, api_errors;
};

extern struct vmm_counters vmm_counters;

#define METRIC_INC(field) atomic_fetch_add_explicit(&vmm_counters.field, 1, memory_order_relaxed)

int metrics_open(const char *path, err_t *err);
int metrics_flush(struct vm *vm, err_t *err);
void metrics_close(void);
int metrics_is_open(void);
void metrics_describe(FILE *out);

#endif
