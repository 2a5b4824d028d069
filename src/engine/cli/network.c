/* isola network create, ls, inspect, rm, prune, connect, disconnect and
 * isola port: flags over network/network.h and container/netctr.h. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/file.h"
#include "common/json.h"
#include "common/log.h"
#include "engine/cli/commands.h"
#include "engine/cli/group.h"
#include "engine/container/ctr.h"
#include "engine/container/netctr.h"
#include "engine/container/ports.h"
#include "engine/engine.h"
#include "engine/network/network.h"
#include "net/bridge.h"
#include "net/dnsmasq.h"
#include "net/endpoint.h"
#include "net/store.h"

static int fail(err_t *e)
{
  log_err(err_get(e));
  err_free(e);
  return EXIT_ENGINE;
}

static int net_create(int argc, char **argv)
{
  static const struct option opts[] = {
      {"subnet", required_argument, NULL, 's'}, {"gateway", required_argument, NULL, 'g'},
      {"internal", no_argument, NULL, 'i'},     {"driver", required_argument, NULL, 'd'},
      {"parent", required_argument, NULL, 'P'}, {"opt", required_argument, NULL, 'o'},
      {NULL, 0, NULL, 0}};
  static const char usage[] = "Usage: isola network create [--subnet CIDR] [--gateway IP] [--internal]\n"
                              "                            [--driver bridge|macvlan] [--parent IF] NAME\n";
  struct net_opts o = {0};
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+d:o:", opts, NULL)) != -1) {
    switch (c) {
    case 's': o.subnet = optarg; break;
    case 'g': o.gateway = optarg; break;
    case 'i': o.internal = true; break;
    case 'd': o.driver = optarg; break;
    case 'P': o.parent = optarg; break;
    case 'o':
      if (!strncmp(optarg, "parent=", 7)) {
        o.parent = optarg + 7;
        break;
      }
      fprintf(stderr, "isola network create: -o %s: the only option is parent=IF\n", optarg);
      return EXIT_ENGINE;
    default: fputs(usage, stderr); return EXIT_ENGINE;
    }
  }
  if (optind != argc - 1) {
    fputs(usage, stderr);
    return EXIT_ENGINE;
  }
  o.name = argv[optind];
  if (o.gateway && !o.subnet) {
    fprintf(stderr, "isola: --gateway goes with --subnet\n");
    return EXIT_ENGINE;
  }
  _cleanup_err_ err_t err = NULL;
  _cleanup_free_ char *dir = engine_path("networks");
  _cleanup_close_ int lock = netstore_lock(dir, &err);
  if (lock < 0)
    return fail(&err);
  _cleanup_json_ json_t *net = NULL;
  if (netstore_new(dir, &o, &net, &err) < 0 || netstore_save(dir, net, &err) < 0)
    return fail(&err);
  close(lock);
  lock = -1;
  if (network_up(net, &err) < 0 || net_sync_rules(NULL, NULL, &err) < 0) {
    err_t e2 = NULL;
    network_down(net);
    netstore_remove(dir, o.name, NULL);
    net_sync_rules(NULL, NULL, &e2);
    err_free(&e2);
    return fail(&err);
  }
  printf("%s\n", o.name);
  return 0;
}

static const char *subnet_of(const json_t *net)
{
  const char *s = json_string_value(
      json_object_get(json_array_get(json_object_get(json_object_get(net, "IPAM"), "Config"), 0), "Subnet"));
  return s ? s : "dhcp";
}

static int net_ls(int argc, char **argv)
{
  bool quiet = false, as_json = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet"))
      quiet = true;
    else if (!strcmp(argv[i], "--format") && i + 1 < argc && !strcmp(argv[i + 1], "json"))
      as_json = true, i++;
    else if (!strcmp(argv[i], "--format=json"))
      as_json = true;
    else {
      fprintf(stderr, "Usage: isola network ls [-q] [--format json]\n");
      return EXIT_ENGINE;
    }
  }
  _cleanup_err_ err_t err = NULL;
  _cleanup_free_ char *dir = engine_path("networks");
  _cleanup_json_ json_t *nets = NULL;
  if (netstore_list(dir, &nets, &err) < 0)
    return fail(&err);
  if (as_json) {
    json_dumpf(nets, stdout, JSON_INDENT(2));
    putchar('\n');
    return 0;
  }
  if (!quiet)
    printf("%-20s %-8s %-8s %-18s %-10s %s\n", "NAME", "DRIVER", "MODE", "SUBNET", "INTERFACE", "CONTAINERS");
  size_t i;
  json_t *n;
  json_array_foreach(nets, i, n)
  {
    if (quiet)
      printf("%s\n", net_name(n));
    else
      printf("%-20s %-8s %-8s %-18s %-10s %zu\n", net_name(n), json_string_value(json_object_get(n, "Driver")),
             net_mode(n), subnet_of(n), net_iface(n) ? net_iface(n) : "", json_object_size(json_object_get(n, "Containers")));
  }
  return 0;
}

static int net_inspect(int argc, char **argv)
{
  if (argc < 2) {
    fprintf(stderr, "Usage: isola network inspect NAME...\n");
    return EXIT_ENGINE;
  }
  json_t *all = json_array();
  int status = 0;
  for (int i = 1; i < argc; i++) {
    json_t *j;
    if (network_inspect_json(argv[i], &j) < 0) {
      fprintf(stderr, "isola: no network `%s` (see `isola network ls`)\n", argv[i]);
      status = EXIT_ENGINE;
      continue;
    }
    json_array_append_new(all, j);
  }
  json_dumpf(all, stdout, JSON_INDENT(2));
  putchar('\n');
  json_decref(all);
  return status;
}

/* Remove network `name` unless a container is on it. */
static int remove_one(const char *dir, const char *name, bool quiet_busy, err_t *err)
{
  _cleanup_close_ int lock = netstore_lock(dir, err);
  if (lock < 0)
    return -1;
  _cleanup_json_ json_t *net = NULL;
  if (netstore_load(dir, name, &net, err) < 0)
    return -1;
  json_t *ctrs = json_object_get(net, "Containers");
  if (json_object_size(ctrs)) {
    if (quiet_busy)
      return 1;
    const char *id;
    json_t *m;
    char names[512] = "";
    json_object_foreach(ctrs, id, m)
    {
      size_t l = strlen(names);
      snprintf(names + l, sizeof names - l, "%s%s", l ? ", " : "", json_string_value(json_object_get(m, "Name")));
    }
    return err_make(err, EBUSY, "network `%s` is in use by %s: remove or disconnect them first", name, names);
  }
  network_down(net);
  if (netstore_remove(dir, name, err) < 0)
    return -1;
  close(lock);
  lock = -1;
  return net_sync_rules(NULL, NULL, err);
}

static int net_rm(int argc, char **argv, bool prune)
{
  int first = 1;
  for (; first < argc && argv[first][0] == '-'; first++) {
    /* -f is taken as Docker takes it for prune (no question is asked) */
    if (strcmp(argv[first], "-f") && strcmp(argv[first], "--force")) {
      fprintf(stderr, "Usage: isola network %s\n", prune ? "prune [-f]" : "rm NAME...");
      return EXIT_ENGINE;
    }
  }
  _cleanup_err_ err_t err = NULL;
  _cleanup_free_ char *dir = engine_path("networks");
  int status = 0;
  if (prune) {
    _cleanup_json_ json_t *nets = NULL;
    if (netstore_list(dir, &nets, &err) < 0)
      return fail(&err);
    size_t i;
    json_t *n;
    json_array_foreach(nets, i, n)
    {
      if (!strcmp(net_name(n), NET_DEFAULT))
        continue; /* Docker and Podman keep their default network too */
      int r = remove_one(dir, net_name(n), true, &err);
      if (r == 0)
        printf("%s\n", net_name(n));
      else if (r < 0) {
        log_err(err);
        err_free(&err);
        status = EXIT_ENGINE;
      }
    }
    return status;
  }
  if (first >= argc) {
    fprintf(stderr, "Usage: isola network rm NAME...\n");
    return EXIT_ENGINE;
  }
  for (int i = first; i < argc; i++) {
    if (remove_one(dir, argv[i], false, &err) < 0) {
      log_err(err);
      err_free(&err);
      status = EXIT_ENGINE;
    } else {
      printf("%s\n", argv[i]);
    }
  }
  return status;
}

static int save_rec(struct ctr *c, err_t *err)
{
  _cleanup_free_ char *p = path_join(c->dir, "container.json");
  return json_write_path(p, c->rec, JSON_INDENT(2), false, err);
}

static size_t find_member(const json_t *list, const char *name)
{
  size_t i;
  json_t *n;
  json_array_foreach(list, i, n) if (!strcmp(json_string_value(json_object_get(n, "Name")), name)) return i;
  return (size_t)-1;
}

static int net_connect(int argc, char **argv, bool connect)
{
  static const struct option opts[] = {{"ip", required_argument, NULL, 'i'},
                                       {"alias", required_argument, NULL, 'a'},
                                       {"force", no_argument, NULL, 'f'},
                                       {NULL, 0, NULL, 0}};
  const char *ip = NULL;
  json_t *aliases = json_array();
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+f", opts, NULL)) != -1) {
    if (c == 'i' && connect)
      ip = optarg;
    else if (c == 'a' && connect)
      json_array_append_new(aliases, json_string(optarg));
    else if (c != 'f') {
      json_decref(aliases);
      fprintf(stderr, "Usage: isola network %s\n",
              connect ? "connect [--ip IP] [--alias NAME] NETWORK CONTAINER" : "disconnect NETWORK CONTAINER");
      return EXIT_ENGINE;
    }
  }
  if (optind != argc - 2) {
    json_decref(aliases);
    fprintf(stderr, "Usage: isola network %s NETWORK CONTAINER\n", connect ? "connect" : "disconnect");
    return EXIT_ENGINE;
  }
  const char *netname = argv[optind], *what = argv[optind + 1];
  _cleanup_err_ err_t err = NULL;
  struct ctr ct;
  if (ctr_open(what, &ct, &err) < 0 || ctr_lock(&ct, &err) < 0) {
    ctr_close(&ct);
    json_decref(aliases);
    return fail(&err);
  }
  json_t *hc = json_object_get(ct.rec, "HostConfig");
  int r = 0;
  if (!netctr_enabled(ct.rec))
    r = err_make(&err, EINVAL, "container %s uses --network %s: it cannot join networks", what,
                 json_string_value(json_object_get(hc, "NetworkMode")));
  json_t *list = json_object_get(hc, "Networks");
  size_t idx = find_member(list, netname);
  bool running = r == 0 && ctr_is_running(&ct);
  if (r == 0 && connect) {
    if (idx != (size_t)-1)
      r = err_make(&err, EEXIST, "container %s is on network `%s` already", what, netname);
    /* a fresh interface number: eth0… stay as they are */
    json_int_t next = 0;
    size_t i;
    json_t *n;
    json_array_foreach(list, i, n)
    {
      json_int_t k = json_object_get(n, "Index") ? json_integer_value(json_object_get(n, "Index")) : (json_int_t)i;
      if (k >= next)
        next = k + 1;
    }
    json_t *e = json_pack("{ss sO sI}", "Name", netname, "Aliases", aliases, "Index", next);
    if (ip)
      json_object_set_new(e, "IPv4Address", json_string(ip));
    json_t *one = json_pack("{s{s[o]}}", "HostConfig", "Networks", e);
    json_object_set_new(json_object_get(one, "HostConfig"), "NetworkMode", json_string(netname));
    bool allocated = r == 0 && netctr_allocate(one, ct.id, ctr_name(&ct), &err) == 0;
    if (r == 0 && !allocated)
      r = -1;
    json_t *settings = json_object_get(json_object_get(ct.rec, "NetworkSettings"), "Networks");
    if (allocated) {
      json_array_append(list, e);
      json_t *got = json_object_get(json_object_get(json_object_get(one, "NetworkSettings"), "Networks"), netname);
      json_object_set(settings, netname, got);
      r = save_rec(&ct, &err);
      if (r == 0 && running) {
        r = netctr_prepare(&ct, &err);
        if (r == 0)
          r = netctr_attach_one(&ct, (pid_t)json_integer_value(json_object_get(ct.state, "Pid")), netname, &err);
      }
    }
    if (allocated && r < 0) {
      /* not joined after all: the address goes back and the record says so */
      netctr_release(one, ct.id);
      json_array_remove(list, json_array_size(list) - 1);
      json_object_del(settings, netname);
      save_rec(&ct, NULL);
    }
    json_decref(one);
  } else if (r == 0) {
    if (idx == (size_t)-1)
      r = err_make(&err, ENOENT, "container %s is not on network `%s`", what, netname);
    else if (json_array_size(list) == 1)
      r = err_make(&err, EINVAL, "network `%s` is the only one of container %s: remove the container instead",
                   netname, what);
    if (r == 0) {
      json_t *e = json_incref(json_array_get(list, idx));
      if (running) {
        char host[16];
        json_t *k = json_object_get(e, "Index");
        netctr_link_name(ct.id, k ? (size_t)json_integer_value(k) : idx, host);
        endpoint_remove(host, NULL);
      }
      json_t *one = json_pack("{s{s[O]}}", "HostConfig", "Networks", e);
      netctr_release(one, ct.id);
      json_decref(one);
      json_decref(e);
      json_array_remove(list, idx);
      json_object_del(json_object_get(json_object_get(ct.rec, "NetworkSettings"), "Networks"), netname);
      json_object_set(hc, "NetworkMode", json_object_get(json_array_get(list, 0), "Name"));
      r = save_rec(&ct, &err);
      if (r == 0)
        r = net_sync_rules(NULL, NULL, &err);
    }
  }
  ctr_close(&ct);
  json_decref(aliases);
  return r < 0 ? fail(&err) : 0;
}

static int net_rm_cmd(int argc, char **argv)
{
  return net_rm(argc, argv, false);
}

static int net_prune(int argc, char **argv)
{
  return net_rm(argc, argv, true);
}

static int net_connect_cmd(int argc, char **argv)
{
  return net_connect(argc, argv, true);
}

static int net_disconnect(int argc, char **argv)
{
  return net_connect(argc, argv, false);
}

int cmd_network(int argc, char **argv)
{
  static const struct cli_sub subs[] = {
      {"create", NULL, net_create},         {"ls", "list", net_ls},
      {"inspect", NULL, net_inspect},       {"rm", "remove", net_rm_cmd},
      {"prune", NULL, net_prune},           {"connect", NULL, net_connect_cmd},
      {"disconnect", NULL, net_disconnect}, {NULL, NULL, NULL},
  };
  return cli_group("network", "Usage: isola network create|ls|inspect|rm|prune|connect|disconnect ...\n", subs,
                   argc, argv);
}

int cmd_port(int argc, char **argv)
{
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "Usage: isola port CONTAINER [PORT[/PROTO]]\n");
    return EXIT_ENGINE;
  }
  _cleanup_err_ err_t err = NULL;
  struct ctr ct;
  if (ctr_open(argv[1], &ct, &err) < 0) {
    ctr_close(&ct);
    return fail(&err);
  }
  _cleanup_free_ char *text =
      ports_format(json_object_get(json_object_get(ct.rec, "HostConfig"), "PortBindings"), argc == 3 ? argv[2] : NULL);
  ctr_close(&ct);
  if (argc == 3 && (!text || !*text)) {
    fprintf(stderr, "isola: container %s does not publish port %s\n", argv[1], argv[2]);
    return EXIT_ENGINE;
  }
  fputs(text ? text : "", stdout);
  return 0;
}
