/* virtio-net (virtio 1.2 §5.1) over a tap: one receive and one transmit
 * queue, the 12-byte header passed through to the tap (so checksum and TSO
 * offloads cost nothing), mergeable receive buffers, MAC address and link
 * status. */
#ifndef ISOLA_VMM_VIRTIO_NET_H
#define ISOLA_VMM_VIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/ratelimit.h"
#include "vmm/virtio/mmio.h"
#include "vmm/virtio/tap.h"

#define NET_FRAME_MAX (TAP_VNET_HDR + 65550) /* header + a 64 KiB GSO frame + Ethernet */

struct virtio_net {
  int tap_fd;
  char tap[16];
  uint8_t mac[6];
  bool has_mac;
  bool mrg_rxbuf;
  struct virtio_mmio *m;
  uint8_t *frame; /* a received frame waiting for receive buffers */
  size_t frame_len;
  bool frame_paid; /* its rx tokens are taken */
  struct ratelimit rx_rl, tx_rl;
  uint64_t rx_frames, tx_frames, rx_bytes, tx_bytes, rx_dropped, tx_dropped;
};

struct virtio_net_config {
  const char *tap;
  const uint8_t *mac; /* NULL: the guest picks one */
  struct ratelimit_config rx_rate_limiter, tx_rate_limiter;
};

int virtio_net_open(struct virtio_net *n, const struct virtio_net_config *cfg, err_t *err);
void virtio_net_close(struct virtio_net *n);
/* The tap became readable (device loop). */
void virtio_net_on_tap(void *ctx, uint32_t events);
const struct virtio_dev_ops *virtio_net_ops(const struct virtio_net *n);
/* A rate limiter's timer fired (device loop): receive or send what waited. */
void virtio_net_on_rx_timer(void *ctx, uint32_t events);
void virtio_net_on_tx_timer(void *ctx, uint32_t events);

#endif
