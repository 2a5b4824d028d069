#include "vmm/options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Next "key[=value]" of a comma-separated list; NULL at the end. */
static char *next_item(char **rest, char **value)
{
  char *item = strsep(rest, ",");
  if (!item)
    return NULL;
  char *eq = strchr(item, '=');
  *value = NULL;
  if (eq) {
    *eq = 0;
    *value = eq + 1;
  }
  return item;
}

int vmm_parse_disk(char *arg, struct virtio_blk_config *out, err_t *err)
{
  memset(out, 0, sizeof(*out));
  char *rest = arg, *v;
  out->path = strsep(&rest, ",");
  if (!*out->path)
    return err_make(err, EINVAL, "--disk needs a path: --disk PATH[,ro][,id=NAME][,io=uring|sync]");
  for (char *k; (k = next_item(&rest, &v));) {
    if (!strcmp(k, "ro") && !v)
      out->ro = true;
    else if (!strcmp(k, "id") && v && *v)
      out->id = v;
    else if (!strcmp(k, "io") && v && (!strcmp(v, "uring") || !strcmp(v, "sync")))
      out->sync_io = !strcmp(v, "sync");
    else
      return err_make(err, EINVAL,
                      "--disk %s: unknown option `%s%s%s`; use ro, id=NAME or io=uring|sync",
                      out->path, k, v ? "=" : "", v ? v : "");
  }
  if (out->id && strlen(out->id) > VIRTIO_BLK_ID_BYTES)
    return err_make(err, EINVAL, "--disk %s: id `%s` is longer than %d bytes", out->path, out->id,
                    VIRTIO_BLK_ID_BYTES);
  return 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
  unsigned b[6];
  char end;
  if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) != 6 ||
      strlen(s) != 17)
    return -1;
  for (int i = 0; i < 6; i++)
    mac[i] = (uint8_t)b[i];
  return (mac[0] & 1) ? -1 : 0; /* a multicast address cannot be a NIC's */
}

int vmm_parse_net(char *arg, struct vm_net *out, err_t *err)
{
  memset(out, 0, sizeof(*out));
  char *rest = arg, *v;
  for (char *k; (k = next_item(&rest, &v));) {
    if (!strcmp(k, "tap") && v && *v) {
      out->tap = v;
    } else if (!strcmp(k, "mac") && v) {
      if (parse_mac(v, out->mac) < 0)
        return err_make(err, EINVAL, "--net: mac `%s` is not a unicast XX:XX:XX:XX:XX:XX address",
                        v);
      out->has_mac = true;
    } else {
      return err_make(err, EINVAL, "--net: unknown option `%s`; use tap=NAME[,mac=MAC]", k);
    }
  }
  if (!out->tap)
    return err_make(err, EINVAL, "--net needs tap=NAME (the host tap device)");
  return 0;
}

int vmm_parse_vsock(char *arg, struct virtio_vsock_config *out, err_t *err)
{
  memset(out, 0, sizeof(*out));
  char *rest = arg, *v;
  for (char *k; (k = next_item(&rest, &v));) {
    if (!strcmp(k, "cid") && v) {
      char *end;
      errno = 0;
      unsigned long long cid = strtoull(v, &end, 10);
      if (errno || end == v || *end || cid < 3 || cid >= 0xffffffffULL)
        return err_make(err, EINVAL, "--vsock: cid `%s` must be a number from 3 to %u", v,
                        0xfffffffeU);
      out->cid = cid;
    } else if (!strcmp(k, "uds") && v && *v) {
      out->uds = v;
    } else {
      return err_make(err, EINVAL, "--vsock: unknown option `%s`; use cid=N,uds=PATH", k);
    }
  }
  if (!out->cid || !out->uds)
    return err_make(err, EINVAL, "--vsock needs both cid=N and uds=PATH");
  return 0;
}
