/* virtio-console (virtio 1.2 §5.3): one port, a second console or data
 * channel beside the serial port, carried over a Unix socket the VMM listens
 * on (one client at a time, as QEMU's `-chardev socket,server`).  What the
 * guest writes with no client connected is dropped, as on an unplugged
 * line; what the client sends waits for the guest's receive buffers. */
#ifndef ISOLA_VMM_VIRTIO_CONSOLE_H
#define ISOLA_VMM_VIRTIO_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/evloop.h"
#include "vmm/virtio/mmio.h"

struct virtio_console {
  char path[108];
  int listen_fd, client_fd;
  bool readable; /* the client may have bytes for the guest */
  struct evloop *loop;
  struct virtio_mmio *m;
  uint64_t rx_bytes, tx_bytes, tx_dropped;
};

int virtio_console_open(struct virtio_console *c, const char *path, struct evloop *loop,
                        err_t *err);
void virtio_console_close(struct virtio_console *c);

extern const struct virtio_dev_ops virtio_console_ops;

#endif
