/* virtio-vsock's host side: one connection per guest stream, over a Unix
 * socket (internal to vsock.c and vsock_conn.c). */
#ifndef ISOLA_VMM_VIRTIO_VSOCK_CONN_H
#define ISOLA_VMM_VIRTIO_VSOCK_CONN_H

#include "vmm/virtio/vsock.h"

/* §5.10.6 operations. */
enum {
  VSOCK_OP_REQUEST = 1, VSOCK_OP_RESPONSE = 2, VSOCK_OP_RST = 3, VSOCK_OP_SHUTDOWN = 4,
  VSOCK_OP_RW = 5, VSOCK_OP_CREDIT_UPDATE = 6, VSOCK_OP_CREDIT_REQUEST = 7,
};
#define VSOCK_TYPE_STREAM 1
#define VSOCK_SHUTDOWN_RCV 1
#define VSOCK_SHUTDOWN_SEND 2

enum conn_state {
  CONN_LINE,        /* host connected; reading "CONNECT <port>\n" */
  CONN_CONNECTING,  /* REQUEST sent to the guest, waiting for RESPONSE */
  CONN_ESTABLISHED,
};

struct vsock_conn {
  struct vsock_conn *next;
  struct virtio_vsock *v;
  int fd;
  enum conn_state state;
  uint32_t local_port, peer_port; /* host side, guest side */
  char line[32];
  size_t line_len;
  uint8_t *buf; /* guest → host bytes the socket has not taken yet */
  size_t buf_len;
  uint32_t fwd_cnt, fwd_sent;           /* bytes passed to the socket; last told the guest */
  uint32_t rx_cnt;                      /* bytes sent to the guest */
  uint32_t peer_buf_alloc, peer_fwd_cnt; /* the guest's receive window */
  bool readable;                        /* the socket may have data (edge-triggered) */
  bool shut_wr;                         /* the guest will send no more: SHUT_WR once drained */
  bool host_eof;                        /* told the guest the host closed */
};

/* Queue a control packet for the guest about `c` (or, without a
 * connection, for the ports given). */
void vsock_ctrl(struct virtio_vsock *v, struct vsock_conn *c, uint32_t local, uint32_t peer,
                uint16_t op, uint32_t flags);
/* The driver reset the device since we last looked: every connection was
 * closed (true). */
bool vsock_sync_gen(struct virtio_vsock *v);
/* Deliver queued control packets and host data to the guest. */
void vsock_rx(struct virtio_vsock *v);

struct vsock_conn *vsock_conn_find(struct virtio_vsock *v, uint32_t local, uint32_t peer);
/* The guest asked for host port `port` from its port `peer`: the new
 * connection, or NULL (an RST is queued). */
struct vsock_conn *vsock_conn_guest_connect(struct virtio_vsock *v, uint32_t port, uint32_t peer);
/* Payload of an RW packet: buffered and written to the socket. */
int vsock_conn_write(struct vsock_conn *c, const uint8_t *data, uint32_t len);
/* -1: out of memory, the connection was reset and freed. */
int vsock_conn_established(struct vsock_conn *c);
void vsock_conn_shutdown(struct vsock_conn *c, uint32_t flags);
void vsock_conn_close(struct vsock_conn *c);
void vsock_conn_close_all(struct virtio_vsock *v);

#endif
