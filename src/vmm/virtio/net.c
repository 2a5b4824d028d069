#include "vmm/virtio/net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/log.h"

/* §5.1.3 feature bits. */
#define F_CSUM (1ULL << 0)
#define F_GUEST_CSUM (1ULL << 1)
#define F_MAC (1ULL << 5)
#define F_GUEST_TSO4 (1ULL << 7)
#define F_GUEST_TSO6 (1ULL << 8)
#define F_HOST_TSO4 (1ULL << 11)
#define F_HOST_TSO6 (1ULL << 12)
#define F_MRG_RXBUF (1ULL << 15)
#define F_STATUS (1ULL << 16)
#define LINK_UP 1

enum { RXQ = 0, TXQ = 1 };
#define NUM_BUFFERS_OFF 10 /* in virtio_net_hdr_v1 */
#define MAX_RX_CHAINS 64

static void transmit(struct virtio_net *n, struct virtio_mmio *m)
{
  struct virtq_req req;
  struct iovec iov[VIRTQ_MAX_SEGS];
  while (!ratelimit_blocked(&n->tx_rl) && virtio_mmio_pop(m, TXQ, &req) == 1) {
    if (!ratelimit_consume(&n->tx_rl, req.readable > TAP_VNET_HDR ? req.readable - TAP_VNET_HDR : 0)) {
      virtio_mmio_unpop(m, TXQ, 1); /* sent when the timer fires */
      return;
    }
    int cnt = virtq_req_iov(m->gm, &req, false, 0, req.readable, iov, VIRTQ_MAX_SEGS);
    if (cnt < 0 || req.readable < TAP_VNET_HDR || req.readable > NET_FRAME_MAX) {
      n->tx_dropped++;
    } else if (writev(n->tap_fd, iov, cnt) < 0) {
      n->tx_dropped++; /* the tap is down or its queue full: as a wire would, drop */
    } else {
      n->tx_frames++;
      n->tx_bytes += req.readable - TAP_VNET_HDR;
    }
    virtio_mmio_push(m, TXQ, &req, 0);
  }
}

/* Spread the pending frame over as many receive chains as it needs
 * (mergeable buffers) or one chain.  false: not enough buffers yet. */
static bool deliver(struct virtio_net *n, struct virtio_mmio *m)
{
  static struct virtq_req reqs[MAX_RX_CHAINS]; /* the device loop is single-threaded */
  uint32_t used[MAX_RX_CHAINS];
  uint16_t k = 0;
  size_t off = 0;
  while (off < n->frame_len) {
    if (k == MAX_RX_CHAINS || (!n->mrg_rxbuf && k == 1)) {
      virtio_mmio_push(m, RXQ, &reqs[0], 0); /* cannot fit: give the buffers back empty */
      for (uint16_t i = 1; i < k; i++)
        virtio_mmio_push(m, RXQ, &reqs[i], 0);
      n->rx_dropped++;
      return true;
    }
    int r = virtio_mmio_pop(m, RXQ, &reqs[k]);
    if (r != 1) {
      if (k)
        virtio_mmio_unpop(m, RXQ, k);
      return r < 0; /* a broken ring drops the frame; none: wait for buffers */
    }
    uint64_t w = virtq_req_write(m->gm, &reqs[k], 0, n->frame + off, n->frame_len - off);
    used[k++] = (uint32_t)w;
    off += w;
    if (w == 0 && reqs[k - 1].writable == 0) {
      n->rx_dropped++; /* a receive buffer without room: the driver is confused */
      virtio_mmio_broken(m, "a receive buffer has no device-writable space");
      return true;
    }
  }
  uint16_t nbuf = k;
  virtq_req_write(m->gm, &reqs[0], NUM_BUFFERS_OFF, &nbuf, 2);
  for (uint16_t i = 0; i < k; i++)
    virtio_mmio_push(m, RXQ, &reqs[i], used[i]);
  n->rx_frames++;
  n->rx_bytes += n->frame_len - TAP_VNET_HDR;
  return true;
}

static void receive(struct virtio_net *n, struct virtio_mmio *m)
{
  for (;;) {
    if (!n->frame_len) {
      if (!virtio_mmio_queue_live(m, RXQ))
        return; /* frames stay in the tap until the driver is ready */
      ssize_t r = read(n->tap_fd, n->frame, NET_FRAME_MAX);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        return;
      if ((size_t)r < TAP_VNET_HDR)
        continue;
      memset(n->frame + NUM_BUFFERS_OFF, 0, 2);
      n->frame_len = (size_t)r;
      n->frame_paid = false;
    }
    if (!n->frame_paid && !ratelimit_consume(&n->rx_rl, n->frame_len - TAP_VNET_HDR))
      return; /* the frame waits for the rx timer */
    n->frame_paid = true;
    if (!deliver(n, m))
      return; /* the frame waits for the driver's next receive kick */
    n->frame_len = 0;
  }
}

static void notify(void *dev, struct virtio_mmio *m, int queue)
{
  struct virtio_net *n = dev;
  if (queue == TXQ)
    transmit(n, m);
  else
    receive(n, m);
}

void virtio_net_on_tap(void *ctx, uint32_t events)
{
  (void)events;
  struct virtio_net *n = ctx;
  receive(n, n->m);
}

void virtio_net_on_rx_timer(void *ctx, uint32_t events)
{
  (void)events;
  struct virtio_net *n = ctx;
  ratelimit_on_timer(&n->rx_rl);
  receive(n, n->m);
}

void virtio_net_on_tx_timer(void *ctx, uint32_t events)
{
  (void)events;
  struct virtio_net *n = ctx;
  ratelimit_on_timer(&n->tx_rl);
  transmit(n, n->m);
}

static void activate(void *dev, uint64_t features)
{
  struct virtio_net *n = dev;
  err_t e = NULL;
  n->mrg_rxbuf = features & F_MRG_RXBUF;
  if (tap_set_offload(n->tap_fd, features & F_GUEST_CSUM, features & F_GUEST_TSO4,
                      features & F_GUEST_TSO6, &e) < 0) {
    log_warn("virtio-net: %s", err_msg(e));
    err_free(&e);
  }
}

static void config_read(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
  const struct virtio_net *n = dev;
  /* §5.1.4: mac, status, max_virtqueue_pairs, mtu. */
  uint8_t cfg[12] = {0};
  uint16_t status = LINK_UP, pairs = 1, mtu = 1500;
  memcpy(cfg, n->mac, 6);
  memcpy(cfg + 6, &status, 2);
  memcpy(cfg + 8, &pairs, 2);
  memcpy(cfg + 10, &mtu, 2);
  if (off < sizeof(cfg))
    memcpy(data, cfg + off, off + len <= sizeof(cfg) ? len : sizeof(cfg) - off);
}

static void reset(void *dev)
{
  struct virtio_net *n = dev;
  n->mrg_rxbuf = false;
}

#define NET_FEATURES                                                                       \
  (VIRTIO_F_EVENT_IDX | VIRTIO_F_INDIRECT_DESC | F_CSUM | F_GUEST_CSUM | F_GUEST_TSO4 |    \
   F_GUEST_TSO6 | F_HOST_TSO4 | F_HOST_TSO6 | F_MRG_RXBUF | F_STATUS)

static const struct virtio_dev_ops net_ops = {
    .name = "net", .device_id = 1, .features = NET_FEATURES, .nqueues = 2, .queue_max = 256,
    .notify = notify, .config_read = config_read, .reset = reset, .activate = activate,
};
static const struct virtio_dev_ops net_mac_ops = {
    .name = "net", .device_id = 1, .features = NET_FEATURES | F_MAC, .nqueues = 2,
    .queue_max = 256, .notify = notify, .config_read = config_read, .reset = reset,
    .activate = activate,
};

const struct virtio_dev_ops *virtio_net_ops(const struct virtio_net *n)
{
  return n->has_mac ? &net_mac_ops : &net_ops;
}

int virtio_net_open(struct virtio_net *n, const struct virtio_net_config *cfg, err_t *err)
{
  memset(n, 0, sizeof(*n));
  n->tap_fd = -1;
  ratelimit_init(&n->rx_rl);
  ratelimit_init(&n->tx_rl);
  if (ratelimit_configure(&n->rx_rl, &cfg->rx_rate_limiter, err) < 0 ||
      ratelimit_configure(&n->tx_rl, &cfg->tx_rate_limiter, err) < 0)
    return -1;
  snprintf(n->tap, sizeof(n->tap), "%s", cfg->tap);
  if (cfg->mac) {
    memcpy(n->mac, cfg->mac, 6);
    n->has_mac = true;
  }
  n->frame = malloc(NET_FRAME_MAX);
  if (!n->frame)
    return err_sys(err, "cannot allocate a receive buffer for tap `%s`", cfg->tap);
  n->tap_fd = tap_open(cfg->tap, err);
  return n->tap_fd < 0 ? -1 : 0;
}

void virtio_net_close(struct virtio_net *n)
{
  ratelimit_close(&n->rx_rl);
  ratelimit_close(&n->tx_rl);
  free(n->frame);
  n->frame = NULL;
  if (n->tap_fd >= 0)
    close(n->tap_fd);
  n->tap_fd = -1;
}
