/* `isola run` / `isola create` flags → container record (runopts.h). */

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/cli.h"
#include "common/clock.h"
#include "common/file.h"
#include "common/json.h"
#include "engine/base/parse.h"
#include "engine/cli/runopts.h"
#include "engine/container/ports.h"
#include "engine/container/sysctl.h"
#include "net/store.h"

static void append(json_t *arr, const char *s)
{
  json_array_append_new(arr, json_string(s));
}

/* KEY=VALUE, or KEY alone: taken from our own environment when set. */
static int add_env(json_t *env, const char *kv, const char *where, err_t *err)
{
  if (!*kv || *kv == '=')
    return err_make(err, EINVAL, "%s: `%s` is not KEY=VALUE", where, kv);
  if (strchr(kv, '=')) {
    append(env, kv);
  } else {
    const char *v = getenv(kv);
    if (v) {
      char *s = NULL;
      if (asprintf(&s, "%s=%s", kv, v) < 0)
        return err_sys(err, "out of memory");
      append(env, s);
      free(s);
    }
  }
  return 0;
}

static int env_file(json_t *env, const char *path, err_t *err)
{
  _cleanup_free_ char *text = NULL;
  if (file_read_all(path, 1 << 20, &text, NULL, err) < 0)
    return err_context(err, "--env-file");
  int lineno = 0;
  for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    lineno++;
    while (isspace((unsigned char)*line))
      line++;
    size_t l = strlen(line);
    while (l && isspace((unsigned char)line[l - 1]))
      line[--l] = 0;
    if (!*line || *line == '#')
      continue;
    char where[512];
    snprintf(where, sizeof where, "--env-file %s, line %d", path, lineno);
    if (add_env(env, line, where, err) < 0)
      return -1;
  }
  return 0;
}

/* -v SRC:DST[:OPTS] and -v DST (an anonymous volume). */
static int add_volume(json_t *mounts, json_t *binds, const char *spec, err_t *err)
{
  _cleanup_free_ char *copy = strdup(spec);
  char *parts[3] = {NULL, NULL, NULL};
  int n = 0;
  for (char *save = NULL, *t = strtok_r(copy, ":", &save); t && n < 4; t = strtok_r(NULL, ":", &save)) {
    if (n == 3)
      return err_make(err, EINVAL, "-v %s: too many `:`; use SRC:DST[:ro]", spec);
    parts[n++] = t;
  }
  if (n == 0)
    return err_make(err, EINVAL, "-v needs SRC:DST[:OPTIONS] or DST");
  const char *src = n >= 2 ? parts[0] : "", *dst = n >= 2 ? parts[1] : parts[0];
  const char *opts = n == 3 ? parts[2] : "";
  if (dst[0] != '/')
    return err_make(err, EINVAL, "-v %s: the container path `%s` must be absolute", spec, dst);
  bool ro = false;
  json_t *extra = json_array();
  _cleanup_free_ char *ocopy = strdup(opts);
  for (char *save = NULL, *o = strtok_r(ocopy, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
    if (!strcmp(o, "ro"))
      ro = true;
    else if (!strcmp(o, "rw"))
      ro = false;
    else if (!strcmp(o, "z") || !strcmp(o, "Z"))
      continue; /* SELinux relabelling: not on this host */
    else if (!strcmp(o, "shared") || !strcmp(o, "rshared") || !strcmp(o, "slave") ||
             !strcmp(o, "rslave") || !strcmp(o, "private") || !strcmp(o, "rprivate") ||
             !strcmp(o, "nosuid") || !strcmp(o, "noexec") || !strcmp(o, "nodev"))
      append(extra, o);
    else {
      json_decref(extra);
      return err_make(err, EINVAL,
                      "-v %s: unknown option `%s`; use ro, rw, nosuid, noexec, nodev or a propagation "
                      "(shared, slave, private and their r- forms)",
                      spec, o);
    }
  }
  const char *type = src[0] == '/' ? "bind" : "volume";
  if (*src && src[0] != '/') {
    for (const char *p = src; *p; p++)
      if (!isalnum((unsigned char)*p) && !strchr("_.-", *p)) {
        json_decref(extra);
        return err_make(err, EINVAL,
                        "-v %s: `%s` is neither an absolute host path nor a volume name "
                        "(letters, digits, `_`, `.`, `-`)",
                        spec, src);
      }
  }
  /* -v makes a missing host directory (Docker's rule); --mount does not */
  json_array_append_new(mounts, json_pack("{ss ss ss sb so sb}", "Type", type, "Source", src, "Target", dst,
                                          "ReadOnly", ro, "Options", extra, "CreateSource", 1));
  append(binds, spec);
  return 0;
}

/* --mount type=bind|volume|tmpfs,source=,target=,readonly,tmpfs-size=,tmpfs-mode= */
static int add_mount(json_t *mounts, const char *spec, err_t *err)
{
  _cleanup_free_ char *copy = strdup(spec);
  const char *type = "volume", *src = "", *dst = NULL;
  bool ro = false;
  json_t *extra = json_array();
  for (char *save = NULL, *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
    char *v = strchr(kv, '=');
    if (v)
      *v++ = 0;
    if (!strcmp(kv, "type") && v)
      type = v;
    else if ((!strcmp(kv, "source") || !strcmp(kv, "src")) && v)
      src = v;
    else if ((!strcmp(kv, "target") || !strcmp(kv, "destination") || !strcmp(kv, "dst")) && v)
      dst = v;
    else if (!strcmp(kv, "readonly") || !strcmp(kv, "ro"))
      ro = !v || !strcmp(v, "true") || !strcmp(v, "1");
    else if (!strcmp(kv, "tmpfs-size") && v) {
      char o[96];
      snprintf(o, sizeof o, "size=%s", v);
      append(extra, o);
    } else if (!strcmp(kv, "tmpfs-mode") && v) {
      char o[96];
      snprintf(o, sizeof o, "mode=%s", v);
      append(extra, o);
    } else if (!strcmp(kv, "bind-propagation") && v)
      append(extra, v);
    else {
      json_decref(extra);
      return err_make(err, EINVAL,
                      "--mount %s: unknown key `%s`; use type, source, target, readonly, tmpfs-size, "
                      "tmpfs-mode or bind-propagation",
                      spec, kv);
    }
  }
  if (strcmp(type, "bind") && strcmp(type, "volume") && strcmp(type, "tmpfs")) {
    json_decref(extra);
    return err_make(err, EINVAL, "--mount %s: type `%s` is not bind, volume or tmpfs", spec, type);
  }
  if (!dst || dst[0] != '/') {
    json_decref(extra);
    return err_make(err, EINVAL, "--mount %s: needs target=ABSOLUTE-PATH", spec);
  }
  if (!strcmp(type, "bind") && src[0] != '/') {
    json_decref(extra);
    return err_make(err, EINVAL, "--mount %s: a bind mount needs source=ABSOLUTE-HOST-PATH", spec);
  }
  json_array_append_new(mounts, json_pack("{ss ss ss sb so}", "Type", type, "Source", src, "Target", dst,
                                          "ReadOnly", ro, "Options", extra));
  return 0;
}

static int add_tmpfs(json_t *mounts, const char *spec, err_t *err)
{
  _cleanup_free_ char *copy = strdup(spec);
  char *opts = strchr(copy, ':');
  if (opts)
    *opts++ = 0;
  if (copy[0] != '/')
    return err_make(err, EINVAL, "--tmpfs %s: the path must be absolute (--tmpfs /run[:size=64m,mode=1777])",
                    spec);
  json_t *extra = json_array();
  if (opts)
    for (char *save = NULL, *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save))
      append(extra, o);
  json_array_append_new(mounts, json_pack("{ss ss ss sb so}", "Type", "tmpfs", "Source", "tmpfs", "Target",
                                          copy, "ReadOnly", 0, "Options", extra));
  return 0;
}

static int restart_policy(const char *s, json_t **out, err_t *err)
{
  _cleanup_free_ char *copy = strdup(s);
  char *n = strchr(copy, ':');
  long max = 0;
  if (n) {
    *n++ = 0;
    char *end;
    max = strtol(n, &end, 10);
    if (!*n || *end || max < 0 || strcmp(copy, "on-failure"))
      return err_make(err, EINVAL, "--restart %s: only on-failure takes a count (on-failure:3)", s);
  }
  if (strcmp(copy, "no") && strcmp(copy, "on-failure") && strcmp(copy, "always") &&
      strcmp(copy, "unless-stopped"))
    return err_make(err, EINVAL, "--restart %s: use no, on-failure[:N], always or unless-stopped", s);
  *out = json_pack("{ss sI}", "Name", copy, "MaximumRetryCount", (json_int_t)max);
  return 0;
}

static int cap_name(const char *c, json_t *arr, const char *flag, err_t *err)
{
  char buf[64];
  if (!strcasecmp(c, "ALL")) {
    append(arr, "ALL");
    return 0;
  }
  snprintf(buf, sizeof buf, "%s%s", strncasecmp(c, "CAP_", 4) ? "CAP_" : "", c);
  for (char *p = buf; *p; p++)
    *p = (char)toupper((unsigned char)*p);
  if (strlen(buf) < 5 || strspn(buf, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") != strlen(buf))
    return err_make(err, EINVAL, "%s %s: not a capability name (NET_ADMIN, CAP_SYS_TIME, ALL)", flag, c);
  append(arr, buf);
  return 0;
}

enum {
  O_RM = 256, O_NAME, O_ENVFILE, O_ENTRYPOINT, O_MOUNT, O_TMPFS, O_CPUS, O_PIDS, O_RO, O_CAPADD,
  O_CAPDROP, O_SECOPT, O_RESTART, O_HCMD, O_HINT, O_HTIMEOUT, O_HRETRIES, O_HSTART, O_NOHC,
  O_HONFAIL, O_INIT, O_HOSTNAME, O_VM, O_VMCPUS, O_VMMEM, O_KERNEL, O_SYSTEMD, O_INITSYS, O_NET,
  O_LOGOPT, O_STOPSIG, O_STOPTIMEOUT, O_SIGPROXY, O_PUBLISH, O_LABEL, O_PRIV, O_IP, O_ALIAS,
  O_SYSCTL,
};

/* --network NAME[,NAME]…, --ip and --network-alias into HostConfig */
static int networks_of(json_t *hc, json_t *nets, json_t *aliases, const char *ip, bool special, err_t *err)
{
  const char *mode = json_string_value(json_object_get(hc, "NetworkMode"));
  if (special && json_array_size(nets))
    return err_make(err, EINVAL, "--network %s cannot be combined with named networks", mode);
  if (special) {
    if (ip || json_array_size(aliases))
      return err_make(err, EINVAL, "--ip and --network-alias need a named network, not --network %s", mode);
    if (json_object_size(json_object_get(hc, "PortBindings")))
      return err_make(err, EINVAL, "-p needs a named network: --network %s has no ports to publish", mode);
    return 0;
  }
  if (!json_array_size(nets))
    append(nets, NET_DEFAULT);
  json_t *list = json_array();
  size_t i;
  json_t *n;
  json_array_foreach(nets, i, n)
  {
    json_t *e = json_pack("{sO sO}", "Name", n, "Aliases", aliases);
    if (i == 0 && ip)
      json_object_set_new(e, "IPv4Address", json_string(ip));
    json_array_append_new(list, e);
  }
  json_object_set_new(hc, "Networks", list);
  json_object_set(hc, "NetworkMode", json_array_get(nets, 0));
  return 0;
}

int runopts_parse(int argc, char **argv, bool run, json_t **rec, struct run_flags *f, err_t *err)
{
  static const struct option opts[] = {
      {"detach", no_argument, NULL, 'd'},
      {"interactive", no_argument, NULL, 'i'},
      {"tty", no_argument, NULL, 't'},
      {"rm", no_argument, NULL, O_RM},
      {"name", required_argument, NULL, O_NAME},
      {"env", required_argument, NULL, 'e'},
      {"env-file", required_argument, NULL, O_ENVFILE},
      {"workdir", required_argument, NULL, 'w'},
      {"user", required_argument, NULL, 'u'},
      {"entrypoint", required_argument, NULL, O_ENTRYPOINT},
      {"volume", required_argument, NULL, 'v'},
      {"mount", required_argument, NULL, O_MOUNT},
      {"tmpfs", required_argument, NULL, O_TMPFS},
      {"memory", required_argument, NULL, 'm'},
      {"cpus", required_argument, NULL, O_CPUS},
      {"pids-limit", required_argument, NULL, O_PIDS},
      {"read-only", no_argument, NULL, O_RO},
      {"cap-add", required_argument, NULL, O_CAPADD},
      {"cap-drop", required_argument, NULL, O_CAPDROP},
      {"security-opt", required_argument, NULL, O_SECOPT},
      {"restart", required_argument, NULL, O_RESTART},
      {"health-cmd", required_argument, NULL, O_HCMD},
      {"health-interval", required_argument, NULL, O_HINT},
      {"health-timeout", required_argument, NULL, O_HTIMEOUT},
      {"health-retries", required_argument, NULL, O_HRETRIES},
      {"health-start-period", required_argument, NULL, O_HSTART},
      {"no-healthcheck", no_argument, NULL, O_NOHC},
      {"health-on-failure", required_argument, NULL, O_HONFAIL},
      {"init", no_argument, NULL, O_INIT},
      {"hostname", required_argument, NULL, O_HOSTNAME},
      {"vm", no_argument, NULL, O_VM},
      {"vm-cpus", required_argument, NULL, O_VMCPUS},
      {"vm-memory", required_argument, NULL, O_VMMEM},
      {"kernel", required_argument, NULL, O_KERNEL},
      {"systemd", optional_argument, NULL, O_SYSTEMD},
      {"init-system", no_argument, NULL, O_INITSYS},
      {"network", required_argument, NULL, O_NET},
      {"net", required_argument, NULL, O_NET},
      {"log-opt", required_argument, NULL, O_LOGOPT},
      {"stop-signal", required_argument, NULL, O_STOPSIG},
      {"stop-timeout", required_argument, NULL, O_STOPTIMEOUT},
      {"sig-proxy", optional_argument, NULL, O_SIGPROXY},
      {"publish", required_argument, NULL, 'p'},
      {"label", required_argument, NULL, 'l'},
      {"privileged", no_argument, NULL, O_PRIV},
      {"ip", required_argument, NULL, O_IP},
      {"network-alias", required_argument, NULL, O_ALIAS},
      {"sysctl", required_argument, NULL, O_SYSCTL},
      {"help", no_argument, NULL, 'H'},
      {NULL, 0, NULL, 0},
  };
  memset(f, 0, sizeof *f);
  f->sig_proxy = true;
  json_t *cfg = json_pack("{s[] s[] sb sb sb s{}}", "Env", "Cmd", "Tty", 0, "OpenStdin", 0, "AttachStdin",
                          0, "Labels");
  json_t *hc = json_pack("{s[] s[] s{} s[] s[] s[] s{ss sI} sb sb ss ss s{ss s{}} sI sI sI}", "Binds",
                         "Mounts", "Tmpfs", "CapAdd", "CapDrop", "SecurityOpt", "RestartPolicy", "Name",
                         "no", "MaximumRetryCount", (json_int_t)0, "ReadonlyRootfs", 0, "AutoRemove", 0,
                         "NetworkMode", NET_DEFAULT, "Systemd", "false", "LogConfig", "Type", "json-file",
                         "Config", "Memory", (json_int_t)0, "NanoCpus", (json_int_t)0, "PidsLimit",
                         (json_int_t)0);
  json_t *health = NULL, *vm = NULL;
  json_object_set_new(hc, "PortBindings", json_object());
  _cleanup_json_ json_t *nets = json_array(), *aliases = json_array();
  const char *ip = NULL;
  bool special = false;
  json_t *env = json_object_get(cfg, "Env"), *mounts = json_object_get(hc, "Mounts");
  bool entry_set = false;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+ditre:w:u:v:m:p:l:h:", opts, NULL)) != -1) {
    int64_t n;
    switch (c) {
    case 'd':
      if (!run)
        goto unknown;
      f->detach = true;
      break;
    case 'i':
      json_object_set_new(cfg, "OpenStdin", json_true());
      json_object_set_new(cfg, "AttachStdin", json_true());
      break;
    case 't': json_object_set_new(cfg, "Tty", json_true()); break;
    case O_RM:
      f->rm = true;
      json_object_set_new(hc, "AutoRemove", json_true());
      break;
    case O_NAME:
      for (const char *p = optarg; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
          goto bad_name;
      if (!isalnum((unsigned char)optarg[0]))
        goto bad_name;
      f->name = optarg;
      break;
    case 'e':
      if (add_env(env, optarg, "-e", err) < 0)
        goto fail;
      break;
    case O_ENVFILE:
      if (env_file(env, optarg, err) < 0)
        goto fail;
      break;
    case 'w':
      if (optarg[0] != '/') {
        err_make(err, EINVAL, "-w %s: the working directory must be absolute", optarg);
        goto fail;
      }
      json_object_set_new(cfg, "WorkingDir", json_string(optarg));
      break;
    case 'u': json_object_set_new(cfg, "User", json_string(optarg)); break;
    case O_ENTRYPOINT: {
      json_t *e = json_array();
      if (*optarg)
        append(e, optarg);
      json_object_set_new(cfg, "Entrypoint", e);
      entry_set = true;
      break;
    }
    case 'v':
      if (add_volume(mounts, json_object_get(hc, "Binds"), optarg, err) < 0)
        goto fail;
      break;
    case O_MOUNT:
      if (add_mount(mounts, optarg, err) < 0)
        goto fail;
      break;
    case O_TMPFS:
      if (add_tmpfs(mounts, optarg, err) < 0)
        goto fail;
      json_object_set_new(json_object_get(hc, "Tmpfs"), optarg, json_string(""));
      break;
    case 'm':
      if (parse_size(optarg, "--memory", &n, err) < 0)
        goto fail;
      if (n < 6 * 1024 * 1024) {
        err_make(err, EINVAL, "--memory %s: the minimum is 6m", optarg);
        goto fail;
      }
      json_object_set_new(hc, "Memory", json_integer(n));
      break;
    case O_CPUS: {
      char *end;
      double v = strtod(optarg, &end);
      if (end == optarg || *end || !(v > 0) || v > 1024) {
        err_make(err, EINVAL, "--cpus %s: use a positive number of CPUs (0.5, 2)", optarg);
        goto fail;
      }
      json_object_set_new(hc, "NanoCpus", json_integer((json_int_t)(v * 1e9)));
      break;
    }
    case O_PIDS: {
      char *end;
      long v = strtol(optarg, &end, 10);
      if (end == optarg || *end || v < -1 || v == 0) {
        err_make(err, EINVAL, "--pids-limit %s: use a positive number, or -1 for no limit", optarg);
        goto fail;
      }
      json_object_set_new(hc, "PidsLimit", json_integer(v));
      break;
    }
    case O_RO: json_object_set_new(hc, "ReadonlyRootfs", json_true()); break;
    case O_CAPADD:
    case O_CAPDROP:
      if (cap_name(optarg, json_object_get(hc, c == O_CAPADD ? "CapAdd" : "CapDrop"),
                   c == O_CAPADD ? "--cap-add" : "--cap-drop", err) < 0)
        goto fail;
      break;
    case O_SECOPT:
      if (strncmp(optarg, "seccomp=", 8) && strcmp(optarg, "no-new-privileges") &&
          strcmp(optarg, "no-new-privileges=true") && strcmp(optarg, "no-new-privileges=false") &&
          strncmp(optarg, "apparmor=", 9) && strncmp(optarg, "label=", 6) && strcmp(optarg, "seccomp:unconfined")) {
        err_make(err, EINVAL,
                 "--security-opt %s: use seccomp=unconfined|PROFILE.json, no-new-privileges[=BOOL], "
                 "apparmor=PROFILE or label=...",
                 optarg);
        goto fail;
      }
      if (!strncmp(optarg, "seccomp=", 8) && strcmp(optarg + 8, "unconfined")) {
        json_t *probe = NULL;
        err_t perr = NULL;
        /* check the profile now, not when the container starts */
        if (json_load_path(optarg + 8, &probe, &perr) < 0) {
          err_make(err, EINVAL, "--security-opt %s: %s", optarg, err_msg(perr));
          err_free(&perr);
          goto fail;
        }
        json_decref(probe);
      }
      append(json_object_get(hc, "SecurityOpt"), optarg);
      break;
    case O_RESTART: {
      json_t *p = NULL;
      if (restart_policy(optarg, &p, err) < 0)
        goto fail;
      json_object_set_new(hc, "RestartPolicy", p);
      break;
    }
    case O_HCMD:
    case O_HINT:
    case O_HTIMEOUT:
    case O_HRETRIES:
    case O_HSTART:
    case O_NOHC:
      if (!health)
        health = json_object();
      if (c == O_HCMD)
        json_object_set_new(health, "Test", json_pack("[ss]", "CMD-SHELL", optarg));
      else if (c == O_NOHC)
        json_object_set_new(health, "Test", json_pack("[s]", "NONE"));
      else if (c == O_HRETRIES) {
        char *end;
        long v = strtol(optarg, &end, 10);
        if (end == optarg || *end || v < 1) {
          err_make(err, EINVAL, "--health-retries %s: use a positive number", optarg);
          goto fail;
        }
        json_object_set_new(health, "Retries", json_integer(v));
      } else {
        const char *flag = c == O_HINT ? "--health-interval" : c == O_HTIMEOUT ? "--health-timeout"
                                                                                : "--health-start-period";
        if (parse_duration(optarg, flag, &n, err) < 0)
          goto fail;
        json_object_set_new(health, c == O_HINT ? "Interval" : c == O_HTIMEOUT ? "Timeout" : "StartPeriod",
                            json_integer(n));
      }
      break;
    case O_HONFAIL:
      if (strcmp(optarg, "none") && strcmp(optarg, "kill") && strcmp(optarg, "restart") &&
          strcmp(optarg, "stop")) {
        err_make(err, EINVAL, "--health-on-failure %s: use none, kill, restart or stop", optarg);
        goto fail;
      }
      json_object_set_new(hc, "HealthOnFailure", json_string(optarg));
      break;
    case O_INIT: json_object_set_new(hc, "Init", json_true()); break;
    case 'h':
    case O_HOSTNAME:
      if (!*optarg || strlen(optarg) > 64) {
        err_make(err, EINVAL, "--hostname `%s`: use 1 to 64 characters", optarg);
        goto fail;
      }
      json_object_set_new(cfg, "Hostname", json_string(optarg));
      break;
    case O_VM:
    case O_VMCPUS:
    case O_VMMEM:
    case O_KERNEL:
      if (!vm)
        vm = json_pack("{sI sI}", "Cpus", (json_int_t)1, "Memory", (json_int_t)512 << 20);
      if (c == O_VMCPUS) {
        char *end;
        long v = strtol(optarg, &end, 10);
        if (end == optarg || *end || v < 1 || v > 254) {
          err_make(err, EINVAL, "--vm-cpus %s: use 1 to 254", optarg);
          goto fail;
        }
        json_object_set_new(vm, "Cpus", json_integer(v));
      } else if (c == O_VMMEM) {
        if (parse_size(optarg, "--vm-memory", &n, err) < 0)
          goto fail;
        if (n < (64 << 20)) {
          err_make(err, EINVAL, "--vm-memory %s: a Linux guest needs at least 64m", optarg);
          goto fail;
        }
        json_object_set_new(vm, "Memory", json_integer(n));
      } else if (c == O_KERNEL) {
        json_object_set_new(vm, "Kernel", json_string(optarg));
      }
      if (c == O_VM)
        json_object_set_new(vm, "Enabled", json_true());
      break;
    case O_SYSTEMD:
      if (optarg && strcmp(optarg, "true") && strcmp(optarg, "false") && strcmp(optarg, "always")) {
        err_make(err, EINVAL, "--systemd=%s: use true, false or always", optarg);
        goto fail;
      }
      json_object_set_new(hc, "Systemd", json_string(optarg ? optarg : "always"));
      break;
    case O_INITSYS: json_object_set_new(hc, "Systemd", json_string("always")); break;
    case O_NET:
      if (!strcmp(optarg, "none") || !strcmp(optarg, "host") || !strcmp(optarg, "private") ||
          !strncmp(optarg, "container:", 10)) {
        json_object_set_new(hc, "NetworkMode", json_string(optarg));
        special = true;
        break;
      }
    {
      _cleanup_free_ char *list = strdup(optarg);
      for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
        append(nets, t);
      break;
    }
    case O_IP: ip = optarg; break;
    case O_ALIAS: append(aliases, optarg); break;
    case 'p':
      if (ports_parse(optarg, json_object_get(hc, "PortBindings"), err) < 0)
        goto fail;
      break;
    case O_LOGOPT: {
      char *eq = strchr(optarg, '=');
      int64_t v;
      if (!eq || (strncmp(optarg, "max-size=", 9) && strncmp(optarg, "max-file=", 9))) {
        err_make(err, EINVAL, "--log-opt %s: use max-size=SIZE or max-file=N", optarg);
        goto fail;
      }
      if (!strncmp(optarg, "max-size=", 9) ? parse_size(eq + 1, "--log-opt max-size", &v, err) < 0
                                           : (v = strtol(eq + 1, NULL, 10)) < 1) {
        if (!err_get(err))
          err_make(err, EINVAL, "--log-opt %s: max-file is a positive number", optarg);
        goto fail;
      }
      *eq = 0;
      json_object_set_new(json_object_get(json_object_get(hc, "LogConfig"), "Config"), optarg,
                          json_string(eq + 1));
      *eq = '=';
      break;
    }
    case O_STOPSIG: {
      int sig;
      if (parse_signal(optarg, &sig, err) < 0)
        goto fail;
      json_object_set_new(cfg, "StopSignal", json_string(optarg));
      break;
    }
    case O_STOPTIMEOUT: {
      char *end;
      long v = strtol(optarg, &end, 10);
      if (end == optarg || *end || v < -1) {
        err_make(err, EINVAL, "--stop-timeout %s: use seconds (or -1: wait forever)", optarg);
        goto fail;
      }
      json_object_set_new(cfg, "StopTimeout", json_integer(v));
      break;
    }
    case O_SIGPROXY:
      f->sig_proxy = !optarg || !strcmp(optarg, "true");
      break;
    case 'l': {
      const char *eq = strchr(optarg, '=');
      char key[256];
      snprintf(key, sizeof key, "%.*s", eq ? (int)(eq - optarg) : (int)strlen(optarg), optarg);
      json_object_set_new(json_object_get(cfg, "Labels"), key, json_string(eq ? eq + 1 : ""));
      break;
    }
    case O_PRIV: json_object_set_new(hc, "Privileged", json_true()); break;
    case O_SYSCTL:
      if (!json_object_get(hc, "Sysctls"))
        json_object_set_new(hc, "Sysctls", json_object());
      if (sysctl_parse(optarg, json_object_get(hc, "Sysctls"), err) < 0)
        goto fail;
      break;
    case 'H':
      err_make(err, 0, "help");
      goto fail;
    default:
    unknown:
      err_make(err, EINVAL, "unknown option `%s` (see `isola %s --help`)", argv[optind - 1],
               run ? "run" : "create");
      goto fail;
    }
  }
  if (optind >= argc) {
    err_make(err, EINVAL, "no image given: isola %s [OPTIONS] IMAGE [COMMAND [ARG...]]", run ? "run" : "create");
    goto fail;
  }
  f->image = argv[optind];
  f->argc = argc - optind - 1;
  f->argv = argv + optind + 1;
  json_t *cmd = json_object_get(cfg, "Cmd");
  for (int i = 0; i < f->argc; i++)
    append(cmd, f->argv[i]);
  if (!f->argc)
    json_object_del(cfg, "Cmd"); /* from the image */
  if (!entry_set)
    json_object_del(cfg, "Entrypoint");
  if (health)
    json_object_set_new(cfg, "Healthcheck", steal_ptr(&health));
  if (vm && !json_is_true(json_object_get(vm, "Enabled"))) {
    err_make(err, EINVAL, "--vm-cpus, --vm-memory and --kernel go with --vm");
    goto fail;
  }
  if (vm)
    json_object_set_new(hc, "VM", steal_ptr(&vm));
  if (networks_of(hc, nets, aliases, ip, special, err) < 0 || sysctl_check(hc, err) < 0)
    goto fail;
  if (f->rm && strcmp(json_string_value(json_object_get(json_object_get(hc, "RestartPolicy"), "Name")), "no")) {
    err_make(err, EINVAL, "--rm and --restart cannot go together: a removed container cannot restart");
    goto fail;
  }
  *rec = json_pack("{so so}", "Config", cfg, "HostConfig", hc);
  return 0;
bad_name:
  err_make(err, EINVAL, "--name `%s`: use letters, digits, `_`, `.` and `-`, starting with a letter or digit",
           optarg);
fail:
  json_decref(cfg);
  json_decref(hc);
  json_decref(health);
  json_decref(vm);
  return -1;
}
