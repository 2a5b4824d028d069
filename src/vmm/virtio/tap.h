/* Tap devices for virtio-net: open (or create) a tap by name with the
 * 12-byte virtio-net header on every frame, and set the offloads the guest
 * accepted. */
#ifndef ISOLA_VMM_VIRTIO_TAP_H
#define ISOLA_VMM_VIRTIO_TAP_H

#include <stdbool.h>

#include "common/err.h"

#define TAP_VNET_HDR 12 /* struct virtio_net_hdr_v1, §5.1.6 */

/* A non-blocking fd on tap `name`: an existing persistent tap is attached,
 * otherwise a tap lives as long as the fd. */
int tap_open(const char *name, err_t *err);
/* Offloads the guest can take: partial checksums, TSO over IPv4/IPv6. */
int tap_set_offload(int fd, bool csum, bool tso4, bool tso6, err_t *err);

#endif
