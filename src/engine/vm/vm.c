/* microVM containers (vm.h). */
#include "engine/vm/vm.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "common/cleanup.h"
#include "common/file.h"
#include "common/json.h"
#include "common/log.h"
#include "engine/base/proc.h"
#include "engine/container/bundle.h"
#include "engine/container/ctr.h"
#include "engine/container/netctr.h"
#include "engine/engine.h"
#include "engine/monitor/attach.h"
#include "image/image.h"
#include "image/rootfs.h"

#define AGENT_PORT 1024
#define GUEST_CID 3
#define OVERLAY_BYTES (4ull << 30)

/* --kernel, else $ISOLA_KERNEL, else the newest kernel fetched by
 * guest/kernel/fetch-debian into /var/cache/isola/kernel. */
static char *kernel_path(const json_t *vm, err_t *err)
{
  const char *k = json_string_value(json_object_get(vm, "Kernel"));
  if (!k)
    k = getenv("ISOLA_KERNEL");
  if (k)
    return access(k, R_OK) == 0 ? strdup(k) : (err_sys(err, "--kernel `%s`", k), NULL);
  glob_t g;
  char *found = NULL;
  if (glob("/var/cache/isola/kernel/debian-*/bzImage", 0, NULL, &g) == 0 && g.gl_pathc)
    found = strdup(g.gl_pathv[g.gl_pathc - 1]);
  globfree(&g);
  if (!found)
    err_make(err, ENOENT,
             "--vm needs a Linux kernel: give --kernel PATH (with a modules/ directory beside it) or run "
             "guest/kernel/fetch-debian");
  return found;
}

static int add_file(struct archive *a, const char *name, mode_t mode, const void *data, size_t len)
{
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_mode(e, mode);
  archive_entry_set_size(e, (la_int64_t)len);
  int r = archive_write_header(a, e);
  if (r == ARCHIVE_OK && len)
    r = archive_write_data(a, data, len) == (la_ssize_t)len ? ARCHIVE_OK : ARCHIVE_FATAL;
  archive_entry_free(e);
  return r == ARCHIVE_OK ? 0 : -1;
}

/* The initramfs: isola-init as /init and the kernel's modules (the
 * modules/ directory beside the kernel: *.ko and isola.list, in load
 * order), as a newc cpio written with libarchive. */
static int build_initrd(const char *kernel, const char *out, err_t *err)
{
  _cleanup_free_ char *init = engine_helper("isola-init");
  _cleanup_free_ char *kdir = strdup(kernel);
  char *slash = strrchr(kdir, '/');
  if (slash)
    *slash = 0;
  _cleanup_free_ char *mods = path_join(slash ? kdir : ".", "modules");
  _cleanup_free_ char *initbin = NULL;
  size_t initlen = 0;
  if (file_read_all(init, 64 << 20, &initbin, &initlen, err) < 0)
    return err_context(err, "isola-init for the microVM");
  struct archive *a = archive_write_new();
  archive_write_set_format_cpio_newc(a);
  _cleanup_free_ char *tmp = NULL;
  if (asprintf(&tmp, "%s.tmp", out) < 0 || archive_write_open_filename(a, tmp) != ARCHIVE_OK) {
    archive_write_free(a);
    return err_make(err, EIO, "cannot write `%s`", out);
  }
  static const char *const dirs[] = {"dev", "proc", "sys", "run", "tmp", "etc", "lib", "lib/modules", "newroot", NULL};
  int r = 0;
  for (const char *const *d = dirs; *d && r == 0; d++)
    r = add_file(a, *d, AE_IFDIR | 0755, NULL, 0);
  if (r == 0)
    r = add_file(a, "init", AE_IFREG | 0755, initbin, initlen);
  _cleanup_closedir_ DIR *md = opendir(mods);
  struct dirent *e;
  while (r == 0 && md && (e = readdir(md))) {
    if (e->d_name[0] == '.')
      continue;
    _cleanup_free_ char *p = path_join(mods, e->d_name);
    _cleanup_free_ char *blob = NULL;
    size_t len = 0;
    char name[300];
    snprintf(name, sizeof name, "lib/modules/%s", e->d_name);
    if (file_read_all(p, 64 << 20, &blob, &len, err) < 0 || add_file(a, name, AE_IFREG | 0644, blob, len) < 0)
      r = -1;
  }
  if (archive_write_close(a) != ARCHIVE_OK)
    r = -1;
  archive_write_free(a);
  if (r < 0 || rename(tmp, out) < 0) {
    unlink(tmp);
    return err_get(err) ? -1 : err_make(err, EIO, "cannot write the initramfs `%s`", out);
  }
  return 0;
}

static int overlay_disk(const char *path, err_t *err)
{
  if (access(path, F_OK) == 0)
    return 0;
  _cleanup_free_ char *tmp = NULL;
  if (asprintf(&tmp, "%s.tmp", path) < 0)
    return err_sys(err, "out of memory");
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || ftruncate(fd, (off_t)OVERLAY_BYTES) < 0) {
    if (fd >= 0)
      close(fd);
    return err_sys(err, "cannot make the overlay disk `%s`", path);
  }
  close(fd);
  const char *argv[] = {"mke2fs", "-q", "-F", "-t", "ext4", "-E", "lazy_itable_init=1", tmp, NULL};
  pid_t pid = proc_spawn(argv, -1, -1, -1, err);
  if (pid < 0 || proc_wait(pid) != 0) {
    unlink(tmp);
    return err_make(err, EIO, "mke2fs could not format the overlay disk `%s`", path);
  }
  return rename(tmp, path) < 0 ? err_sys(err, "rename `%s`", tmp) : 0;
}

/* What the agent runs: the container's process, as bundle.c would make it. */
static json_t *exec_request(struct ctr *c, const char *rootfs, err_t *err)
{
  json_t *rec = c->rec, *cfg = json_object_get(rec, "Config");
  _cleanup_json_ json_t *img = bundle_image_config(c);
  json_t *args = bundle_command(rec, img);
  if (!json_array_size(args)) {
    json_decref(args);
    err_make(err, EINVAL, "no command: the image has no Entrypoint or Cmd; give one after the image name");
    return NULL;
  }
  const char *user = json_string_value(json_object_get(cfg, "User"));
  if (!user)
    user = json_string_value(json_object_get(img, "User"));
  uid_t uid = 0;
  gid_t gid = 0;
  json_t *gids = NULL;
  _cleanup_free_ char *home = NULL;
  _cleanup_close_ int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0 || bundle_resolve_user(rootfd, user, &uid, &gid, &gids, &home, err) < 0) {
    json_decref(args);
    return NULL;
  }
  json_decref(gids);
  const char *cwd = json_string_value(json_object_get(cfg, "WorkingDir"));
  if (!cwd || !*cwd)
    cwd = json_string_value(json_object_get(img, "WorkingDir"));
  const char *hostname = json_string_value(json_object_get(cfg, "Hostname"));
  char shortid[13];
  memcpy(shortid, c->id, 12);
  shortid[12] = 0;
  json_t *env = bundle_env(rec, img, hostname ? hostname : shortid);
  return json_pack("{so so ss sI sI}", "args", args, "env", env, "cwd", cwd && *cwd ? cwd : "/", "uid",
                   (json_int_t)uid, "gid", (json_int_t)gid);
}

/* RUN/vsock/ID12.sock: short, for sun_path's 108 bytes */
static char *vsock_path(const struct ctr *c)
{
  char rel[64];
  snprintf(rel, sizeof rel, "vsock/%.12s.sock", c->id);
  return engine_run_path(rel);
}

/* vm.json: the VMM's command line and the agent's exec request. */
int vm_write_plan(struct ctr *c, err_t *err)
{
  json_t *vm = json_object_get(json_object_get(c->rec, "HostConfig"), "VM");
  _cleanup_free_ char *kernel = kernel_path(vm, err);
  if (!kernel)
    return -1;
  struct store st;
  struct image img;
  struct digest md;
  if (store_open(&st, engine_root, err) < 0)
    return -1;
  int r = digest_parse(json_string_value(json_object_get(c->rec, "ImageManifest")), &md, err);
  if (r == 0)
    r = image_load_manifest(&st, &md, &img, err);
  _cleanup_free_ char *disk = NULL;
  json_t *exec = NULL;
  if (r == 0) {
    disk = rootfs_disk(&st, &img, DISK_EXT4, err);
    /* the image's root, read-only, for users and groups */
    _cleanup_free_ char *rootfs = path_join(c->dir, "rootfs");
    if (disk && rootfs_mount(&st, &img, NULL, NULL, rootfs, err) == 0) {
      exec = exec_request(c, rootfs, err);
      proc_unmount_all(rootfs);
    }
    image_release(&img);
  }
  store_close(&st);
  if (!disk || !exec)
    return -1;
  _cleanup_free_ char *initrd = path_join(c->dir, "initrd.cpio");
  _cleanup_free_ char *overlay = path_join(c->dir, "overlay.img");
  if (build_initrd(kernel, initrd, err) < 0 || overlay_disk(overlay, err) < 0) {
    json_decref(exec);
    return -1;
  }
  _cleanup_free_ char *vmm = engine_helper("isola-vmm");
  _cleanup_free_ char *vsock = vsock_path(c);
  _cleanup_free_ char *vsdir = engine_run_path("vsock");
  if (mkdir_p(vsdir, 0700, err) < 0) {
    json_decref(exec);
    return -1;
  }
  char cpus[16], mem[32], vs[PATH_MAX + 32], rootdisk[PATH_MAX + 8], cmdline[512];
  snprintf(cpus, sizeof cpus, "%lld", (long long)json_integer_value(json_object_get(vm, "Cpus")));
  snprintf(mem, sizeof mem, "%lld", (long long)(json_integer_value(json_object_get(vm, "Memory")) >> 20));
  snprintf(vs, sizeof vs, "cid=%d,uds=%s", GUEST_CID, vsock);
  snprintf(rootdisk, sizeof rootdisk, "%s,ro", disk);
  const char *hostname = json_string_value(json_object_get(json_object_get(c->rec, "Config"), "Hostname"));
  char shortid[13];
  memcpy(shortid, c->id, 12);
  shortid[12] = 0;
  snprintf(cmdline, sizeof cmdline,
           "console=ttyS0 reboot=k panic=-1 quiet isola.root=/dev/vda isola.rootro=1 isola.overlay=/dev/vdb "
           "isola.hostname=%.64s",
           hostname ? hostname : shortid);
  /* isola-init sets the guest's address, route and DNS from these (the
   * network's dnsmasq would also give them by DHCP to the tap's MAC) */
  json_t *ns = json_object_get(c->rec, "NetworkSettings");
  const char *first = json_string_value(
      json_object_get(json_array_get(json_object_get(json_object_get(c->rec, "HostConfig"), "Networks"), 0), "Name"));
  json_t *ep = json_object_get(json_object_get(ns, "Networks"), first ? first : "");
  const char *ip = json_string_value(json_object_get(ep, "IPAddress"));
  const char *gw = json_string_value(json_object_get(ep, "Gateway"));
  if (ip && *ip && gw && *gw) {
    size_t l = strlen(cmdline);
    snprintf(cmdline + l, sizeof cmdline - l, " isola.ip=%s/%lld isola.gw=%s isola.dns=%s", ip,
             (long long)json_integer_value(json_object_get(ep, "IPPrefixLen")), gw, gw);
  }
  json_t *argv = json_pack("[s ss ss ss ss ss ss ss ss s]", vmm, "--kernel", kernel, "--initrd", initrd, "--cmdline",
                           cmdline, "--cpus", cpus, "--memory", mem, "--disk", rootdisk, "--disk", overlay, "--vsock",
                           vs, "--rng");
  if (netctr_vm_taps(c, argv, err) < 0) {
    json_decref(argv);
    json_decref(exec);
    return -1;
  }
  char agent[PATH_MAX + 16];
  const char *test_agent = getenv("ISOLA_VM_AGENT");
  snprintf(agent, sizeof agent, "vsock:%s", vsock);
  json_t *plan = json_pack("{so so ss}", "vmm", argv, "exec", exec, "agent", test_agent ? test_agent : agent);
  _cleanup_free_ char *p = path_join(c->dir, "vm.json");
  r = json_write_path(p, plan, JSON_INDENT(2), false, err);
  json_decref(plan);
  return r;
}

int vm_signal(struct ctr *c, int sig, err_t *err)
{
  int fd = attach_connect(c->rundir, "attach.sock", err);
  if (fd < 0)
    return -1;
  char s[16];
  int n = snprintf(s, sizeof s, "%d", sig);
  int r = attach_send(fd, 'K', s, (size_t)n);
  close(fd);
  return r < 0 ? err_sys(err, "cannot reach the monitor of %s", ctr_name(c)) : 0;
}

void vm_cleanup(struct ctr *c)
{
  _cleanup_free_ char *vsock = vsock_path(c);
  unlink(vsock);
  netctr_vm_untap(c);
}

int vm_agent_connect(const char *agent, pid_t vmm, int timeout_ms, err_t *err)
{
  bool vsock = !strncmp(agent, "vsock:", 6);
  const char *path = strchr(agent, ':') ? strchr(agent, ':') + 1 : agent;
  for (int waited = 0;; waited += 50) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
      if (!vsock)
        return fd;
      /* Firecracker's host side: "CONNECT PORT\n" → "OK …\n" */
      char line[64];
      int n = snprintf(line, sizeof line, "CONNECT %d\n", AGENT_PORT);
      size_t got = 0;
      struct pollfd p = {fd, POLLIN, 0};
      if (write(fd, line, (size_t)n) == n) {
        while (got < sizeof line - 1 && poll(&p, 1, 1000) == 1) {
          if (read(fd, line + got, 1) != 1)
            break;
          if (line[got++] == '\n')
            break;
        }
      }
      line[got] = 0;
      if (!strncmp(line, "OK ", 3))
        return fd;
    }
    if (fd >= 0)
      close(fd);
    if (vmm > 0 && !proc_alive(vmm, 0))
      return err_make(err, EIO, "the microVM exited before its agent answered");
    if (waited >= timeout_ms)
      return err_make(err, ETIMEDOUT, "the microVM's agent did not answer within %d s", timeout_ms / 1000);
    usleep(50 * 1000);
  }
}

int vm_exec(struct ctr *c, int argc, char **argv, const char **env, size_t nenv, const char *cwd, bool interactive,
            bool tty, err_t *err)
{
  _cleanup_free_ char *p = path_join(c->dir, "vm.json");
  _cleanup_json_ json_t *plan = NULL;
  if (json_load_path(p, &plan, err) < 0)
    return -1;
  json_t *req = json_deep_copy(json_object_get(plan, "exec"));
  json_t *args = json_array();
  for (int i = 0; i < argc; i++)
    json_array_append_new(args, json_string(argv[i]));
  json_object_set_new(req, "args", args);
  for (size_t i = 0; i < nenv; i++)
    json_array_append_new(json_object_get(req, "env"), json_string(env[i]));
  if (cwd)
    json_object_set_new(req, "cwd", json_string(cwd));
  (void)tty;
  int fd = vm_agent_connect(json_string_value(json_object_get(plan, "agent")), 0, 5000, err);
  if (fd < 0) {
    json_decref(req);
    return -1;
  }
  char *body = json_dumps(req, JSON_COMPACT);
  json_decref(req);
  attach_send(fd, 'E', body, strlen(body));
  free(body);
  if (!interactive)
    attach_send(fd, 'I', "", 0);
  int code = -1;
  bool in_open = interactive;
  for (;;) {
    struct pollfd pf[2] = {{fd, POLLIN, 0}, {in_open ? 0 : -1, POLLIN, 0}};
    if (poll(pf, 2, -1) < 0)
      continue;
    if (pf[1].revents) {
      char buf[32768];
      ssize_t n = read(0, buf, sizeof buf);
      attach_send(fd, 'I', buf, n > 0 ? (size_t)n : 0);
      in_open = n > 0;
    }
    if (pf[0].revents) {
      char type;
      char *data;
      size_t len;
      if (attach_recv(fd, &type, &data, &len) <= 0)
        break;
      if (type == 'O' || type == 'R')
        fd_write_all(type == 'O' ? 1 : 2, data, len, NULL);
      else if (type == 'F')
        fprintf(stderr, "isola: %s\n", data);
      else if (type == 'X' && len == 4) {
        code = (unsigned char)data[0] << 24 | (unsigned char)data[1] << 16 | (unsigned char)data[2] << 8 |
               (unsigned char)data[3];
        free(data);
        break;
      }
      free(data);
    }
  }
  close(fd);
  return code < 0 ? err_make(err, EIO, "the microVM's agent closed the connection") : code;
}
