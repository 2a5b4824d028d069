#include "vmm/virtio/vsock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/log.h"
#include "common/uds.h"
#include "vmm/virtio/vsock_conn.h"

enum { RXQ = 0, TXQ = 1, EVQ = 2 };
#define HDR ((uint32_t)sizeof(struct vsock_hdr))
#define MAX_PAYLOAD (64 * 1024)

/* A reset by the driver (on a vCPU thread) ends every connection; the
 * device loop notices the new generation before touching its state. */
bool vsock_sync_gen(struct virtio_vsock *v)
{
  uint32_t gen = __atomic_load_n(&v->m->gen, __ATOMIC_ACQUIRE);
  if (gen == v->seen_gen)
    return false;
  vsock_conn_close_all(v);
  v->nctrl = 0;
  v->seen_gen = gen;
  v->resets++;
  return true;
}

static struct vsock_hdr make_hdr(const struct virtio_vsock *v, const struct vsock_conn *c,
                                 uint32_t local, uint32_t peer, uint16_t op)
{
  return (struct vsock_hdr){.src_cid = VSOCK_HOST_CID, .dst_cid = v->cid, .src_port = local,
                            .dst_port = peer, .type = VSOCK_TYPE_STREAM, .op = op,
                            .buf_alloc = VSOCK_BUF_ALLOC, .fwd_cnt = c ? c->fwd_cnt : 0};
}

void vsock_ctrl(struct virtio_vsock *v, struct vsock_conn *c, uint32_t local, uint32_t peer,
                uint16_t op, uint32_t flags)
{
  if (v->nctrl == VSOCK_CTRL_MAX) {
    log_warn("virtio-vsock: the guest takes no packets; dropping a control packet (op %u)", op);
    return;
  }
  struct vsock_hdr h = make_hdr(v, c, local, peer, op);
  h.flags = flags;
  if (c)
    c->fwd_sent = c->fwd_cnt;
  v->ctrl[v->nctrl++] = h;
}

/* One host → guest data packet for `c`: 1 sent, 0 nothing to send. */
static int rx_data(struct virtio_vsock *v, struct vsock_conn *c)
{
  struct virtio_mmio *m = v->m;
  uint32_t credit = c->peer_buf_alloc - (c->rx_cnt - c->peer_fwd_cnt);
  if (!c->readable || c->host_eof || credit == 0 || credit > c->peer_buf_alloc)
    return 0;
  struct virtq_req req;
  if (virtio_mmio_pop(m, RXQ, &req) != 1)
    return -1;
  uint64_t room = req.writable > HDR ? req.writable - HDR : 0;
  uint32_t want = credit;
  if (want > room)
    want = (uint32_t)room;
  if (want > MAX_PAYLOAD)
    want = MAX_PAYLOAD;
  struct iovec iov[VIRTQ_MAX_SEGS];
  int n = want ? virtq_req_iov(m->gm, &req, true, HDR, want, iov, VIRTQ_MAX_SEGS) : -1;
  if (n < 0) {
    virtio_mmio_broken(m, "a vsock receive buffer is smaller than a packet header");
    return -1;
  }
  ssize_t got = readv(c->fd, iov, n);
  if (got < 0 && (errno == EAGAIN || errno == EINTR)) {
    c->readable = false;
    virtio_mmio_unpop(m, RXQ, 1);
    return 0;
  }
  struct vsock_hdr h = make_hdr(v, c, c->local_port, c->peer_port, VSOCK_OP_RW);
  if (got > 0) {
    h.len = (uint32_t)got;
    c->rx_cnt += (uint32_t)got;
  } else {
    /* The host closed (or failed): the guest reads the end of the stream. */
    h.op = VSOCK_OP_SHUTDOWN;
    h.flags = VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND;
    c->host_eof = true;
    got = 0;
  }
  c->fwd_sent = c->fwd_cnt;
  virtq_req_write(m->gm, &req, 0, &h, HDR);
  virtio_mmio_push(m, RXQ, &req, HDR + (uint32_t)got);
  v->rx_packets++;
  return 1;
}

void vsock_rx(struct virtio_vsock *v)
{
  struct virtio_mmio *m = v->m;
  while (v->nctrl) {
    struct virtq_req req;
    if (virtio_mmio_pop(m, RXQ, &req) != 1)
      return;
    if (virtq_req_write(m->gm, &req, 0, &v->ctrl[0], HDR) != HDR) {
      virtio_mmio_broken(m, "a vsock receive buffer is smaller than a packet header");
      return;
    }
    virtio_mmio_push(m, RXQ, &req, HDR);
    memmove(v->ctrl, v->ctrl + 1, sizeof(v->ctrl[0]) * (size_t)--v->nctrl);
    v->rx_packets++;
  }
  bool progress = true;
  while (progress) {
    progress = false;
    for (struct vsock_conn *c = v->conns; c; c = c->next) {
      if (c->state != CONN_ESTABLISHED)
        continue;
      int r = rx_data(v, c);
      if (r < 0)
        return; /* no receive buffers: the driver's next kick resumes */
      progress |= r > 0;
    }
  }
}

static void tx_packet(struct virtio_vsock *v, const struct vsock_hdr *h, const uint8_t *payload)
{
  v->tx_packets++;
  if (h->src_cid != v->cid || h->dst_cid != VSOCK_HOST_CID || h->type != VSOCK_TYPE_STREAM) {
    if (h->op != VSOCK_OP_RST && h->type == VSOCK_TYPE_STREAM)
      vsock_ctrl(v, NULL, h->dst_port, h->src_port, VSOCK_OP_RST, 0);
    return;
  }
  struct vsock_conn *c = vsock_conn_find(v, h->dst_port, h->src_port);
  if (h->op == VSOCK_OP_REQUEST && !c)
    c = vsock_conn_guest_connect(v, h->dst_port, h->src_port); /* NULL: reset */
  else if (!c && h->op != VSOCK_OP_RST)
    vsock_ctrl(v, NULL, h->dst_port, h->src_port, VSOCK_OP_RST, 0);
  if (!c)
    return;
  c->peer_buf_alloc = h->buf_alloc;
  c->peer_fwd_cnt = h->fwd_cnt;
  switch (h->op) {
  case VSOCK_OP_RESPONSE:
    if (c->state == CONN_CONNECTING && vsock_conn_established(c) == 0) {
      char ok[24];
      int n = snprintf(ok, sizeof(ok), "OK %u\n", c->local_port);
      if (send(c->fd, ok, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n) {
        vsock_ctrl(v, NULL, c->local_port, c->peer_port, VSOCK_OP_RST, 0);
        vsock_conn_close(c);
      }
    }
    break;
  case VSOCK_OP_RW:
    if (c->state == CONN_ESTABLISHED)
      vsock_conn_write(c, payload, h->len);
    break;
  case VSOCK_OP_CREDIT_REQUEST:
    vsock_ctrl(v, c, c->local_port, c->peer_port, VSOCK_OP_CREDIT_UPDATE, 0);
    break;
  case VSOCK_OP_SHUTDOWN: vsock_conn_shutdown(c, h->flags); break;
  case VSOCK_OP_RST: vsock_conn_close(c); break;
  default: break; /* CREDIT_UPDATE: the window was updated above */
  }
}

static void tx(struct virtio_vsock *v)
{
  static uint8_t payload[MAX_PAYLOAD]; /* the device loop is single-threaded */
  struct virtio_mmio *m = v->m;
  struct virtq_req req;
  while (virtio_mmio_pop(m, TXQ, &req) == 1) {
    struct vsock_hdr h;
    if (virtq_req_read(m->gm, &req, 0, &h, HDR) != HDR || h.len > req.readable - HDR ||
        h.len > MAX_PAYLOAD) {
      virtio_mmio_push(m, TXQ, &req, 0);
      virtio_mmio_broken(m, "a vsock packet is shorter than its header says");
      return;
    }
    virtq_req_read(m->gm, &req, HDR, payload, h.len);
    virtio_mmio_push(m, TXQ, &req, 0);
    tx_packet(v, &h, payload);
  }
}

static void notify(void *dev, struct virtio_mmio *m, int queue)
{
  struct virtio_vsock *v = dev;
  (void)m;
  vsock_sync_gen(v);
  if (queue == TXQ)
    tx(v);
  vsock_rx(v); /* new receive buffers, or answers to what the guest sent */
}

static void on_listen(void *ctx, uint32_t events)
{
  struct virtio_vsock *v = ctx;
  vsock_sync_gen(v);
  virtio_vsock_on_listen(v, events);
}

void virtio_vsock_restored(struct virtio_vsock *v)
{
  v->seen_gen = v->m->gen; /* the restored transport's: not a driver reset */
  if (!virtio_mmio_queue_live(v->m, EVQ))
    return; /* no driver running: it had no connections */
  struct virtq_req req;
  uint32_t reset = 0; /* VIRTIO_VSOCK_EVENT_TRANSPORT_RESET, §5.10.6.7 */
  if (virtio_mmio_pop(v->m, EVQ, &req) != 1) {
    log_warn("virtio-vsock: the guest has no event buffer; it is not told its connections were "
             "reset");
    return;
  }
  if (virtq_req_write(v->m->gm, &req, 0, &reset, sizeof reset) != sizeof reset) {
    virtio_mmio_push(v->m, EVQ, &req, 0);
    virtio_mmio_broken(v->m, "a vsock event buffer is smaller than an event");
    return;
  }
  virtio_mmio_push(v->m, EVQ, &req, sizeof reset);
  v->resets++;
}

static void config_read(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
  const struct virtio_vsock *v = dev;
  if (off < 8)
    memcpy(data, (const uint8_t *)&v->cid + off, off + len <= 8 ? len : 8 - off);
}

const struct virtio_dev_ops virtio_vsock_ops = {
    .name = "vsock",
    .device_id = 19,
    .features = VIRTIO_F_EVENT_IDX | VIRTIO_F_INDIRECT_DESC,
    .nqueues = 3,
    .queue_max = 256,
    .notify = notify,
    .config_read = config_read,
};

int virtio_vsock_open(struct virtio_vsock *v, const struct virtio_vsock_config *cfg,
                      struct evloop *loop, err_t *err)
{
  memset(v, 0, sizeof(*v));
  v->listen_fd = -1;
  v->loop = loop;
  v->cid = cfg->cid;
  v->next_port = 1U << 30; /* host-side ports of host-initiated connections */
  if (cfg->cid < 3 || cfg->cid >= UINT32_MAX)
    return err_make(err, EINVAL, "vsock cid %llu is reserved; use 3 to %u",
                    (unsigned long long)cfg->cid, UINT32_MAX - 1);
  /* "<uds>_<port>" must fit sun_path too. */
  if (strlen(cfg->uds) + 12 > sizeof(v->uds))
    return err_make(err, ENAMETOOLONG, "vsock socket path `%s` is longer than %zu bytes",
                    cfg->uds, sizeof(v->uds) - 12);
  snprintf(v->uds, sizeof(v->uds), "%s", cfg->uds);
  v->listen_fd = uds_listen(v->uds, "vsock socket", err);
  if (v->listen_fd < 0)
    return -1;
  int r = evloop_add(loop, v->listen_fd, EPOLLIN, on_listen, v, err);
  if (r < 0)
    virtio_vsock_close(v);
  return r;
}

void virtio_vsock_close(struct virtio_vsock *v)
{
  vsock_conn_close_all(v);
  if (v->listen_fd >= 0) {
    evloop_remove(v->loop, v->listen_fd);
    close(v->listen_fd);
    unlink(v->uds);
  }
  v->listen_fd = -1;
}
