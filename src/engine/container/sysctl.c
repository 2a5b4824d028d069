/* --sysctl (sysctl.h). */
#include "engine/container/sysctl.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* IPC-namespaced sysctls (ipc_namespaces(7), mq_overview(7)); runc and crun
 * accept the same list. */
static const char *const ipc_keys[] = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                                       "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};

static bool namespaced(const char *key)
{
  if (!strncmp(key, "net.", 4) || !strncmp(key, "fs.mqueue.", 10) || !strcmp(key, "kernel.domainname"))
    return true;
  for (size_t i = 0; i < sizeof ipc_keys / sizeof ipc_keys[0]; i++)
    if (!strcmp(key, ipc_keys[i]))
      return true;
  return false;
}

/* Dotted words of letters, digits, `_` and `-` (interface names included). */
static bool good_name(const char *key, size_t len)
{
  if (!len || key[0] == '.' || key[len - 1] == '.')
    return false;
  for (size_t i = 0; i < len; i++) {
    char c = key[i];
    bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!word && !(c == '.' && key[i + 1] != '.'))
      return false;
  }
  return true;
}

int sysctl_parse(const char *arg, json_t *sysctls, err_t *err)
{
  const char *eq = strchr(arg, '=');
  if (!eq)
    return err_make(err, EINVAL, "--sysctl %s: use KEY=VALUE (net.ipv4.ip_forward=1)", arg);
  size_t len = (size_t)(eq - arg);
  char key[256];
  if (len >= sizeof key || !good_name(arg, len))
    return err_make(err, EINVAL, "--sysctl %s: `%.*s` is not a sysctl name (net.ipv4.ip_forward)", arg, (int)len,
                    arg);
  memcpy(key, arg, len);
  key[len] = 0;
  if (!namespaced(key))
    return err_make(err, EINVAL,
                    "--sysctl %s: `%s` is not scoped by the container's namespaces and would change the host; "
                    "use net.*, fs.mqueue.*, kernel.msg*, kernel.sem, kernel.shm* or kernel.domainname",
                    arg, key);
  json_object_set_new(sysctls, key, json_string(eq + 1));
  return 0;
}

int sysctl_check(const json_t *hc, err_t *err)
{
  const json_t *sc = json_object_get(hc, "Sysctls");
  if (!json_object_size(sc))
    return 0;
  if (json_is_true(json_object_get(json_object_get(hc, "VM"), "Enabled")))
    return err_make(err, EINVAL, "--sysctl does not go with --vm: set it in the guest, which has its own kernel");
  const char *mode = json_string_value(json_object_get(hc, "NetworkMode"));
  bool shared = mode && (!strcmp(mode, "host") || !strncmp(mode, "container:", 10));
  const char *key;
  const json_t *v;
  json_object_foreach((json_t *)sc, key, v)
  {
    if (shared && !strncmp(key, "net.", 4))
      return err_make(err, EINVAL,
                      "--sysctl %s: net.* needs a network namespace of the container's own, not --network %s",
                      key, mode);
  }
  return 0;
}
