/* config.json for a container (bundle.h). */
#include "engine/container/bundle.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/copy.h"
#include "common/file.h"
#include "common/json.h"
#include "engine/container/ctr.h"
#include "engine/container/netctr.h"
#include "engine/container/systemd.h"
#include "engine/volume/volume.h"
#include "runtime/spec/default.h"
#include "sys/pathsafe.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

json_t *bundle_image_config(const struct ctr *c)
{
  _cleanup_free_ char *p = path_join(c->dir, "image-config.json");
  json_t *j = NULL;
  if (json_load_path(p, &j, NULL) < 0 || !json_is_object(j)) {
    json_decref(j);
    return json_object();
  }
  return j;
}

json_t *bundle_command(const json_t *rec, const json_t *img)
{
  const json_t *cfg = json_object_get(rec, "Config");
  json_t *entry = json_object_get(cfg, "Entrypoint");
  json_t *cmd = json_object_get(cfg, "Cmd");
  json_t *out = json_array();
  /* --entrypoint drops the image's Cmd, as Docker does */
  if (!entry) {
    entry = json_object_get(img, "Entrypoint");
    if (!cmd)
      cmd = json_object_get(img, "Cmd");
  }
  json_array_extend(out, json_is_array(entry) ? entry : NULL);
  if (json_is_array(cmd))
    json_array_extend(out, cmd);
  return out;
}

static void env_set(json_t *env, const char *kv)
{
  const char *eq = strchr(kv, '=');
  size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
  size_t i;
  json_t *e;
  json_array_foreach(env, i, e)
  {
    const char *s = json_string_value(e);
    if (s && !strncmp(s, kv, klen) && s[klen] == '=') {
      json_array_set_new(env, i, json_string(kv));
      return;
    }
  }
  json_array_append_new(env, json_string(kv));
}

json_t *bundle_env(const json_t *rec, const json_t *img, const char *hostname)
{
  json_t *env = json_array();
  env_set(env, DEFAULT_PATH);
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(img, "Env"), i, e) if (json_is_string(e)) env_set(env, json_string_value(e));
  char h[128];
  snprintf(h, sizeof h, "HOSTNAME=%s", hostname);
  env_set(env, h);
  const json_t *cfg = json_object_get(rec, "Config");
  if (json_is_true(json_object_get(cfg, "Tty")))
    env_set(env, "TERM=xterm");
  json_array_foreach(json_object_get(cfg, "Env"), i, e) env_set(env, json_string_value(e));
  return env;
}

/* Lines of a colon-separated database (/etc/passwd, /etc/group) in the root. */
static char *read_db(int rootfd, const char *path)
{
  int fd = root_open(rootfd, path, O_RDONLY | O_CLOEXEC, NULL);
  if (fd < 0)
    return NULL;
  _cleanup_fclose_ FILE *f = fdopen(fd, "r");
  if (!f) {
    close(fd);
    return NULL;
  }
  char *buf = NULL;
  size_t cap = 0;
  ssize_t n = getdelim(&buf, &cap, 0, f);
  if (n < 0) {
    free(buf);
    return NULL;
  }
  return buf;
}

static bool all_digits(const char *s)
{
  return *s && strspn(s, "0123456789") == strlen(s);
}

/* Field `idx` of a colon-separated line, copied; NULL past the end. */
static char *field(const char *line, int idx)
{
  const char *p = line;
  for (int i = 0; i < idx; i++) {
    p = strchr(p, ':');
    if (!p)
      return NULL;
    p++;
  }
  size_t n = strcspn(p, ":\n");
  return strndup(p, n);
}

static char *find_line(char *db, int key_idx, const char *key)
{
  for (char *save = NULL, *line = db ? strtok_r(db, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
    _cleanup_free_ char *k = field(line, key_idx);
    if (k && !strcmp(k, key))
      return strdup(line);
  }
  return NULL;
}

int bundle_resolve_user(int rootfd, const char *spec, uid_t *uid, gid_t *gid, json_t **gids,
                        char **home, err_t *err)
{
  _cleanup_free_ char *u = strdup(spec && *spec ? spec : "0");
  char *g = strchr(u, ':');
  if (g)
    *g++ = 0;
  _cleanup_free_ char *passwd = read_db(rootfd, "/etc/passwd");
  _cleanup_free_ char *line = NULL;
  *home = strdup("/");
  if (all_digits(u)) {
    *uid = (uid_t)strtoul(u, NULL, 10);
    _cleanup_free_ char *copy = passwd ? strdup(passwd) : NULL;
    line = find_line(copy, 2, u);
    *gid = 0;
  } else {
    _cleanup_free_ char *copy = passwd ? strdup(passwd) : NULL;
    line = find_line(copy, 0, u);
    if (!line)
      return err_make(err, ENOENT, "-u %s: no user `%s` in the image's /etc/passwd", spec, u);
  }
  if (line) {
    _cleanup_free_ char *fu = field(line, 2), *fg = field(line, 3), *fh = field(line, 5);
    if (!fu || !fg || !all_digits(fu) || !all_digits(fg))
      return err_make(err, EINVAL, "-u %s: the image's /etc/passwd line for it is malformed", spec);
    *uid = (uid_t)strtoul(fu, NULL, 10);
    *gid = (gid_t)strtoul(fg, NULL, 10);
    if (fh && *fh) {
      free(*home);
      *home = strdup(fh);
    }
  }
  _cleanup_free_ char *group = read_db(rootfd, "/etc/group");
  if (g) {
    if (all_digits(g)) {
      *gid = (gid_t)strtoul(g, NULL, 10);
    } else {
      _cleanup_free_ char *copy = group ? strdup(group) : NULL;
      _cleanup_free_ char *gl = find_line(copy, 0, g);
      _cleanup_free_ char *fg = gl ? field(gl, 2) : NULL;
      if (!fg || !all_digits(fg))
        return err_make(err, ENOENT, "-u %s: no group `%s` in the image's /etc/group", spec, g);
      *gid = (gid_t)strtoul(fg, NULL, 10);
    }
  }
  /* supplementary groups: the ones listing the user by name */
  *gids = json_array();
  if (line && group) {
    _cleanup_free_ char *name = field(line, 0);
    for (char *save = NULL, *gl = strtok_r(group, "\n", &save); gl; gl = strtok_r(NULL, "\n", &save)) {
      _cleanup_free_ char *members = field(gl, 3), *fg = field(gl, 2);
      if (!members || !fg || !all_digits(fg))
        continue;
      for (char *s2 = NULL, *m = strtok_r(members, ",", &s2); m; m = strtok_r(NULL, ",", &s2))
        if (!strcmp(m, name) && (gid_t)strtoul(fg, NULL, 10) != *gid)
          json_array_append_new(*gids, json_integer((json_int_t)strtoul(fg, NULL, 10)));
    }
  }
  return 0;
}

static void remove_mount(json_t *mounts, const char *dst)
{
  for (size_t i = json_array_size(mounts); i-- > 0;)
    if (!strcmp(json_string_value(json_object_get(json_array_get(mounts, i), "destination")), dst))
      json_array_remove(mounts, i);
}

static int write_file(const char *dir, const char *name, const char *text, err_t *err)
{
  _cleanup_free_ char *p = path_join(dir, name);
  return file_write_atomic(p, text, strlen(text), 0644, false, err);
}

/* /etc/hosts, /etc/hostname and /etc/resolv.conf, bind-mounted from the
 * container's directory so that the image is never edited. */
static int etc_files(struct ctr *c, json_t *mounts, const char *hostname, const char *netmode, err_t *err)
{
  char hosts[2048];
  _cleanup_free_ char *own = netctr_hosts_lines(c->rec, hostname);
  snprintf(hosts, sizeof hosts,
           "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n%s",
           own && *own ? own : "");
  if (!own || !*own)
    snprintf(hosts + strlen(hosts), sizeof hosts - strlen(hosts), "127.0.1.1\t%s\n", hostname);
  char hn[300];
  snprintf(hn, sizeof hn, "%s\n", hostname);
  _cleanup_free_ char *resolv = NULL;
  if (!strcmp(netmode, "host"))
    file_read_all("/etc/resolv.conf", 1 << 16, &resolv, NULL, NULL);
  else
    resolv = netctr_resolv_conf(c->rec);
  if (write_file(c->dir, "hosts", hosts, err) < 0 || write_file(c->dir, "hostname", hn, err) < 0 ||
      write_file(c->dir, "resolv.conf", resolv ? resolv : "# no network\n",
                 err) < 0)
    return -1;
  static const char *const files[] = {"hosts", "hostname", "resolv.conf"};
  for (size_t i = 0; i < 3; i++) {
    char dst[64];
    snprintf(dst, sizeof dst, "/etc/%s", files[i]);
    _cleanup_free_ char *src = path_join(c->dir, files[i]);
    remove_mount(mounts, dst);
    json_array_append_new(mounts, json_pack("{ss ss ss s[ssss]}", "destination", dst, "type", "bind", "source",
                                            src, "options", "rbind", "nosuid", "nodev", "noexec"));
  }
  return 0;
}

/* An empty new volume takes what the image has at its target. */
static int copy_up(int rootfd, const char *target, const char *data, err_t *err)
{
  int src = root_open(rootfd, target, O_RDONLY | O_DIRECTORY | O_CLOEXEC, NULL);
  if (src < 0)
    return 0; /* nothing there in the image */
  _cleanup_close_ int dst = open(data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dst < 0) {
    close(src);
    return err_sys(err, "cannot open the volume `%s`", data);
  }
  int r = copy_tree_fd(src, dst, err);
  struct stat st;
  /* the volume's root takes the owner and mode of the image's directory */
  if (r == 0 && fstat(src, &st) == 0) {
    if (fchown(dst, st.st_uid, st.st_gid) < 0 || fchmod(dst, st.st_mode & 07777) < 0)
      r = err_sys(err, "cannot set the owner of `%s`", data);
  }
  close(src);
  return r;
}

static int user_mounts(struct ctr *c, int rootfd, json_t *mounts, err_t *err)
{
  json_t *hc = json_object_get(c->rec, "HostConfig");
  size_t i;
  json_t *m;
  bool renamed = false;
  json_array_foreach(json_object_get(hc, "Mounts"), i, m)
  {
    const char *type = json_string_value(json_object_get(m, "Type"));
    const char *src = json_string_value(json_object_get(m, "Source"));
    const char *dst = json_string_value(json_object_get(m, "Target"));
    bool ro = json_is_true(json_object_get(m, "ReadOnly"));
    json_t *opts = json_array();
    size_t k;
    json_t *o;
    if (!strcmp(type, "tmpfs")) {
      json_array_append_new(opts, json_string("nosuid"));
      json_array_append_new(opts, json_string("nodev"));
      json_array_foreach(json_object_get(m, "Options"), k, o) json_array_append(opts, o);
      remove_mount(mounts, dst);
      json_array_append_new(mounts, json_pack("{ss ss ss so}", "destination", dst, "type", "tmpfs", "source",
                                              "tmpfs", "options", opts));
      continue;
    }
    _cleanup_free_ char *host = NULL;
    if (!strcmp(type, "volume")) {
      char anon[65];
      bool created = false;
      if (!*src) {
        volume_new_name(anon);
        json_object_set_new(m, "Source", json_string(anon));
        json_object_set_new(m, "Anonymous", json_true());
        src = anon;
        renamed = true;
      }
      if (volume_ensure(src, json_is_true(json_object_get(m, "Anonymous")), &created, err) < 0) {
        json_decref(opts);
        return err_context(err, "volume for `%s`", dst);
      }
      host = volume_data_path(src);
      if (created && copy_up(rootfd, dst, host, err) < 0) {
        json_decref(opts);
        return err_context(err, "filling the volume `%s` from the image's `%s`", src, dst);
      }
    } else {
      host = strdup(src);
      struct stat st;
      if (stat(host, &st) < 0) {
        /* -v makes a missing host directory, as Docker does; --mount refuses */
        if (errno != ENOENT || !json_is_true(json_object_get(m, "CreateSource")) || mkdir_p(host, 0755, NULL) < 0) {
          json_decref(opts);
          return err_make(err, ENOENT, "bind mount source `%s` does not exist: create it or fix the path", src);
        }
      }
    }
    json_array_append_new(opts, json_string("rbind"));
    if (ro)
      json_array_append_new(opts, json_string("ro"));
    json_array_foreach(json_object_get(m, "Options"), k, o) json_array_append(opts, o);
    remove_mount(mounts, dst);
    json_array_append_new(mounts, json_pack("{ss ss ss so}", "destination", dst, "type", "bind", "source", host,
                                            "options", opts));
  }
  if (renamed) {
    _cleanup_free_ char *p = path_join(c->dir, "container.json");
    if (json_write_path(p, c->rec, JSON_INDENT(2), false, err) < 0)
      return -1;
  }
  return 0;
}

static json_t *capabilities(const json_t *hc)
{
  json_t *set = json_array();
  bool all = json_is_true(json_object_get(hc, "Privileged"));
  size_t i;
  json_t *a;
  json_array_foreach(json_object_get(hc, "CapAdd"), i, a) if (!strcmp(json_string_value(a), "ALL")) all = true;
  if (all) {
    for (int cap = 0; cap <= 40; cap++) {
      static const char *const names[] = {
          "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
          "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
          "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
          "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
          "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
          "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
          "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
          "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"};
      json_array_append_new(set, json_string(names[cap]));
    }
  } else {
    for (const char *const *c = spec_default_caps; *c; c++)
      json_array_append_new(set, json_string(*c));
    json_array_foreach(json_object_get(hc, "CapAdd"), i, a)
    {
      bool have = false;
      size_t k;
      json_t *s;
      json_array_foreach(set, k, s) have = have || json_equal(s, a);
      if (!have)
        json_array_append(set, a);
    }
  }
  json_array_foreach(json_object_get(hc, "CapDrop"), i, a)
  {
    if (!strcmp(json_string_value(a), "ALL")) {
      json_array_clear(set);
      /* --cap-drop ALL --cap-add X keeps X */
      size_t k;
      json_t *b;
      json_array_foreach(json_object_get(hc, "CapAdd"), k, b) if (strcmp(json_string_value(b), "ALL"))
          json_array_append(set, b);
      continue;
    }
    for (size_t k = json_array_size(set); k-- > 0;)
      if (json_equal(json_array_get(set, k), a))
        json_array_remove(set, k);
  }
  return set;
}

static int security(json_t *spec, const json_t *hc, json_t *caps, err_t *err)
{
  json_t *proc = json_object_get(spec, "process"), *lx = json_object_get(spec, "linux");
  bool nnp = false, unconfined = json_is_true(json_object_get(hc, "Privileged"));
  const char *profile = NULL;
  size_t i;
  json_t *o;
  json_array_foreach(json_object_get(hc, "SecurityOpt"), i, o)
  {
    const char *s = json_string_value(o);
    if (!strcmp(s, "no-new-privileges") || !strcmp(s, "no-new-privileges=true"))
      nnp = true;
    else if (!strcmp(s, "seccomp=unconfined") || !strcmp(s, "seccomp:unconfined"))
      unconfined = true;
    else if (!strncmp(s, "seccomp=", 8))
      profile = s + 8;
    else if (!strncmp(s, "apparmor=", 9) && strcmp(s + 9, "unconfined"))
      json_object_set_new(proc, "apparmorProfile", json_string(s + 9));
    else if (!strncmp(s, "label=", 6) && strncmp(s + 6, "disable", 7))
      json_object_set_new(proc, "selinuxLabel", json_string(s + 6));
  }
  json_object_set_new(proc, "noNewPrivileges", json_boolean(nnp));
  json_t *sets = json_object();
  static const char *const names[] = {"bounding", "effective", "permitted", NULL};
  for (const char *const *n = names; *n; n++)
    json_object_set(sets, *n, caps);
  json_object_set_new(proc, "capabilities", sets);
  if (profile) {
    json_t *p = NULL;
    if (json_load_path(profile, &p, err) < 0)
      return err_context(err, "--security-opt seccomp=%s", profile);
    json_object_set_new(lx, "seccomp", seccomp_from_profile(p, caps));
    json_decref(p);
  } else if (!unconfined) {
    json_object_set_new(lx, "seccomp", seccomp_default_profile(caps));
  }
  if (json_is_true(json_object_get(hc, "Privileged"))) {
    json_object_set_new(lx, "maskedPaths", json_array());
    json_object_set_new(lx, "readonlyPaths", json_array());
  }
  return 0;
}

static void resources(json_t *spec, const json_t *hc)
{
  json_t *res = json_object_get(json_object_get(spec, "linux"), "resources");
  json_int_t mem = json_integer_value(json_object_get(hc, "Memory"));
  json_int_t ncpu = json_integer_value(json_object_get(hc, "NanoCpus"));
  json_int_t pids = json_integer_value(json_object_get(hc, "PidsLimit"));
  if (mem > 0)
    json_object_set_new(res, "memory", json_pack("{sI}", "limit", mem));
  if (ncpu > 0)
    json_object_set_new(res, "cpu", json_pack("{sI sI}", "quota", ncpu / 10000, "period", (json_int_t)100000));
  if (pids != 0)
    json_object_set_new(res, "pids", json_pack("{sI}", "limit", pids));
}

int bundle_write(struct ctr *c, const char *rootfs, err_t *err)
{
  json_t *rec = c->rec, *cfg = json_object_get(rec, "Config"), *hc = json_object_get(rec, "HostConfig");
  _cleanup_json_ json_t *img = bundle_image_config(c);
  _cleanup_json_ json_t *spec = spec_default(false);
  json_t *proc = json_object_get(spec, "process"), *lx = json_object_get(spec, "linux");
  json_t *mounts = json_object_get(spec, "mounts");
  _cleanup_close_ int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return err_sys(err, "cannot open the container's root `%s`", rootfs);

  json_t *args = bundle_command(rec, img);
  if (!json_array_size(args)) {
    json_decref(args);
    return err_make(err, EINVAL, "no command: the image has no Entrypoint or Cmd; give one after the image name");
  }
  bool sysmode = systemd_wanted(hc, args);
  if (json_is_true(json_object_get(hc, "Init"))) {
    _cleanup_free_ char *init = engine_helper("isola-init");
    json_array_insert_new(args, 0, json_string("--"));
    json_array_insert_new(args, 0, json_string(BUNDLE_INIT_PATH));
    json_array_append_new(mounts, json_pack("{ss ss ss s[sss]}", "destination", BUNDLE_INIT_PATH, "type", "bind",
                                            "source", init, "options", "bind", "ro", "nosuid"));
  }
  json_object_set_new(proc, "args", args);

  char shortid[13];
  memcpy(shortid, c->id, 12);
  shortid[12] = 0;
  const char *hostname = json_string_value(json_object_get(cfg, "Hostname"));
  const char *netmode = json_string_value(json_object_get(hc, "NetworkMode"));
  if (!netmode)
    netmode = "private";
  char hostbuf[128];
  if (!hostname && !strcmp(netmode, "host") && gethostname(hostbuf, sizeof hostbuf) == 0)
    hostname = hostbuf;
  if (!hostname)
    hostname = shortid;
  json_object_set_new(spec, "hostname", json_string(hostname));
  json_object_set_new(proc, "env", bundle_env(rec, img, hostname));
  json_object_set_new(proc, "terminal", json_boolean(json_is_true(json_object_get(cfg, "Tty"))));

  const char *user = json_string_value(json_object_get(cfg, "User"));
  if (!user)
    user = json_string_value(json_object_get(img, "User"));
  uid_t uid;
  gid_t gid;
  json_t *gids = NULL;
  _cleanup_free_ char *home = NULL;
  if (bundle_resolve_user(rootfd, user, &uid, &gid, &gids, &home, err) < 0)
    return -1;
  json_t *u = json_pack("{sI sI}", "uid", (json_int_t)uid, "gid", (json_int_t)gid);
  if (json_array_size(gids))
    json_object_set_new(u, "additionalGids", gids);
  else
    json_decref(gids);
  json_object_set_new(proc, "user", u);
  bool has_home = false;
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(proc, "env"), i, e) has_home = has_home || !strncmp(json_string_value(e), "HOME=", 5);
  if (!has_home) {
    char h[PATH_MAX + 8];
    snprintf(h, sizeof h, "HOME=%s", home);
    json_array_append_new(json_object_get(proc, "env"), json_string(h));
  }

  const char *cwd = json_string_value(json_object_get(cfg, "WorkingDir"));
  if (!cwd || !*cwd)
    cwd = json_string_value(json_object_get(img, "WorkingDir"));
  if (!cwd || !*cwd)
    cwd = "/";
  if (strcmp(cwd, "/")) {
    /* Docker makes a missing working directory */
    int d = root_mkpath(rootfd, cwd, false, 0755, NULL);
    if (d >= 0)
      close(d);
  }
  json_object_set_new(proc, "cwd", json_string(cwd));
  struct rlimit nofile;
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
    rlim_t lim = nofile.rlim_max < 1048576 ? nofile.rlim_max : 1048576;
    json_object_set_new(proc, "rlimits", json_pack("[{ss sI sI}]", "type", "RLIMIT_NOFILE", "hard", (json_int_t)lim,
                                                   "soft", (json_int_t)lim));
  }

  json_object_set_new(spec, "root", json_pack("{ss sb}", "path", rootfs, "readonly",
                                              json_is_true(json_object_get(hc, "ReadonlyRootfs"))));
  char cg[CTR_ID_LEN + 16];
  snprintf(cg, sizeof cg, "/isola/%s", c->id);
  json_object_set_new(lx, "cgroupsPath", json_string(cg));

  json_t *nss = json_object_get(lx, "namespaces");
  if (!strcmp(netmode, "host")) {
    for (size_t k = json_array_size(nss); k-- > 0;)
      if (!strcmp(json_string_value(json_object_get(json_array_get(nss, k), "type")), "network"))
        json_array_remove(nss, k);
  } else if (!strncmp(netmode, "container:", 10)) {
    struct ctr other;
    if (ctr_open(netmode + 10, &other, err) < 0)
      return err_context(err, "--network %s", netmode);
    json_int_t pid = json_integer_value(json_object_get(other.state, "Pid"));
    bool running = ctr_is_running(&other);
    ctr_close(&other);
    if (!running || pid <= 0)
      return err_make(err, EINVAL, "--network %s: that container is not running", netmode);
    char nsp[64];
    snprintf(nsp, sizeof nsp, "/proc/%lld/ns/net", (long long)pid);
    for (size_t k = 0; k < json_array_size(nss); k++) {
      json_t *n = json_array_get(nss, k);
      if (!strcmp(json_string_value(json_object_get(n, "type")), "network"))
        json_object_set_new(n, "path", json_string(nsp));
    }
  }

  if (strcmp(netmode, "host") && strncmp(netmode, "container:", 10)) {
    /* ping without CAP_NET_RAW, through ICMP datagram sockets (Podman does
     * the same) */
    json_t *sc = json_object_get(lx, "sysctl");
    if (!sc)
      json_object_set_new(lx, "sysctl", sc = json_object());
    json_object_set_new(sc, "net.ipv4.ping_group_range", json_string("0 2147483647"));
  }
  /* --sysctl (checked by sysctl_check) after the defaults: it overrides them */
  json_t *user_sc = json_object_get(hc, "Sysctls");
  if (json_object_size(user_sc)) {
    if (!json_object_get(lx, "sysctl"))
      json_object_set_new(lx, "sysctl", json_object());
    json_object_update(json_object_get(lx, "sysctl"), user_sc);
  }
  if (etc_files(c, mounts, hostname, netmode, err) < 0 || user_mounts(c, rootfd, mounts, err) < 0)
    return -1;
  if (sysmode && systemd_bundle(c, rootfd, spec, err) < 0)
    return -1;
  json_t *caps = capabilities(hc);
  int r = security(spec, hc, caps, err);
  json_decref(caps);
  if (r < 0)
    return -1;
  if (sysmode)
    systemd_seccomp(spec, hc);
  resources(spec, hc);
  if (json_is_true(json_object_get(hc, "Privileged"))) {
    json_array_foreach(mounts, i, e)
    {
      if (!strcmp(json_string_value(json_object_get(e, "destination")), "/sys"))
        json_object_set_new(e, "options", json_pack("[sss]", "nosuid", "noexec", "nodev"));
    }
  }

  _cleanup_free_ char *bdir = path_join(c->dir, "bundle");
  if (mkdir_p(bdir, 0700, err) < 0)
    return -1;
  _cleanup_free_ char *path = path_join(bdir, "config.json");
  return json_write_path(path, spec, JSON_INDENT(1), false, err);
}
