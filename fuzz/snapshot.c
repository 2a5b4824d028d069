/* Fuzz the snapshot state file's reader: a snapshot may come from another
 * host or another user, so its records (lengths, machine, device JSON) are
 * untrusted.  Reading must refuse or accept any byte string, and whatever
 * it accepts must describe devices the VMM can open (bounded counts). */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "vmm/snapshot/snapshot.h"
#include "vmm/vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  int fd = memfd_create("state", MFD_CLOEXEC);
  if (fd < 0 || write(fd, data, size) != (ssize_t)size)
    abort();
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  struct vm_config cfg = {.cmdline = ""};
  json_t *devices = NULL;
  err_t e = NULL;
  int ret = snapshot_read_config(path, &cfg, &devices, &e);
  fuzz_check_error(ret, &e);
  if (ret == 0 && (cfg.ndisks + cfg.nnets > VM_MAX_VIRTIO || cfg.ndisks < 0 || cfg.nnets < 0))
    abort();
  json_decref(devices);
  close(fd);
  return 0;
}
