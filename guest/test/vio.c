/* Drives the VMM's virtio devices (issue #6) with the small driver in
 * virtio.c and prints what happened, for tests/e2e/test_vmm_virtio.py:
 *  rng    reads random bytes twice (they differ; the interrupt arrives)
 *  blk    prints capacity, serial and sector 0 of each disk, writes sector 1
 *         and reads it back, checks an out-of-range read fails; on a
 *         read-only disk checks that writes fail
 *  net    sends an Ethernet frame (type 0x88b5) and prints the one it gets
 *  console waits for a line on the virtio-console and answers "pong: <line>"
 *  vsock  connects to host port 1234 and echoes a line through it, then
 *         accepts a host connection to port 5000 and answers in upper case
 * isola.hostile=1 first corrupts the rng queue (an available index far past
 * the ring): the device must report NEEDS_RESET, and work again after the
 * driver resets it.
 * isola.mib=N on a disk reads then writes N MiB in 1 MiB requests, then makes
 * isola.iops=K 4 KiB reads at scattered sectors, each phase between "bench:
 * start X" and "bench: end X" lines (bench/blk times them). */
#include "virtio.h"

#define BLK_F_RO (1ULL << 5)
#define BLK_F_FLUSH (1ULL << 9)
#define NET_F_MAC (1ULL << 5)
#define NET_F_STATUS (1ULL << 16)

static struct vq q0 __attribute__((aligned(4096))), q1 __attribute__((aligned(4096))),
    q2 __attribute__((aligned(4096)));
static uint8_t data[1 << 20] __attribute__((aligned(4096)));
static int failures;

static void check(bool ok, const char *what)
{
  printf("%s: %s\n", what, ok ? "ok" : "FAILED");
  failures += !ok;
}

static void hostile_rng(struct vdev *d)
{
  static uint8_t a[32];
  virtio_init(d, 0);
  virtio_queue(d, &q0, 0);
  virtio_ready(d);
  q0.avail.idx = (uint16_t)(q0.avail.idx + 1000); /* more entries than the ring holds */
  vq_kick(d, &q0);
  uint64_t until = virtio_ticks + 2000;
  while (!(virtio_status(d) & 0x40) && virtio_ticks < until)
    __asm__ volatile("sti; hlt; cli");
  check(virtio_status(d) & 0x40, "rng: a corrupt ring gets the device NEEDS_RESET");
  bool ok = virtio_init(d, 0) && virtio_queue(d, &q0, 0);
  virtio_ready(d);
  ok = ok && !(virtio_status(d) & 0x40) && vq_call(d, &q0, &(struct vbuf){a, 32, true}, 1) == 32;
  check(ok, "rng: works again after a reset");
}

static void test_rng(struct vdev *d)
{
  static uint8_t a[32], b[32];
  bool ok = virtio_init(d, 0) && virtio_queue(d, &q0, 0);
  virtio_ready(d);
  ok = ok && vq_call(d, &q0, &(struct vbuf){a, 32, true}, 1) == 32 &&
       vq_call(d, &q0, &(struct vbuf){b, 32, true}, 1) == 32;
  /* Completions seen by polling leave their interrupt pending until
   * interrupts are on again: give it the chance to arrive. */
  uint64_t until = virtio_ticks + 1000;
  while (!d->irqs && virtio_ticks < until)
    __asm__ volatile("sti; hlt; cli");
  printf("rng: %02x%02x%02x%02x%02x%02x%02x%02x..., %u interrupts\n", a[0], a[1], a[2], a[3],
         a[4], a[5], a[6], a[7], d->irqs);
  check(ok && memcmp(a, b, 32) != 0 && d->irqs > 0, "rng: two reads differ, interrupts arrive");
}

struct blk_hdr {
  uint32_t type, reserved;
  uint64_t sector;
};

static int blk_io(struct vdev *d, uint32_t type, uint64_t sector, void *buf, uint32_t len)
{
  static struct blk_hdr h;
  static uint8_t status;
  h = (struct blk_hdr){type, 0, sector};
  status = 0xee;
  struct vbuf b[3] = {{&h, sizeof(h), false}, {buf, len, type != 1}, {&status, 1, true}};
  int n = len ? 3 : 2;
  if (!len)
    b[1] = b[2];
  if (vq_call(d, &q0, b, n) < 0)
    return -1;
  return status;
}

static void test_blk_ring_features(struct vdev *d);

static void test_blk(struct vdev *d, int index)
{
  bool ok = virtio_init(d, BLK_F_RO | BLK_F_FLUSH) && virtio_queue(d, &q0, 0);
  virtio_ready(d);
  uint64_t sectors = virtio_config32(d, 0) | (uint64_t)virtio_config32(d, 4) << 32;
  bool ro = d->features & BLK_F_RO;
  char id[21] = {0};
  ok = ok && blk_io(d, 8, 0, id, 20) == 0;
  printf("blk%d: %lu sectors, %s, serial '%s'\n", index, sectors, ro ? "read-only" : "read-write",
         id);
  memset(data, 0, 512);
  ok = ok && blk_io(d, 0, 0, data, 512) == 0;
  data[63] = 0;
  printf("blk%d: sector 0 says '%s'\n", index, (const char *)data);
  check(ok, "blk: identify and read");
  static const char msg[] = "isola-guest-wrote-this";
  memset(data, 0, 512);
  memcpy(data, msg, sizeof(msg));
  int w = blk_io(d, 1, 1, data, 512);
  if (ro) {
    check(w == 1, "blk: a write to a read-only disk fails");
  } else {
    memset(data, 0, 512);
    check(w == 0 && blk_io(d, 4, 0, NULL, 0) == 0 && blk_io(d, 0, 1, data, 512) == 0 &&
              !memcmp(data, msg, sizeof(msg)),
          "blk: write, flush, read back");
  }
  check(blk_io(d, 0, sectors, data, 512) == 1, "blk: a read past the end fails");
  if (index == 0)
    test_blk_ring_features(d);
}

/* The same requests with VIRTIO_F_EVENT_IDX and indirect descriptors: the
 * device must publish avail_event (or kicks stop) and honour used_event. */
static void test_blk_ring_features(struct vdev *d)
{
  bool ok = virtio_init(d, BLK_F_FLUSH | VIRTIO_F_EVENT_IDX | VIRTIO_F_INDIRECT_DESC) &&
            (d->features & VIRTIO_F_EVENT_IDX) && (d->features & VIRTIO_F_INDIRECT_DESC) &&
            virtio_queue(d, &q0, 0);
  virtio_ready(d);
  uint32_t irqs = d->irqs;
  for (int i = 0; i < 40 && ok; i++) /* more than twice round the 16-entry ring */
    ok = blk_io(d, 0, (uint64_t)i, data, 512) == 0;
  printf("blk: 40 requests, %u kicks, %u interrupts\n", q0.kicks, d->irqs - irqs);
  check(ok && q0.kicks > 0, "blk: event index and indirect descriptors");
}

static void bench_blk(struct vdev *d, uint64_t mib, uint64_t iops)
{
  virtio_init(d, BLK_F_FLUSH);
  virtio_queue(d, &q0, 0);
  virtio_ready(d);
  bool ok = true;
  printf("bench: start read\n");
  for (uint64_t i = 0; i < mib && ok; i++)
    ok = blk_io(d, 0, i * 2048, data, sizeof(data)) == 0;
  printf("bench: end read\n");
  printf("bench: start write\n");
  for (uint64_t i = 0; i < mib && ok; i++)
    ok = blk_io(d, 1, i * 2048, data, sizeof(data)) == 0;
  ok = ok && blk_io(d, 4, 0, NULL, 0) == 0;
  printf("bench: end write\n");
  printf("bench: start randread\n");
  uint64_t x = 12345, sectors = mib * 2048;
  for (uint64_t i = 0; i < iops && ok; i++) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    ok = blk_io(d, 0, ((x >> 33) % (sectors / 8)) * 8, data, 4096) == 0;
  }
  printf("bench: end randread\n");
  check(ok, "bench: blk");
}

static void test_net(struct vdev *d)
{
  static uint8_t rx[2][1526], tx[12 + 60];
  bool ok = virtio_init(d, NET_F_MAC | NET_F_STATUS) && virtio_queue(d, &q0, 0) &&
            virtio_queue(d, &q1, 1);
  uint8_t mac[6];
  for (int i = 0; i < 6; i++)
    mac[i] = virtio_config8(d, (uint32_t)i);
  uint8_t link = virtio_config8(d, 6);
  for (int i = 0; i < 2; i++)
    vq_add(&q0, &(struct vbuf){rx[i], sizeof(rx[i]), true}, 1);
  virtio_ready(d);
  vq_kick(d, &q0);
  printf("net: mac %02x:%02x:%02x:%02x:%02x:%02x, link %s\n", mac[0], mac[1], mac[2], mac[3],
         mac[4], mac[5], link & 1 ? "up" : "down");
  memset(tx, 0, sizeof(tx));
  uint8_t *f = tx + 12;
  memset(f, 0xff, 6);
  memcpy(f + 6, mac, 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  memcpy(f + 14, "isola-guest-frame", 17);
  ok = ok && vq_call(d, &q1, &(struct vbuf){tx, sizeof(tx), false}, 1) >= 0;
  check(ok, "net: frame sent");
  printf("net: waiting for a frame\n");
  uint32_t head, len;
  bool got = false;
  while (!got && vq_wait(d, &q0, 20000) && vq_get(&q0, &head, &len)) {
    uint8_t *r = q0.desc[head].addr == (uint64_t)rx[0] ? rx[0] : rx[1];
    if (len > 12 + 14 && r[12 + 12] == 0x88 && r[12 + 13] == 0xb5) {
      r[len < sizeof(rx[0]) ? len : sizeof(rx[0]) - 1] = 0;
      printf("net: got '%s'\n", (const char *)r + 12 + 14);
      got = true;
    }
    vq_add(&q0, &(struct vbuf){r, sizeof(rx[0]), true}, 1);
    vq_kick(d, &q0);
  }
  check(got, "net: frame received");
}

/* console: waits for a line from the host, answers "pong: <line>". */
static void test_console(struct vdev *d)
{
  static char in[128], out[160];
  bool ok = virtio_init(d, 0) && virtio_queue(d, &q0, 0) && virtio_queue(d, &q1, 1);
  virtio_ready(d);
  printf("console: waiting for the host\n");
  int64_t n = vq_call(d, &q0, &(struct vbuf){in, sizeof(in) - 1, true}, 1);
  ok = ok && n > 0;
  in[n > 0 ? n : 0] = 0;
  if (n > 0 && in[n - 1] == '\n')
    in[n - 1] = 0;
  printf("console: got '%s'\n", in);
  size_t len = strlen(in);
  memcpy(out, "pong: ", 6);
  memcpy(out + 6, in, len);
  out[6 + len] = '\n';
  ok = ok && vq_call(d, &q1, &(struct vbuf){out, (uint32_t)(len + 7), false}, 1) >= 0;
  check(ok, "console: a line each way");
}

/* bench/net: isola.netbench=N sends N 1514-byte frames (type 0x88b6) in
 * batches of 16, then counts the frames the host sends back until N arrived
 * or none came for a second. */
static void bench_net(struct vdev *d, uint64_t n)
{
  static uint8_t tx[16][12 + 1514], rx[16][12 + 1514];
  virtio_init(d, NET_F_MAC);
  virtio_queue(d, &q0, 0);
  virtio_queue(d, &q1, 1);
  for (int i = 0; i < 16; i++)
    vq_add(&q0, &(struct vbuf){rx[i], sizeof(rx[i]), true}, 1);
  virtio_ready(d);
  vq_kick(d, &q0);
  for (int i = 0; i < 16; i++) {
    memset(tx[i], 0, sizeof(tx[i]));
    memset(tx[i] + 12, 0xff, 6);
    for (int k = 0; k < 6; k++)
      tx[i][18 + k] = virtio_config8(d, (uint32_t)k);
    tx[i][24] = 0x88;
    tx[i][25] = 0xb6;
  }
  printf("bench: start tx\n");
  uint64_t sent = 0, done = 0;
  uint32_t head, len;
  while (done < n) {
    while (sent < n && sent - done < 16)
      vq_add(&q1, &(struct vbuf){tx[sent++ % 16], sizeof(tx[0]), false}, 1);
    vq_kick(d, &q1);
    if (!vq_wait(d, &q1, 5000))
      break;
    while (vq_get(&q1, &head, &len))
      done++;
  }
  printf("bench: end tx\n");
  printf("bench: ready rx\n");
  uint64_t got = 0, first = 0, last = 0;
  while (got < n && vq_wait(d, &q0, got ? 1000 : 20000)) {
    while (vq_get(&q0, &head, &len)) {
      uint8_t *r = (uint8_t *)q0.desc[head].addr;
      if (len > 26 && r[24] == 0x88 && r[25] == 0xb6) {
        if (!got++)
          first = virtio_ticks;
        last = virtio_ticks;
      }
      vq_add(&q0, &(struct vbuf){r, sizeof(rx[0]), true}, 1);
    }
    vq_kick(d, &q0);
  }
  printf("bench: rx got %lu in %lu ms\n", got, last - first);
  check(done == n, "bench: net");
}

static uint8_t vs_rx[4][512];
static uint64_t my_cid;
static uint32_t fwd;

static void vs_send(struct vdev *d, uint32_t sport, uint32_t dport, uint16_t op, const void *p,
                    uint32_t len)
{
  static struct vs_hdr h;
  static uint8_t payload[256];
  h = (struct vs_hdr){my_cid, 2, sport, dport, len, 1, op, op == SHUTDOWN ? 3 : 0, 4096, fwd};
  memcpy(payload, p, len);
  struct vbuf b[2] = {{&h, sizeof(h), false}, {payload, len, false}};
  vq_call(d, &q1, b, len ? 2 : 1);
}

/* The next packet from the host (any port), copied to *h and payload. */
static bool vs_recv(struct vdev *d, struct vs_hdr *h, char *payload)
{
  uint32_t head, len;
  if (!vq_wait(d, &q0, 20000) || !vq_get(&q0, &head, &len))
    return false;
  uint8_t *r = (uint8_t *)q0.desc[head].addr;
  memcpy(h, r, sizeof(*h));
  uint32_t n = h->len < 255 ? h->len : 255;
  memcpy(payload, r + sizeof(*h), n);
  payload[n] = 0;
  fwd += h->len;
  vq_add(&q0, &(struct vbuf){r, sizeof(vs_rx[0]), true}, 1);
  vq_kick(d, &q0);
  return true;
}

static bool vs_expect(struct vdev *d, uint16_t op, struct vs_hdr *h, char *payload)
{
  while (vs_recv(d, h, payload))
    if (h->op == op)
      return true;
  return false;
}

static void test_vsock(struct vdev *d)
{
  struct vs_hdr h;
  char p[256];
  bool ok = virtio_init(d, 0) && virtio_queue(d, &q0, 0) && virtio_queue(d, &q1, 1) &&
            virtio_queue(d, &q2, 2);
  my_cid = virtio_config32(d, 0) | (uint64_t)virtio_config32(d, 4) << 32;
  for (int i = 0; i < 4; i++)
    vq_add(&q0, &(struct vbuf){vs_rx[i], sizeof(vs_rx[i]), true}, 1);
  virtio_ready(d);
  vq_kick(d, &q0);
  printf("vsock: guest cid %lu\n", my_cid);
  /* Guest → host port 1234: an echo server on the host. */
  vs_send(d, 7777, 1234, REQUEST, NULL, 0);
  ok = ok && vs_expect(d, RESPONSE, &h, p);
  vs_send(d, 7777, 1234, RW, "ping from the guest\n", 20);
  ok = ok && vs_expect(d, RW, &h, p);
  printf("vsock: host echoed '%s'\n", ok ? p : "");
  vs_send(d, 7777, 1234, SHUTDOWN, NULL, 0);
  check(ok && !memcmp(p, "ping from the guest\n", 20), "vsock: guest-initiated echo");
  /* Host → guest port 5000. */
  printf("vsock: listening on port 5000\n");
  ok = vs_expect(d, REQUEST, &h, p) && h.dst_port == 5000;
  uint32_t host_port = h.src_port;
  fwd = 0; /* fwd_cnt counts per connection */
  vs_send(d, 5000, host_port, RESPONSE, NULL, 0);
  ok = ok && vs_expect(d, RW, &h, p);
  for (char *c = p; *c; c++)
    if (*c >= 'a' && *c <= 'z')
      *c = (char)(*c - 32);
  vs_send(d, 5000, host_port, RW, p, (uint32_t)strlen(p));
  printf("vsock: answered '%s'", p);
  vs_expect(d, SHUTDOWN, &h, p); /* the host closes */
  vs_send(d, 5000, host_port, RST, NULL, 0);
  check(ok, "vsock: host-initiated connection");
}

void guest_main(void)
{
  struct bootinfo b;
  struct vdev devs[9];
  bootinfo_read(&b);
  virtio_irq_setup();
  int n = virtio_find(b.cmdline, devs, 9);
  printf("isola-test: vio, %d virtio devices\n", n);
  uint64_t mib = cmdline_number(b.cmdline, "isola.mib", 0);
  int disks = 0;
  for (int i = 0; i < n; i++) {
    struct vdev *d = &devs[i];
    printf("virtio: device %u at 0x%lx irq %d\n", d->id, d->base, d->irq);
    if (d->id == 4 && cmdline_number(b.cmdline, "isola.hostile", 0))
      hostile_rng(d);
    if (d->id == 4)
      test_rng(d);
    else if (d->id == 2 && mib)
      bench_blk(d, mib, cmdline_number(b.cmdline, "isola.iops", 1000));
    else if (d->id == 2)
      test_blk(d, disks++);
    else if (d->id == 1 && cmdline_number(b.cmdline, "isola.netbench", 0))
      bench_net(d, cmdline_number(b.cmdline, "isola.netbench", 0));
    else if (d->id == 1)
      test_net(d);
    else if (d->id == 19)
      test_vsock(d);
    else if (d->id == 3)
      test_console(d);
    if (virtio_status(d) & 0x40) {
      printf("virtio: device %u needs a reset\n", d->id);
      failures++;
    }
  }
  boot_done();
  printf("isola-test: %s\n", failures ? "FAIL" : "PASS");
}

void ap_main(int index)
{
  (void)index;
}
