/* nftables ruleset of isola's networks (nft(8) syntax, applied through
 * libnftables as one transaction). */
#include "net/nat.h"

#include <arpa/inet.h>
#include <errno.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void subnet_str(const struct nat_net *n, char *out, size_t len)
{
  char a[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &n->subnet, a, sizeof a);
  snprintf(out, len, "%s/%d", a, n->prefix);
}

static void forward_rules(FILE *f, const struct nat_net *nets, size_t nn)
{
  fprintf(f, "  chain forward {\n    type filter hook forward priority filter; policy accept;\n");
  for (size_t i = 0; i < nn; i++) {
    const struct nat_net *n = &nets[i];
    char sn[48];
    subnet_str(n, sn, sizeof sn);
    if (n->internal) {
      /* an internal network talks only to itself */
      fprintf(f, "    iifname \"%s\" oifname != \"%s\" drop comment \"net %s\"\n", n->bridge, n->bridge, n->name);
      fprintf(f, "    oifname \"%s\" iifname != \"%s\" drop comment \"net %s\"\n", n->bridge, n->bridge, n->name);
      continue;
    }
    fprintf(f, "    iifname \"%s\" ip saddr %s accept comment \"net %s\"\n", n->bridge, sn, n->name);
    fprintf(f, "    oifname \"%s\" ip daddr %s ct state established,related accept comment \"net %s\"\n", n->bridge,
            sn, n->name);
    fprintf(f, "    oifname \"%s\" ip daddr %s ct status dnat accept comment \"net %s\"\n", n->bridge, sn, n->name);
  }
  fprintf(f, "  }\n");
}

static void port_rules(FILE *f, const struct nat_port *ports, size_t np)
{
  /* Addresses of this host (fib … type local, 127.0.0.1 included) reach
   * published ports from outside (prerouting) and from the host itself
   * (output); the client's source address is kept. */
  fprintf(f, "  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n"
             "    fib daddr type local jump ports\n  }\n");
  fprintf(f, "  chain output {\n    type nat hook output priority -100; policy accept;\n"
             "    fib daddr type local jump ports\n  }\n");
  fprintf(f, "  chain ports {\n");
  for (size_t i = 0; i < np; i++) {
    const struct nat_port *p = &ports[i];
    char host[INET_ADDRSTRLEN + 16] = "", ctr[INET_ADDRSTRLEN];
    if (p->host_ip.s_addr != INADDR_ANY) {
      char a[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, &p->host_ip, a, sizeof a);
      snprintf(host, sizeof host, "ip daddr %s ", a);
    }
    inet_ntop(AF_INET, &p->ctr_ip, ctr, sizeof ctr);
    fprintf(f, "    meta nfproto ipv4 %s%s dport %u dnat ip to %s:%u comment \"ctr %.12s\"\n", host,
            p->udp ? "udp" : "tcp", p->host_port, ctr, p->ctr_port, p->owner ? p->owner : "");
  }
  fprintf(f, "  }\n");
}

static void postrouting_rules(FILE *f, const struct nat_net *nets, size_t nn)
{
  fprintf(f, "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n");
  for (size_t i = 0; i < nn; i++) {
    const struct nat_net *n = &nets[i];
    char sn[48];
    subnet_str(n, sn, sizeof sn);
    if (!n->internal)
      fprintf(f, "    ip saddr %s ip daddr != %s masquerade comment \"net %s\"\n", sn, sn, n->name);
    /* a connection to 127.0.0.1:PORT cannot be answered from the
     * container with that source (route_localnet lets it be routed) */
    fprintf(f, "    oifname \"%s\" ip saddr 127.0.0.0/8 masquerade comment \"net %s\"\n", n->bridge, n->name);
  }
  fprintf(f, "  }\n");
}

char *nat_render(const struct nat_net *nets, size_t nn, const struct nat_port *ports, size_t np)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f)
    return NULL;
  fprintf(f, "table inet isola\ndelete table inet isola\n");
  if (nn) {
    fprintf(f, "table inet isola {\n");
    forward_rules(f, nets, nn);
    port_rules(f, ports, np);
    postrouting_rules(f, nets, nn);
    fprintf(f, "}\n");
  }
  if (fclose(f) != 0) {
    free(buf);
    return NULL;
  }
  return buf;
}

int nat_apply(const struct nat_net *nets, size_t nn, const struct nat_port *ports, size_t np, err_t *err)
{
  char *text = nat_render(nets, nn, ports, np);
  if (!text)
    return err_make(err, ENOMEM, "cannot write the nftables ruleset");
  struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
  if (!nft) {
    free(text);
    return err_make(err, ENOMEM, "cannot make an nftables context");
  }
  nft_ctx_buffer_error(nft);
  nft_ctx_buffer_output(nft);
  int r = nft_run_cmd_from_buffer(nft, text);
  if (r != 0) {
    const char *e = nft_ctx_get_error_buffer(nft);
    r = err_make(err, EINVAL, "cannot apply the nftables table `inet isola`: %s", e && *e ? e : "(no message)");
  }
  nft_ctx_free(nft);
  free(text);
  return r;
}
