/* The default config.json: runc's, with our defaults (a Podman-like
 * capability set, the usual masked and read-only paths).  `isola-runtime
 * spec` writes it and the engine builds its bundles from it. */
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "runtime/spec/default.h"

const char *const spec_default_caps[] = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID",
    "CAP_SYS_CHROOT", NULL};

static json_t *strings(const char *const *v)
{
  json_t *a = json_array();
  for (; *v; v++)
    json_array_append_new(a, json_string(*v));
  return a;
}

json_t *spec_default(bool rootless)
{
  static const char *const masked[] = {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                                       "/proc/latency_stats", "/proc/timer_list",
                                       "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                                       "/proc/scsi", NULL};
  static const char *const ro[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                   "/proc/sysrq-trigger", NULL};
  json_t *caps = json_object();
  static const char *const sets[] = {"bounding", "effective", "permitted", NULL};
  for (const char *const *s = sets; *s; s++)
    json_object_set_new(caps, *s, strings(spec_default_caps));
  json_t *spec = json_pack(
      "{s:s, s:{s:b, s:{s:i,s:i}, s:[s], s:[s,s], s:s, s:o, s:[{s:s,s:i,s:i}], s:b},"
      " s:{s:s,s:b}, s:s,"
      " s:[{s:s,s:s,s:s},"
      "    {s:s,s:s,s:s,s:[s,s,s,s]},"
      "    {s:s,s:s,s:s,s:[s,s,s,s,s,s]},"
      "    {s:s,s:s,s:s,s:[s,s,s,s,s]},"
      "    {s:s,s:s,s:s,s:[s,s,s]},"
      "    {s:s,s:s,s:s,s:[s,s,s,s]},"
      "    {s:s,s:s,s:s,s:[s,s,s,s]}],"
      " s:{s:{s:[{s:b,s:s}]}, s:[{s:s},{s:s},{s:s},{s:s},{s:s}], s:o, s:o}}",
      "ociVersion", ISOLA_OCI_SPEC_VERSION,
      "process", "terminal", 1, "user", "uid", 0, "gid", 0, "args", "sh", "env",
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", "cwd",
      "/", "capabilities", caps, "rlimits", "type", "RLIMIT_NOFILE", "hard", 1024, "soft", 1024,
      "noNewPrivileges", 1,
      "root", "path", "rootfs", "readonly", 1, "hostname", "isola",
      "mounts",
      "destination", "/proc", "type", "proc", "source", "proc",
      "destination", "/dev", "type", "tmpfs", "source", "tmpfs", "options", "nosuid",
      "strictatime", "mode=755", "size=65536k",
      "destination", "/dev/pts", "type", "devpts", "source", "devpts", "options", "nosuid",
      "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5",
      "destination", "/dev/shm", "type", "tmpfs", "source", "shm", "options", "nosuid", "noexec",
      "nodev", "mode=1777", "size=65536k",
      "destination", "/dev/mqueue", "type", "mqueue", "source", "mqueue", "options", "nosuid",
      "noexec", "nodev",
      "destination", "/sys", "type", "sysfs", "source", "sysfs", "options", "nosuid", "noexec",
      "nodev", "ro",
      "destination", "/sys/fs/cgroup", "type", "cgroup", "source", "cgroup", "options", "nosuid",
      "noexec", "nodev", "ro",
      "linux", "resources", "devices", "allow", 0, "access", "rwm",
      "namespaces", "type", "pid", "type", "network", "type", "ipc", "type", "uts", "type", "mount",
      "maskedPaths", strings(masked), "readonlyPaths", strings(ro));
  if (spec && rootless) {
    json_t *lx = json_object_get(spec, "linux");
    json_array_append_new(json_object_get(lx, "namespaces"), json_pack("{s:s}", "type", "user"));
    json_object_set_new(lx, "uidMappings",
                        json_pack("[{s:i,s:i,s:i}]", "containerID", 0, "hostID", (int)getuid(), "size", 1));
    json_object_set_new(lx, "gidMappings",
                        json_pack("[{s:i,s:i,s:i}]", "containerID", 0, "hostID", (int)getgid(), "size", 1));
    json_object_del(lx, "resources");
    /* gid 5 is not mapped: devpts would refuse it.  And sysfs needs the
     * netns's owner to be privileged over it; a bind of /sys is safe. */
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(spec, "mounts"), i, m)
    {
      const char *dst = json_string_value(json_object_get(m, "destination"));
      if (!strcmp(dst, "/dev/pts")) {
        json_t *o = json_object_get(m, "options");
        for (size_t k = json_array_size(o); k-- > 0;)
          if (!strcmp(json_string_value(json_array_get(o, k)), "gid=5"))
            json_array_remove(o, k);
      } else if (!strcmp(dst, "/sys")) {
        json_object_set_new(m, "type", json_string("none"));
        json_object_set_new(m, "source", json_string("/sys"));
        json_object_set_new(m, "options", json_pack("[s,s,s,s,s]", "rbind", "nosuid", "noexec",
                                                    "nodev", "ro"));
      }
    }
  }
  return spec;
}
