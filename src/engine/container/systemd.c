/* --systemd: what an init system needs in a container (systemd.h). */
#include "engine/container/systemd.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "engine/container/ctr.h"
#include "sys/pathsafe.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

bool systemd_wanted(const json_t *hc, const json_t *args)
{
  const char *sd = json_string_value(json_object_get(hc, "Systemd"));
  if (sd && !strcmp(sd, "always"))
    return true;
  if (!sd || strcmp(sd, "true"))
    return false;
  const char *a0 = json_string_value(json_array_get(args, 0));
  if (!a0)
    return false;
  const char *base = strrchr(a0, '/') ? strrchr(a0, '/') + 1 : a0;
  return !strcmp(base, "init") || !strcmp(base, "systemd");
}

void systemd_record(json_t *rec, const json_t *cmd)
{
  if (systemd_wanted(json_object_get(rec, "HostConfig"), cmd))
    json_object_set_new(json_object_get(rec, "Config"), "Tty", json_true());
}

static bool is_fs(const char *path, long magic)
{
  struct statfs sf;
  return statfs(path, &sf) == 0 && sf.f_type == magic;
}

static void remove_mount(json_t *mounts, const char *dst)
{
  for (size_t i = json_array_size(mounts); i-- > 0;)
    if (!strcmp(json_string_value(json_object_get(json_array_get(mounts, i), "destination")), dst))
      json_array_remove(mounts, i);
}

/* Podman's tmpfs mounts for systemd mode (libpod setupSystemd): systemd
 * expects /run and /run/lock on tmpfs, and cleans /tmp and the journal
 * itself; tmpcopyup keeps what the image has there. */
static void tmpfs_mounts(json_t *mounts)
{
  static const char *const tmpfs[] = {"/run", "/run/lock", "/tmp", "/var/log/journal", NULL};
  for (const char *const *t = tmpfs; *t; t++) {
    remove_mount(mounts, *t);
    json_array_append_new(mounts, json_pack("{ss ss ss s[sssss]}", "destination", *t, "type", "tmpfs", "source",
                                            "tmpfs", "options", "rw", "rprivate", "nosuid", "nodev", "tmpcopyup"));
  }
}

static bool has_mount(const json_t *mounts, const char *dst)
{
  size_t i;
  json_t *m;
  json_array_foreach(mounts, i, m) if (!strcmp(json_string_value(json_object_get(m, "destination")), dst)) return true;
  return false;
}

/* systemd mounts /dev/shm itself when it is missing ("Failed to mount API
 * filesystems" without CAP_SYS_ADMIN): give it runc's default one. */
static void shm_mount(json_t *mounts)
{
  if (!has_mount(mounts, "/dev/shm"))
    json_array_append_new(mounts, json_pack("{ss ss ss s[sssss]}", "destination", "/dev/shm", "type", "tmpfs",
                                            "source", "shm", "options", "nosuid", "noexec", "nodev", "mode=1777",
                                            "size=65536k"));
}

static void bind_rw(json_t *mounts, const char *src, const char *dst)
{
  json_array_append_new(mounts, json_pack("{ss ss ss s[sssss]}", "destination", dst, "type", "bind", "source", src,
                                          "options", "rbind", "rw", "nosuid", "nodev", "noexec"));
}

/* A cgroup tree systemd can manage, in a cgroup namespace so that its own
 * cgroup reads as "/".  On cgroup v2 the whole mount is writable: the kernel
 * refuses writes to the namespace root's own limits.  On v1 and hybrid
 * hosts (cgroup v1 has no such guard) the controllers stay read-only and
 * only the hierarchies systemd tracks its units in are writable, each bound
 * from the container's own cgroup: name=systemd (as Podman binds it) and,
 * on hybrid hosts, the cgroup2 one at unified/ (systemd 252 then runs in
 * its hybrid mode, with cgroup-empty events from cgroup.events). */
static void cgroup_mounts(json_t *spec, json_t *mounts, const char *cgpath)
{
  bool v2 = is_fs(CGROUP_ROOT, CGROUP2_SUPER_MAGIC);
  size_t i;
  json_t *m;
  json_array_foreach(mounts, i, m)
  {
    if (!strcmp(json_string_value(json_object_get(m, "destination")), CGROUP_ROOT))
      json_object_set_new(m, "options", v2 ? json_pack("[ssss]", "rw", "nosuid", "noexec", "nodev")
                                           : json_pack("[ssss]", "ro", "nosuid", "noexec", "nodev"));
  }
  if (!v2 && cgpath) {
    static const struct {
      const char *name;
      long magic;
    } own[] = {{"systemd", CGROUP_SUPER_MAGIC}, {"unified", CGROUP2_SUPER_MAGIC}};
    for (size_t k = 0; k < sizeof own / sizeof own[0]; k++) {
      char host[512], src[512], dst[64];
      snprintf(host, sizeof host, CGROUP_ROOT "/%s", own[k].name);
      snprintf(src, sizeof src, "%s%s", host, cgpath);
      snprintf(dst, sizeof dst, CGROUP_ROOT "/%s", own[k].name);
      /* the runtime makes `src` (it joins every hierarchy) before it mounts */
      if (is_fs(host, own[k].magic))
        bind_rw(mounts, src, dst);
    }
  }
  json_t *nss = json_object_get(json_object_get(spec, "linux"), "namespaces");
  json_array_foreach(nss, i, m) if (!strcmp(json_string_value(json_object_get(m, "type")), "cgroup")) return;
  json_array_append_new(nss, json_pack("{ss}", "type", "cgroup"));
}

static bool env_has(const json_t *env, const char *key)
{
  size_t n = strlen(key), i;
  json_t *e;
  json_array_foreach(env, i, e)
  {
    const char *s = json_string_value(e);
    if (s && !strncmp(s, key, n) && s[n] == '=')
      return true;
  }
  return false;
}

/* systemd's container interface (systemd.io/CONTAINER_INTERFACE):
 * $container names the manager, $container_uuid the container (Podman
 * passes the first 32 hex digits of the ID, as here).  -e wins. */
static void environment(json_t *env, const char *uuid)
{
  char kv[64];
  if (!env_has(env, "container"))
    json_array_append_new(env, json_string("container=isola"));
  snprintf(kv, sizeof kv, "container_uuid=%s", uuid);
  if (!env_has(env, "container_uuid"))
    json_array_append_new(env, json_string(kv));
}

/* The container's own machine ID in its root: an image built with
 * debootstrap carries the machine ID of its build (in /etc/machine-id and
 * /var/lib/dbus/machine-id, which systemd prefers to $container_uuid), and
 * every container made from it would share it.  Written into the
 * container's layer, not bind-mounted: a mount on /etc/machine-id makes
 * systemd-machine-id-commit.service try to unmount it, and fail. */
static int machine_id(int rootfd, const char *uuid, err_t *err)
{
  _cleanup_close_ int etc = root_open(rootfd, "/etc", O_PATH | O_DIRECTORY, NULL);
  if (etc < 0)
    return 0; /* no /etc: not a system image, nothing to give */
  char line[40];
  snprintf(line, sizeof line, "%s\n", uuid);
  char cur[64] = "";
  _cleanup_close_ int in = openat(etc, "machine-id", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (in >= 0) {
    ssize_t n = read(in, cur, sizeof cur - 1);
    cur[n > 0 ? n : 0] = 0;
    if (!strcmp(cur, line))
      return 0;
  } else if (errno == ELOOP) {
    return 0; /* a link (to /run/machine-id, say): the image decides */
  }
  _cleanup_close_ int out =
      openat(etc, "machine-id", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0444);
  if (out < 0 || write(out, line, strlen(line)) != (ssize_t)strlen(line))
    return err_sys(err, "--systemd: cannot write the container's /etc/machine-id");
  return 0;
}

int systemd_bundle(const struct ctr *c, int rootfd, json_t *spec, err_t *err)
{
  json_t *mounts = json_object_get(spec, "mounts");
  char uuid[33];
  memcpy(uuid, c->id, 32);
  uuid[32] = 0;
  tmpfs_mounts(mounts);
  shm_mount(mounts);
  cgroup_mounts(spec, mounts, json_string_value(json_object_get(json_object_get(spec, "linux"), "cgroupsPath")));
  environment(json_object_get(json_object_get(spec, "process"), "env"), uuid);
  return machine_id(rootfd, uuid, err);
}

static bool names_drop(json_t *names, const char *name)
{
  for (size_t i = json_array_size(names); i-- > 0;)
    if (!strcmp(json_string_value(json_array_get(names, i)), name)) {
      json_array_remove(names, i);
      return true;
    }
  return false;
}

void systemd_seccomp(json_t *spec, const json_t *hc)
{
  size_t i;
  json_t *o;
  json_array_foreach(json_object_get(hc, "SecurityOpt"), i, o) if (!strncmp(json_string_value(o), "seccomp", 7)) return;
  json_t *rules = json_object_get(json_object_get(json_object_get(spec, "linux"), "seccomp"), "syscalls");
  json_t *allow = NULL, *r;
  bool denied = false;
  json_array_foreach(rules, i, r)
  {
    const char *action = json_string_value(json_object_get(r, "action"));
    if (!action || json_object_get(r, "args"))
      continue;
    if (!strcmp(action, "SCMP_ACT_ALLOW") && !allow)
      allow = json_object_get(r, "names");
    else if (!strcmp(action, "SCMP_ACT_ERRNO"))
      denied = names_drop(json_object_get(r, "names"), "name_to_handle_at") || denied;
  }
  if (denied && allow)
    json_array_append_new(allow, json_string("name_to_handle_at"));
}
