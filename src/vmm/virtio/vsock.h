/* virtio-vsock (virtio 1.2 §5.10) with Firecracker's host side: the guest
 * is CID `cid`; host programs reach it through one Unix socket.
 *  - host → guest: connect to UDS, write "CONNECT <port>\n", read
 *    "OK <host port>\n", then the stream;
 *  - guest → host port P: the VMM connects to "<UDS>_<P>" and relays.
 * Stream sockets only, with the spec's credit-based flow control: every
 * byte the guest sends within its credit is buffered until the host socket
 * takes it, and the guest never gets more than it has room for. */
#ifndef ISOLA_VMM_VIRTIO_VSOCK_H
#define ISOLA_VMM_VIRTIO_VSOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/evloop.h"
#include "vmm/virtio/mmio.h"

#define VSOCK_HOST_CID 2
#define VSOCK_BUF_ALLOC (256 * 1024) /* per connection, guest → host */
#define VSOCK_CTRL_MAX 256

struct vsock_conn;

/* The header of every packet, §5.10.6 (little-endian, packed). */
struct vsock_hdr {
  uint64_t src_cid, dst_cid;
  uint32_t src_port, dst_port, len;
  uint16_t type, op;
  uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__((packed));

struct virtio_vsock_config {
  uint64_t cid;    /* 0: no vsock device */
  const char *uds; /* the host-side Unix socket */
};

struct virtio_vsock {
  uint64_t cid;
  char uds[108];
  int listen_fd;
  struct evloop *loop;
  struct virtio_mmio *m;
  uint32_t seen_gen; /* the transport generation our connections belong to */
  uint32_t next_port;
  struct vsock_conn *conns;
  struct vsock_hdr ctrl[VSOCK_CTRL_MAX]; /* control packets waiting for receive buffers */
  int nctrl;
  uint64_t rx_packets, tx_packets, conns_opened, resets; /* metrics */
};

/* Creates the listening socket (a stale socket file, one nobody listens
 * on, is replaced; a live one is an error). */
int virtio_vsock_open(struct virtio_vsock *v, const struct virtio_vsock_config *cfg,
                      struct evloop *loop, err_t *err);
/* Closes every connection and the listener, and removes the socket file. */
void virtio_vsock_close(struct virtio_vsock *v);
void virtio_vsock_on_listen(void *ctx, uint32_t events);
/* Restored from a snapshot: the host side has none of the guest's
 * connections, so the guest gets a TRANSPORT_RESET event (it closes them
 * all; its listening sockets stay).  Before the device loop starts. */
void virtio_vsock_restored(struct virtio_vsock *v);

extern const struct virtio_dev_ops virtio_vsock_ops;

#endif
