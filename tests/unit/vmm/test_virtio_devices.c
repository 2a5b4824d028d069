/* virtio-blk, -net, -console, -rng and -vsock request handling on a fake
 * guest memory, with the fake driver of fakedriver.h (virtio 1.2 §5.1-§5.4,
 * §5.10). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fakedriver.h"
#include "vmm/layout.h"
#include "vmm/virtio/blk.h"
#include "vmm/virtio/console.h"
#include "vmm/virtio/net.h"
#include "vmm/virtio/rng.h"
#include "vmm/virtio/vsock.h"

static struct guest_mem gm;
static struct virtio_mmio m;
static char dir[] = "/tmp/isola-blk-XXXXXX", img[64];

static void setup(void)
{
  cr_assert_eq(guest_mem_create(&gm, 16 * MiB, false, NULL), 0);
  cr_assert_not_null(mkdtemp(dir));
  snprintf(img, sizeof(img), "%s/disk.img", dir);
  int fd = open(img, O_CREAT | O_RDWR, 0600);
  cr_assert(fd >= 0);
  cr_assert_eq(pwrite(fd, "sector-zero", 11, 0), 11);
  cr_assert_eq(ftruncate(fd, 1 << 20), 0);
  close(fd);
}
static void teardown(void)
{
  virtio_mmio_destroy(&m);
  guest_mem_destroy(&gm);
  unlink(img);
  rmdir(dir);
}
TestSuite(blk, .init = setup, .fini = teardown);
TestSuite(rng, .init = setup, .fini = teardown);
TestSuite(vsock, .init = setup, .fini = teardown);
TestSuite(net, .init = setup, .fini = teardown);
TestSuite(console, .init = setup, .fini = teardown);

struct hdr {
  uint32_t type, reserved;
  uint64_t sector;
};
#define HDR_AT FD_DATA
#define BUF_AT (FD_DATA + 0x1000)
#define ST_AT (FD_DATA + 0x100)

static struct virtio_blk blk;

static void blk_open(bool ro, bool sync_io, const char *id)
{
  struct virtio_blk_config cfg = {.path = img, .ro = ro, .id = id, .sync_io = sync_io};
  cr_assert_eq(virtio_blk_open(&blk, &cfg, NULL), 0);
  virtio_mmio_init(&m, virtio_blk_ops(&blk), &blk, &gm, (struct irq_line){0});
  blk.m = &m;
  fd_init(&m, 1, 0);
}

/* One request; returns the status byte, the used length in *used. */
static int blk_req(uint32_t type, uint64_t sector, uint32_t len, bool data_in, uint32_t *used)
{
  struct hdr h = {type, 0, sector};
  uint8_t st = 0xee;
  guest_mem_write(&gm, HDR_AT, &h, sizeof(h), NULL);
  guest_mem_write(&gm, ST_AT, &st, 1, NULL);
  struct fd_buf b[3] = {{HDR_AT, sizeof(h), false}, {BUF_AT, len, data_in}, {ST_AT, 1, true}};
  if (len)
    fd_send(&m, 0, b, 3);
  else
    fd_send(&m, 0, (struct fd_buf[]){b[0], b[2]}, 2);
  /* io_uring completes on its own time: wait for it. */
  for (int i = 0; i < 2000 && !fd_take(&m, 0, used); i++) {
    if (blk.io.uring)
      virtio_blk_on_event(&blk, 0);
    usleep(500);
  }
  guest_mem_read(&gm, ST_AT, &st, 1, NULL);
  return st;
}

static void read_write_flush(bool sync_io)
{
  blk_open(false, sync_io, "serial-1");
  uint32_t used;
  cr_assert_eq(blk_req(0, 0, 512, true, &used), 0);
  cr_assert_eq(used, 513, "512 bytes of data and the status byte");
  char buf[16] = {0};
  guest_mem_read(&gm, BUF_AT, buf, 11, NULL);
  cr_assert_str_eq(buf, "sector-zero");
  guest_mem_write(&gm, BUF_AT, "written-by-guest", 16, NULL);
  cr_assert_eq(blk_req(1, 3, 512, false, &used), 0);
  cr_assert_eq(used, 1);
  cr_assert_eq(blk_req(4, 0, 0, false, &used), 0, "flush");
  int fd = open(img, O_RDONLY);
  cr_assert_eq(pread(fd, buf, 16, 3 * 512), 16);
  close(fd);
  cr_assert_eq(memcmp(buf, "written-by-guest", 16), 0);
  virtio_blk_close(&blk);
}

Test(blk, reads_writes_and_flushes_synchronously)
{
  read_write_flush(true);
}

Test(blk, reads_writes_and_flushes_through_io_uring)
{
  read_write_flush(false);
}

/* Before a snapshot the device loop quiesces each disk: every request in
 * flight is answered, so none is lost between the two processes. */
Test(blk, quiesce_answers_every_request_in_flight)
{
  blk_open(false, false, NULL);
  cr_assert(blk.io.uring, "io_uring is available here");
  struct hdr h = {0, 0, 0};
  guest_mem_write(&gm, HDR_AT, &h, sizeof(h), NULL);
  struct fd_buf b[3] = {{HDR_AT, sizeof(h), false}, {BUF_AT, 4096, true}, {ST_AT, 1, true}};
  fd_send(&m, 0, b, 3);
  virtio_blk_quiesce(&blk);
  cr_assert_eq(blk.io.inflight, 0);
  uint32_t used;
  cr_assert(fd_take(&m, 0, &used), "answered without another trip through the loop");
  cr_assert_eq(used, 4097);
  virtio_blk_close(&blk);
}

static int quiesced;
static void count_quiesce(void *ctx)
{
  quiesced++;
}

Test(blk, a_paused_device_loop_ran_its_quiesce_hooks_and_resumes)
{
  struct evloop loop;
  cr_assert_eq(evloop_init(&loop, NULL), 0);
  cr_assert_eq(evloop_on_quiesce(&loop, count_quiesce, NULL, NULL), 0);
  evloop_pause(&loop); /* not running: nothing to wait for */
  cr_assert_eq(quiesced, 0);
  cr_assert_eq(evloop_start(&loop, NULL), 0);
  evloop_pause(&loop);
  cr_assert_eq(quiesced, 1);
  cr_assert(loop.parked);
  evloop_resume(&loop);
  evloop_pause(&loop);
  cr_assert_eq(quiesced, 2, "paused again after a resume");
  evloop_resume(&loop);
  evloop_destroy(&loop);
}

Test(blk, get_id_returns_the_serial)
{
  blk_open(false, true, "serial-1");
  uint32_t used;
  cr_assert_eq(blk_req(8, 0, 20, true, &used), 0);
  char id[21] = {0};
  guest_mem_read(&gm, BUF_AT, id, 20, NULL);
  cr_assert_str_eq(id, "serial-1");
  virtio_blk_close(&blk);
}

Test(blk, refuses_transfers_past_the_end_and_partial_sectors)
{
  blk_open(false, true, NULL);
  uint32_t used;
  cr_assert_eq(blk_req(0, 2048, 512, true, &used), 1, "sector 2048 of a 1 MiB disk is past the end");
  cr_assert_eq(blk_req(0, 2047, 1024, true, &used), 1, "runs over the end");
  cr_assert_eq(blk_req(0, UINT64_MAX, 512, true, &used), 1, "no overflow in the bounds check");
  cr_assert_eq(blk_req(0, 0, 100, true, &used), 1, "not a whole sector");
  cr_assert_eq(blk_req(0, 2047, 512, true, &used), 0, "the last sector");
  virtio_blk_close(&blk);
}

Test(blk, rejects_writes_to_a_read_only_disk)
{
  blk_open(true, true, NULL);
  cr_assert(virtio_blk_ops(&blk)->features & (1ULL << 5), "offers VIRTIO_BLK_F_RO");
  uint32_t used;
  cr_assert_eq(blk_req(1, 0, 512, false, &used), 1);
  virtio_blk_close(&blk);
}

Test(blk, unknown_request_types_are_unsupported)
{
  blk_open(false, true, NULL);
  uint32_t used;
  cr_assert_eq(blk_req(99, 0, 0, false, &used), 2);
  virtio_blk_close(&blk);
}

Test(blk, discard_and_write_zeroes_read_back_as_zeroes)
{
  blk_open(false, true, NULL);
  uint32_t used;
  struct {
    uint64_t sector;
    uint32_t num, flags;
  } seg = {0, 8, 0};
  guest_mem_write(&gm, BUF_AT, &seg, sizeof(seg), NULL);
  cr_assert_eq(blk_req(11, 0, sizeof(seg), false, &used), 0, "discard");
  cr_assert_eq(blk_req(0, 0, 512, true, &used), 0);
  uint8_t zero[16] = {0}, got[16];
  guest_mem_read(&gm, BUF_AT, got, 16, NULL);
  cr_assert_eq(memcmp(got, zero, 16), 0);
  seg.flags = 2; /* unknown flag */
  guest_mem_write(&gm, BUF_AT, &seg, sizeof(seg), NULL);
  cr_assert_eq(blk_req(13, 0, sizeof(seg), false, &used), 1);
  virtio_blk_close(&blk);
}

Test(blk, a_second_writer_is_refused)
{
  blk_open(false, true, NULL);
  struct virtio_blk other;
  err_t e = NULL;
  struct virtio_blk_config cfg = {.path = img};
  cr_assert_eq(virtio_blk_open(&other, &cfg, &e), -1);
  cr_assert(strstr(err_msg(e), "is in use by another VM"), "%s", err_msg(e));
  err_free(&e);
  virtio_blk_close(&other);
  virtio_blk_close(&blk);
}

Test(rng, fills_the_buffer)
{
  struct virtio_rng r = {0};
  virtio_mmio_init(&m, &virtio_rng_ops, &r, &gm, (struct irq_line){0});
  fd_init(&m, 1, 0);
  fd_send(&m, 0, (struct fd_buf[]){{BUF_AT, 64, true}}, 1);
  uint32_t used;
  cr_assert(fd_take(&m, 0, &used));
  cr_assert_eq(used, 64);
  cr_assert_eq(r.bytes, 64);
}

Test(rng, the_pages_the_device_writes_are_marked_for_a_diff_snapshot)
{
  /* KVM logs only the guest's writes: the used ring and the buffer the
   * device fills must be marked by the VMM, or a Diff misses them */
  cr_assert_eq(guest_mem_track_dirty(&gm, NULL), 0);
  struct virtio_rng r = {0};
  virtio_mmio_init(&m, &virtio_rng_ops, &r, &gm, (struct irq_line){0});
  fd_init(&m, 1, 0);
  guest_mem_clear_dirty(&gm);
  fd_send(&m, 0, (struct fd_buf[]){{BUF_AT, 64, true}}, 1);
  guest_mem_clear_dirty(&gm); /* the driver's own writes: KVM's part */
  fd_send(&m, 0, (struct fd_buf[]){{BUF_AT + 0x3000, 64, true}}, 1);
  uint32_t used;
  cr_assert(fd_take(&m, 0, &used) && fd_take(&m, 0, &used));
  cr_assert(guest_mem_is_dirty(&gm, FD_QBASE(0) + 0x2000), "the used ring");
  cr_assert(guest_mem_is_dirty(&gm, BUF_AT + 0x3000), "the buffer it filled");
  cr_assert_not(guest_mem_is_dirty(&gm, BUF_AT + 0x6000), "a page nobody wrote");
}

static struct virtio_vsock vs;
static struct evloop loop;

static void vsock_open(void)
{
  char uds[96];
  snprintf(uds, sizeof(uds), "%s/v.sock", dir);
  cr_assert_eq(evloop_init(&loop, NULL), 0);
  struct virtio_vsock_config cfg = {.cid = 7, .uds = uds};
  cr_assert_eq(virtio_vsock_open(&vs, &cfg, &loop, NULL), 0);
  virtio_mmio_init(&m, &virtio_vsock_ops, &vs, &gm, (struct irq_line){0});
  vs.m = &m;
  fd_init(&m, 3, 0);
  fd_send(&m, 0, (struct fd_buf[]){{BUF_AT, 512, true}}, 1); /* one receive buffer */
}

static void vsock_close(void)
{
  virtio_vsock_close(&vs);
  evloop_destroy(&loop);
}

Test(vsock, reports_its_cid)
{
  vsock_open();
  uint64_t cid = 0;
  virtio_vsock_ops.config_read(&vs, 0, (uint8_t *)&cid, 8);
  cr_assert_eq(cid, 7);
  vsock_close();
}

Test(vsock, a_connection_to_a_port_nobody_serves_is_reset)
{
  vsock_open();
  struct vsock_hdr h = {.src_cid = 7, .dst_cid = 2, .src_port = 999, .dst_port = 4242, .type = 1,
                        .op = 1 /* REQUEST */, .buf_alloc = 4096};
  guest_mem_write(&gm, HDR_AT, &h, sizeof(h), NULL);
  fd_send(&m, 1, (struct fd_buf[]){{HDR_AT, sizeof(h), false}}, 1);
  uint32_t used;
  cr_assert(fd_take(&m, 0, &used));
  cr_assert_eq(used, sizeof(h));
  struct vsock_hdr r;
  guest_mem_read(&gm, BUF_AT, &r, sizeof(r), NULL);
  cr_assert_eq(r.op, 3, "RST");
  cr_assert_eq(r.dst_port, 999);
  cr_assert_eq(r.src_port, 4242);
  cr_assert_eq(r.dst_cid, 7);
  vsock_close();
}

Test(vsock, a_packet_longer_than_its_buffers_marks_the_device_broken)
{
  vsock_open();
  struct vsock_hdr h = {.src_cid = 7, .dst_cid = 2, .type = 1, .op = 5, .len = 100000};
  guest_mem_write(&gm, HDR_AT, &h, sizeof(h), NULL);
  fd_send(&m, 1, (struct fd_buf[]){{HDR_AT, sizeof(h), false}}, 1);
  cr_assert(virtio_mmio_read(&m, 0x70) & VIRTIO_STATUS_NEEDS_RESET);
  vsock_close();
}

Test(vsock, packets_from_a_wrong_cid_are_not_accepted)
{
  vsock_open();
  struct vsock_hdr h = {.src_cid = 8, .dst_cid = 2, .src_port = 1, .dst_port = 2, .type = 1,
                        .op = 1};
  guest_mem_write(&gm, HDR_AT, &h, sizeof(h), NULL);
  fd_send(&m, 1, (struct fd_buf[]){{HDR_AT, sizeof(h), false}}, 1);
  uint32_t used;
  cr_assert(fd_take(&m, 0, &used), "answered with a reset");
  struct vsock_hdr r;
  guest_mem_read(&gm, BUF_AT, &r, sizeof(r), NULL);
  cr_assert_eq(r.op, 3);
  cr_assert_eq(vs.conns, NULL, "no connection made");
  vsock_close();
}

/* virtio-net over a socketpair standing in for the tap: a SOCK_SEQPACKET
 * keeps frame boundaries as a tap does, vnet header first. */
static struct virtio_net net;
static int wire[2];

static void net_open(bool mrg)
{
  cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, wire), 0);
  memset(&net, 0, sizeof(net));
  net.tap_fd = wire[0];
  net.frame = malloc(NET_FRAME_MAX);
  uint8_t mac[6] = {6, 0, 0, 0, 0, 9};
  memcpy(net.mac, mac, 6);
  net.has_mac = true;
  virtio_mmio_init(&m, virtio_net_ops(&net), &net, &gm, (struct irq_line){0});
  net.m = &m;
  fd_init(&m, 2, mrg ? 1ULL << 15 : 0); /* VIRTIO_NET_F_MRG_RXBUF */
  net.mrg_rxbuf = mrg;
}

static void net_close(void)
{
  virtio_net_close(&net);
  close(wire[1]);
}

Test(net, config_has_the_mac_and_link_up)
{
  net_open(false);
  uint8_t cfg[8] = {0};
  virtio_net_ops(&net)->config_read(&net, 0, cfg, 8);
  cr_assert_eq(cfg[5], 9);
  cr_assert_eq(cfg[6], 1, "VIRTIO_NET_S_LINK_UP");
  net_close();
}

Test(net, a_transmitted_frame_reaches_the_tap_with_its_header)
{
  net_open(false);
  uint8_t frame[12 + 60] = {0};
  memcpy(frame + 12 + 14, "guest-frame", 11);
  guest_mem_write(&gm, BUF_AT, frame, sizeof(frame), NULL);
  fd_send(&m, 1, (struct fd_buf[]){{BUF_AT, 12, false}, {BUF_AT + 12, 60, false}}, 2);
  uint8_t got[128];
  cr_assert_eq(read(wire[1], got, sizeof(got)), (ssize_t)sizeof(frame));
  cr_assert_eq(memcmp(got + 12 + 14, "guest-frame", 11), 0);
  uint32_t used;
  cr_assert(fd_take(&m, 1, &used));
  cr_assert_eq(net.tx_frames, 1);
  net_close();
}

Test(net, a_received_frame_waits_for_buffers_then_spreads_over_merged_ones)
{
  net_open(true);
  uint8_t frame[12 + 3000];
  memset(frame, 0, 12);
  for (int i = 12; i < (int)sizeof(frame); i++)
    frame[i] = (uint8_t)i;
  cr_assert_eq(write(wire[1], frame, sizeof(frame)), (ssize_t)sizeof(frame));
  virtio_net_on_tap(&net, 0); /* no receive buffers yet: the frame waits */
  uint32_t used;
  cr_assert_not(fd_take(&m, 0, &used));
  for (int i = 0; i < 3; i++)
    fd_send(&m, 0, (struct fd_buf[]){{BUF_AT + 0x1000ULL * (uint64_t)i, 1500, true}}, 1);
  uint32_t lens[3] = {0};
  int n = 0;
  while (n < 3 && fd_take(&m, 0, &lens[n]))
    n++;
  cr_assert_eq(n, 3, "3012 bytes over three 1500-byte buffers");
  cr_assert_eq(lens[0] + lens[1] + lens[2], sizeof(frame));
  uint16_t nbuf;
  guest_mem_read(&gm, BUF_AT + 10, &nbuf, 2, NULL);
  cr_assert_eq(nbuf, 3, "num_buffers in the first header");
  uint8_t tail[4];
  guest_mem_read(&gm, BUF_AT + 0x2000, tail, 4, NULL);
  cr_assert_eq(tail[0], frame[3000], "the third buffer continues the frame");
  net_close();
}

Test(net, without_merged_buffers_a_frame_too_big_for_one_is_dropped)
{
  net_open(false);
  uint8_t frame[12 + 3000] = {0};
  cr_assert_eq(write(wire[1], frame, sizeof(frame)), (ssize_t)sizeof(frame));
  fd_send(&m, 0, (struct fd_buf[]){{BUF_AT, 1500, true}}, 1);
  uint32_t used;
  cr_assert(fd_take(&m, 0, &used));
  cr_assert_eq(used, 0, "the buffer comes back empty");
  cr_assert_eq(net.rx_dropped, 1);
  net_close();
}

/* virtio-console over its Unix socket. */
Test(console, carries_bytes_both_ways_with_a_client)
{
  struct virtio_console con;
  char path[96];
  snprintf(path, sizeof(path), "%s/c.sock", dir);
  cr_assert_eq(evloop_init(&loop, NULL), 0);
  cr_assert_eq(virtio_console_open(&con, path, &loop, NULL), 0);
  virtio_mmio_init(&m, &virtio_console_ops, &con, &gm, (struct irq_line){0});
  con.m = &m;
  fd_init(&m, 2, 0);
  int c = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
  cr_assert_eq(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
  evloop_poll_once(&loop, 1000); /* accept */
  cr_assert_eq(write(c, "host-line\n", 10), 10);
  fd_send(&m, 0, (struct fd_buf[]){{BUF_AT, 64, true}}, 1);
  evloop_poll_once(&loop, 1000);
  uint32_t used = 0;
  cr_assert(fd_take(&m, 0, &used));
  cr_assert_eq(used, 10);
  guest_mem_write(&gm, BUF_AT + 0x1000, "guest-line\n", 11, NULL);
  fd_send(&m, 1, (struct fd_buf[]){{BUF_AT + 0x1000, 11, false}}, 1);
  char got[16] = {0};
  cr_assert_eq(read(c, got, sizeof(got)), 11);
  cr_assert_str_eq(got, "guest-line\n");
  close(c);
  virtio_console_close(&con);
  evloop_destroy(&loop);
  cr_assert_neq(access(path, F_OK), 0, "the socket file is removed");
}
