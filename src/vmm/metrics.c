#include "vmm/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <jansson.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/file.h"
#include "vmm/registry.h"
#include "vmm/vm.h"

struct vmm_counters vmm_counters;

static int metrics_fd = -1;

static const struct {
  const char *group, *name, *what;
} DESCRIBED[] = {
    {"vcpu", "exit_io_in", "port reads by the guest handled by the VMM"},
    {"vcpu", "exit_io_out", "port writes by the guest handled by the VMM"},
    {"vcpu", "exit_mmio_read", "MMIO reads handled by the VMM"},
    {"vcpu", "exit_mmio_write", "MMIO writes handled by the VMM"},
    {"vcpu", "exit_hlt", "HLT exits (the in-kernel LAPIC keeps most)"},
    {"uart", "write_count", "bytes the guest wrote to COM1"},
    {"block_ID", "read_count", "read requests of disk ID"},
    {"block_ID", "write_count", "write requests of disk ID"},
    {"block_ID", "flush_count", "flush requests of disk ID"},
    {"block_ID", "io_errors", "requests of disk ID that failed"},
    {"block_ID", "rate_limiter_throttled_events", "times a request of disk ID waited for its rate limiter"},
    {"net_ID", "rx_packets_count", "frames delivered to the guest on NIC ID"},
    {"net_ID", "rx_bytes_count", "bytes delivered to the guest on NIC ID"},
    {"net_ID", "rx_dropped", "frames from the tap dropped on NIC ID"},
    {"net_ID", "tx_packets_count", "frames sent by the guest on NIC ID"},
    {"net_ID", "tx_bytes_count", "bytes sent by the guest on NIC ID"},
    {"net_ID", "tx_dropped", "guest frames dropped on NIC ID"},
    {"net_ID", "rx_rate_limiter_throttled", "times a frame for the guest on NIC ID waited for its rate limiter"},
    {"net_ID", "tx_rate_limiter_throttled", "times a frame of the guest on NIC ID waited for its rate limiter"},
    {"rng", "entropy_bytes", "random bytes given to the guest"},
    {"rng", "entropy_rate_limiter_throttled", "times a request for random bytes waited for its rate limiter"},
    {"vsock", "rx_packets_count", "packets delivered to the guest"},
    {"vsock", "tx_packets_count", "packets sent by the guest"},
    {"vsock", "conns_added", "connections opened"},
    {"vsock", "conns_reset", "connections reset"},
    {"vmm", "pauses", "times the VM was paused"},
    {"vmm", "resumes", "times the VM was resumed"},
    {"vmm", "snapshots_created", "full snapshots written"},
    {"api_server", "requests", "API requests answered"},
    {"api_server", "errors", "API requests answered with an error"},
};

void metrics_describe(FILE *out)
{
  json_t *j = json_object();
  for (size_t i = 0; i < sizeof DESCRIBED / sizeof DESCRIBED[0]; i++) {
    json_t *g = json_object_get(j, DESCRIBED[i].group);
    if (!g)
      json_object_set_new(j, DESCRIBED[i].group, g = json_object());
    json_object_set_new(g, DESCRIBED[i].name, json_string(DESCRIBED[i].what));
  }
  json_dumpf(j, out, JSON_INDENT(2));
  fputc('\n', out);
  json_decref(j);
}

int metrics_open(const char *path, err_t *err)
{
  /* a FIFO without a reader would block: open it non-blocking, then write
   * blocking as Firecracker does */
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0600);
  if (fd < 0)
    return err_sys(err, "metrics_path: cannot open `%s`", path);
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  if (metrics_fd >= 0)
    close(metrics_fd);
  metrics_fd = fd;
  return 0;
}

int metrics_is_open(void)
{
  return metrics_fd >= 0;
}

void metrics_close(void)
{
  if (metrics_fd >= 0)
    close(metrics_fd);
  metrics_fd = -1;
}

#define C(field) ((json_int_t)atomic_load_explicit(&vmm_counters.field, memory_order_relaxed))

int metrics_flush(struct vm *vm, err_t *err)
{
  if (metrics_fd < 0)
    return err_make(err, EINVAL, "metrics are not configured: PUT /metrics with metrics_path first");
  json_t *j = json_pack("{sI s{sI sI sI sI sI} s{sI sI sI} s{sI sI}}", "utc_timestamp_ms",
                        (json_int_t)(clock_us(CLOCK_REALTIME) / 1000), "vcpu", "exit_io_in", C(exit_io_in),
                        "exit_io_out", C(exit_io_out), "exit_mmio_read", C(exit_mmio_read), "exit_mmio_write",
                        C(exit_mmio_write), "exit_hlt", C(exit_hlt), "vmm", "pauses", C(pauses), "resumes",
                        C(resumes), "snapshots_created", C(snapshots_created), "api_server", "requests",
                        C(api_requests), "errors", C(api_errors));
  if (vm) {
    vmm_foreach_device_type(t) {
      if (t->metrics)
        t->metrics(vm, j);
    }
  }
  char *line = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  if (!line)
    return err_make(err, ENOMEM, "out of memory");
  size_t len = strlen(line);
  line[len] = '\n';
  int r = fd_write_all(metrics_fd, line, len + 1, err);
  free(line);
  return r < 0 ? err_context(err, "cannot write metrics") : 0;
}
