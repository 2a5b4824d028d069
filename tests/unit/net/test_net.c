/* src/net without a network: subnets, IPAM, the nft ruleset text, and the
 * engine's -p parser. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "engine/container/ports.h"
#include "net/cidr.h"
#include "net/nat.h"
#include "net/store.h"

static struct cidr C(const char *s)
{
  struct cidr c;
  err_t e = NULL;
  cr_assert_eq(cidr_parse(s, &c, &e), 0, "%s: %s", s, err_msg(e));
  return c;
}

Test(cidr, parses_and_rejects_with_reasons)
{
  struct cidr c = C("10.90.0.0/16");
  cr_assert_eq(c.prefix, 16);
  cr_assert_eq(cidr_size(&c), 65536u);
  const char *bad[][2] = {{"10.90.0.1/16", "did you mean 10.90.0.0/16"}, {"10.90.0.0", "A.B.C.D/N"},
                          {"10.90.0.0/7", "between 8 and 30"}, {"10.90.0.0/31", "between 8 and 30"},
                          {"10.900.0.0/16", "not an IPv4 address"}, {"10.90.0.0/x", "prefix"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    err_t e = NULL;
    cr_assert_eq(cidr_parse(bad[i][0], &c, &e), -1, "%s", bad[i][0]);
    cr_assert(strstr(err_msg(e), bad[i][1]), "%s: %s", bad[i][0], err_msg(e));
    err_free(&e);
  }
}

Test(cidr, overlap_and_contains)
{
  struct cidr a = C("10.77.0.0/16"), b = C("10.77.1.0/24"), d = C("10.78.0.0/24");
  cr_assert(cidr_overlap(&a, &b) && cidr_overlap(&b, &a));
  cr_assert(!cidr_overlap(&a, &d));
  struct in_addr x;
  inet_pton(AF_INET, "10.77.200.3", &x);
  cr_assert(cidr_contains(&a, x) && !cidr_contains(&b, x));
  char s[24];
  struct in_addr h = cidr_host(&b, 1);
  cr_assert_str_eq(inet_ntop(AF_INET, &h, s, sizeof s), "10.77.1.1");
}

static json_t *net24(void)
{
  return json_pack("{ss ss s{s[{ss ss}]} s{}}", "Name", "n", "Mode", "nat", "IPAM", "Config", "Subnet",
                   "10.1.2.0/29", "Gateway", "10.1.2.1", "Containers");
}

Test(ipam, lowest_free_address_and_exhaustion)
{
  json_t *net = net24();
  err_t e = NULL;
  /* a /29: hosts .1-.6, .1 is the gateway */
  const char *ids[] = {"a", "b", "c", "d", "e"};
  for (int i = 0; i < 5; i++)
    cr_assert_eq(ipam_alloc(net, ids[i], ids[i], NULL, &e), 0, "%s", err_msg(e));
  json_t *ctrs = json_object_get(net, "Containers");
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(ctrs, "a"), "IPv4Address")), "10.1.2.2/29");
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(ctrs, "e"), "IPv4Address")), "10.1.2.6/29");
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(ctrs, "a"), "MacAddress")),
                   "0a:58:0a:01:02:02");
  cr_assert_eq(ipam_alloc(net, "f", "f", NULL, &e), -1);
  cr_assert(strstr(err_msg(e), "no free address"), "%s", err_msg(e));
  err_free(&e);
  ipam_release(net, "c");
  cr_assert_eq(ipam_alloc(net, "f", "f", NULL, &e), 0);
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(ctrs, "f"), "IPv4Address")), "10.1.2.4/29");
  /* an ID that has an address keeps it */
  cr_assert_eq(ipam_alloc(net, "a", "a", NULL, &e), 0);
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(ctrs, "a"), "IPv4Address")), "10.1.2.2/29");
  json_decref(net);
}

Test(ipam, requested_addresses)
{
  json_t *net = net24();
  err_t e = NULL;
  cr_assert_eq(ipam_alloc(net, "a", "web", "10.1.2.5", &e), 0);
  const char *bad[][2] = {{"10.1.2.5", "taken by `web`"}, {"10.1.2.1", "not a free host address"},
                          {"10.1.2.7", "not a free host address"}, {"10.1.3.2", "not a free host address"},
                          {"nope", "not an IPv4 address"}};
  for (size_t i = 0; i < 5; i++) {
    cr_assert_eq(ipam_alloc(net, "b", "b", bad[i][0], &e), -1, "%s", bad[i][0]);
    cr_assert(strstr(err_msg(e), bad[i][1]), "%s: %s", bad[i][0], err_msg(e));
    err_free(&e);
  }
  json_decref(net);
}

Test(nat, ruleset_text)
{
  struct nat_net nets[2] = {{.name = "isola", .bridge = "isola0", .prefix = 16},
                            {.name = "in", .bridge = "isola1", .prefix = 24, .internal = true}};
  inet_pton(AF_INET, "10.90.0.0", &nets[0].subnet);
  inet_pton(AF_INET, "10.91.0.0", &nets[1].subnet);
  struct nat_port p = {.owner = "0123456789abcdef", .udp = true, .host_port = 5353, .ctr_port = 53};
  inet_pton(AF_INET, "10.90.0.2", &p.ctr_ip);
  inet_pton(AF_INET, "198.51.100.1", &p.host_ip);
  char *t = nat_render(nets, 2, &p, 1);
  cr_assert(strstr(t, "table inet isola\ndelete table inet isola\ntable inet isola {"));
  cr_assert(strstr(t, "ip saddr 10.90.0.0/16 ip daddr != 10.90.0.0/16 masquerade comment \"net isola\""));
  cr_assert(!strstr(t, "ip saddr 10.91.0.0/24 ip daddr != 10.91.0.0/24 masquerade"), "internal: no masquerade");
  cr_assert(strstr(t, "iifname \"isola1\" oifname != \"isola1\" drop"));
  cr_assert(strstr(t, "ip daddr 198.51.100.1 udp dport 5353 dnat ip to 10.90.0.2:53 comment \"ctr 0123456789ab\""),
            "%s", t);
  free(t);
  t = nat_render(NULL, 0, NULL, 0);
  cr_assert_str_eq(t, "table inet isola\ndelete table inet isola\n");
  free(t);
}

Test(ports, publish_specs)
{
  json_t *b = json_object();
  err_t e = NULL;
  cr_assert_eq(ports_parse("8080:80", b, &e), 0);
  cr_assert_eq(ports_parse("127.0.0.1:5353:53/udp", b, &e), 0);
  cr_assert_eq(ports_parse("9000-9001:90-91", b, &e), 0);
  cr_assert_eq(ports_parse("7000", b, &e), 0);
  char *t = ports_format(b, NULL);
  cr_assert(strstr(t, "80/tcp -> 0.0.0.0:8080\n"));
  cr_assert(strstr(t, "53/udp -> 127.0.0.1:5353\n"));
  cr_assert(strstr(t, "91/tcp -> 0.0.0.0:9001\n"));
  int hp = atoi(json_string_value(json_object_get(json_array_get(json_object_get(b, "7000/tcp"), 0), "HostPort")));
  cr_assert(hp > 0, "a free host port was chosen");
  free(t);
  t = ports_format(b, "80");
  cr_assert_str_eq(t, "80/tcp -> 0.0.0.0:8080\n");
  free(t);
  const char *bad[][2] = {{"1:2:3:4", "HOSTIP"}, {"0:80", "host port"}, {"80:70000", "container port"},
                          {"80/sctp", "tcp or udp"}, {"1.2.3:80:80", "IPv4"}, {"1-3:1-2", "differ"}};
  for (size_t i = 0; i < 6; i++) {
    cr_assert_eq(ports_parse(bad[i][0], b, &e), -1, "%s", bad[i][0]);
    cr_assert(strstr(err_msg(e), bad[i][1]), "%s: %s", bad[i][0], err_msg(e));
    err_free(&e);
  }
  json_decref(b);
}
