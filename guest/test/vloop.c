/* A guest that keeps its virtio devices busy across snapshots (issue #9):
 * it sets up each device once, then goes round forever, every round
 *  rng    reading 16 random bytes,
 *  blk    writing "vloop round N" to sector 1 and reading it back,
 *  net    sending a frame (type 0x88b5) saying "vloop round N",
 * and printing "vloop: round N ok" (or FAILED).  Its vsock connects to host
 * port 1234 at the start and echoes a line; whenever the event queue says
 * the transport was reset it prints so and connects again.  A restored
 * guest must go on from its round, on the same queues, without setting a
 * device up again. */
#include "virtio.h"

#define NET_F_MAC (1ULL << 5)

static struct vq rq, bq, nrx, ntx, vrx, vtx, vev;
static struct vdev *rng, *blk, *net, *vs;
static uint8_t sector[512] __attribute__((aligned(512)));
static uint8_t net_rx[2][1526], net_tx[12 + 60];
static uint8_t vs_rx[4][512];
static uint32_t vs_event[2];
static uint64_t my_cid;
static uint32_t port = 7000;

static void wait_ms(uint64_t ms)
{
  uint64_t until = virtio_ticks + ms;
  while (virtio_ticks < until)
    __asm__ volatile("sti; hlt; cli");
}

/* ---- vsock ---- */

static void vs_send(uint16_t op, const char *p, uint32_t len)
{
  static struct vs_hdr h;
  static char payload[64];
  h = (struct vs_hdr){my_cid, 2, port, 1234, len, 1, op, 0, 4096, 0};
  memcpy(payload, p, len);
  struct vbuf b[2] = {{&h, sizeof(h), false}, {payload, len, false}};
  vq_call(vs, &vtx, b, len ? 2 : 1);
}

/* The next packet for our port with `op` (others are given back). */
static bool vs_expect(uint16_t op, char *payload)
{
  uint32_t head, len;
  while (vq_wait(vs, &vrx, 5000) && vq_get(&vrx, &head, &len)) {
    uint8_t *r = (uint8_t *)vrx.desc[head].addr;
    struct vs_hdr h;
    memcpy(&h, r, sizeof(h));
    uint32_t n = h.len < 63 ? h.len : 63;
    memcpy(payload, r + sizeof(h), n);
    payload[n] = 0;
    vq_add(&vrx, &(struct vbuf){r, sizeof(vs_rx[0]), true}, 1);
    vq_kick(vs, &vrx);
    if (h.dst_port == port && h.op == op)
      return true;
  }
  return false;
}

static void vs_echo(const char *line)
{
  char p[64];
  port++;
  vs_send(REQUEST, NULL, 0);
  bool ok = vs_expect(RESPONSE, p);
  vs_send(RW, line, (uint32_t)strlen(line));
  ok = ok && vs_expect(RW, p);
  printf("vloop: vsock echo %s '%s'\n", ok ? "ok" : "FAILED", ok ? p : "");
  /* the connection stays open: a snapshot now catches it */
}

static void vs_setup(void)
{
  bool ok = virtio_init(vs, 0) && virtio_queue(vs, &vrx, 0) && virtio_queue(vs, &vtx, 1) &&
            virtio_queue(vs, &vev, 2);
  my_cid = virtio_config32(vs, 0) | (uint64_t)virtio_config32(vs, 4) << 32;
  for (int i = 0; i < 4; i++)
    vq_add(&vrx, &(struct vbuf){vs_rx[i], sizeof(vs_rx[i]), true}, 1);
  vq_add(&vev, &(struct vbuf){vs_event, sizeof(vs_event), true}, 1);
  virtio_ready(vs);
  vq_kick(vs, &vrx);
  vq_kick(vs, &vev);
  printf("vloop: vsock cid %lu %s\n", my_cid, ok ? "ready" : "FAILED");
  vs_echo("hello before\n");
}

static void vs_poll_events(void)
{
  uint32_t head, len;
  while (vq_get(&vev, &head, &len)) {
    printf("vloop: vsock event %u (%s)\n", vs_event[0], vs_event[0] == 0 ? "transport reset" : "?");
    vq_add(&vev, &(struct vbuf){vs_event, sizeof(vs_event), true}, 1);
    vq_kick(vs, &vev);
    if (vs_event[0] == 0)
      vs_echo("hello after\n");
  }
}

/* ---- one round ---- */
struct blk_hdr {
  uint32_t type, reserved;
  uint64_t sector;
};

static bool blk_io(uint32_t type, void *buf)
{
  static struct blk_hdr h;
  static uint8_t status;
  h = (struct blk_hdr){type, 0, 1};
  status = 0xee;
  struct vbuf b[3] = {{&h, sizeof(h), false}, {buf, 512, type == 0}, {&status, 1, true}};
  return vq_call(blk, &bq, b, 3) >= 0 && status == 0;
}

static bool round_trip(uint64_t n)
{
  static uint8_t r[16];
  bool ok = true;
  char line[32] = "vloop round ";
  int at = 12;
  char digits[20];
  int nd = 0;
  for (uint64_t v = n; nd == 0 || v; v /= 10)
    digits[nd++] = (char)('0' + v % 10);
  while (nd)
    line[at++] = digits[--nd];
  line[at] = 0;
  if (rng)
    ok &= vq_call(rng, &rq, &(struct vbuf){r, sizeof(r), true}, 1) == sizeof(r);
  if (blk) {
    memset(sector, 0, sizeof(sector));
    memcpy(sector, line, (size_t)at + 1);
    ok &= blk_io(1, sector);
    memset(sector, 0, sizeof(sector));
    ok &= blk_io(0, sector) && !memcmp(sector, line, (size_t)at + 1);
  }
  if (net) {
    uint32_t head, len;
    while (vq_get(&nrx, &head, &len)) { /* whatever came in: the buffer goes back */
      vq_add(&nrx, &(struct vbuf){(void *)nrx.desc[head].addr, sizeof(net_rx[0]), true}, 1);
      vq_kick(net, &nrx);
    }
    memset(net_tx, 0, sizeof(net_tx));
    uint8_t *f = net_tx + 12;
    memset(f, 0xff, 6);
    for (int i = 0; i < 6; i++)
      f[6 + i] = virtio_config8(net, (uint32_t)i);
    f[12] = 0x88;
    f[13] = 0xb5;
    memcpy(f + 14, line, (size_t)at);
    ok &= vq_call(net, &ntx, &(struct vbuf){net_tx, sizeof(net_tx), false}, 1) >= 0;
  }
  return ok;
}

void guest_main(void)
{
  struct bootinfo b;
  static struct vdev devs[9];
  bootinfo_read(&b);
  virtio_irq_setup();
  int n = virtio_find(b.cmdline, devs, 9);
  for (int i = 0; i < n; i++) {
    struct vdev *d = &devs[i];
    if (d->id == 4 && virtio_init(d, 0) && virtio_queue(d, &rq, 0))
      rng = d;
    else if (d->id == 2 && virtio_init(d, 0) && virtio_queue(d, &bq, 0))
      blk = d;
    else if (d->id == 1 && virtio_init(d, NET_F_MAC) && virtio_queue(d, &nrx, 0) &&
             virtio_queue(d, &ntx, 1)) {
      net = d;
      for (int k = 0; k < 2; k++)
        vq_add(&nrx, &(struct vbuf){net_rx[k], sizeof(net_rx[k]), true}, 1);
    } else if (d->id == 19) {
      vs = d;
      continue;
    } else {
      continue;
    }
    virtio_ready(d);
  }
  if (net)
    vq_kick(net, &nrx);
  printf("isola-test: vloop, %d devices:%s%s%s%s\n", n, rng ? " rng" : "", blk ? " blk" : "",
         net ? " net" : "", vs ? " vsock" : "");
  if (vs)
    vs_setup();
  boot_done();
  for (uint64_t round = 1;; round++) {
    bool ok = round_trip(round);
    printf("vloop: round %lu %s\n", round, ok ? "ok" : "FAILED");
    if (vs)
      vs_poll_events();
    wait_ms(20);
  }
}

void ap_main(int index)
{
  (void)index;
}
