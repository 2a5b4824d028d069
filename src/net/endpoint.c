#include "net/endpoint.h"

#include <errno.h>
#include <stddef.h>

#include "net/netlink.h"
#include "net/tap.h"

static int enslave(struct nl *nl, const char *link, const char *master, err_t *err)
{
  int idx = nl_ifindex(nl, master, err);
  if (idx <= 0)
    return idx < 0 ? -1 : err_make(err, ENODEV, "bridge `%s` does not exist", master);
  struct link_change ch = {.master = idx, .up = true};
  return link_change(nl, link, &ch, err);
}

static int configure_inside(int nsfd, const struct endpoint *ep, err_t *err)
{
  struct nl in;
  if (nl_open(&in, nsfd, err) < 0)
    return -1;
  struct link_change ch = {.up = true, .mac = ep->has_mac ? ep->mac : NULL};
  struct link_change lo = {.up = true};
  int r = link_change(&in, ep->ifname, &ch, err);
  if (r == 0)
    r = link_change(&in, "lo", &lo, err);
  if (r == 0 && ep->has_ip)
    r = addr_add(&in, ep->ifname, ep->ip, ep->prefix, err);
  if (r == 0 && ep->has_ip && ep->default_route && ep->gw.s_addr)
    r = route_add_default(&in, ep->gw, err);
  nl_close(&in);
  return r;
}

int endpoint_attach(int nsfd, const struct endpoint *ep, err_t *err)
{
  struct nl nl;
  if (nl_open(&nl, -1, err) < 0)
    return -1;
  int r;
  if (ep->parent) {
    r = link_add_macvlan(&nl, ep->ifname, ep->parent, nsfd, err);
  } else {
    link_del(&nl, ep->host, NULL); /* a leftover of a killed run */
    r = link_add_veth(&nl, ep->host, ep->ifname, nsfd, 0, err);
    if (r == 0 && (r = enslave(&nl, ep->host, ep->master, err)) < 0)
      link_del(&nl, ep->host, NULL);
  }
  nl_close(&nl);
  if (r == 0 && (r = configure_inside(nsfd, ep, err)) < 0 && !ep->parent)
    endpoint_remove(ep->host, NULL);
  return r;
}

int endpoint_tap(const struct endpoint *ep, err_t *err)
{
  struct nl nl;
  if (nl_open(&nl, -1, err) < 0)
    return -1;
  link_del(&nl, ep->host, NULL);
  int r = tap_create(ep->host, err);
  if (r == 0 && (r = enslave(&nl, ep->host, ep->master, err)) < 0)
    link_del(&nl, ep->host, NULL);
  nl_close(&nl);
  return r;
}

int endpoint_remove(const char *host, err_t *err)
{
  struct nl nl;
  if (nl_open(&nl, -1, err) < 0)
    return -1;
  int r = link_del(&nl, host, err);
  nl_close(&nl);
  return r;
}

int endpoint_loopback(int nsfd, err_t *err)
{
  struct nl in;
  if (nl_open(&in, nsfd, err) < 0)
    return -1;
  struct link_change lo = {.up = true};
  int r = link_change(&in, "lo", &lo, err);
  nl_close(&in);
  return r;
}
