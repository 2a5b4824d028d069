/* features: what this runtime supports (features.md), generated from the
 * same tables the config parser and the mount code use. */
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/json.h"
#include "config.h"
#include "runtime/cli/commands.h"
#include "runtime/spec/spec.h"

static json_t *caps(void)
{
  json_t *a = json_array();
  for (int i = 0; spec_cap_name(i); i++)
    json_array_append_new(a, json_string(spec_cap_name(i)));
  return a;
}

static json_t *strv(const char *const *v)
{
  json_t *a = json_array();
  for (; *v; v++)
    json_array_append_new(a, json_string(*v));
  return a;
}

int cmd_features(int argc, char **argv)
{
  static const char *const actions[] = {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL",
                                        "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
                                        "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE",
                                        "SCMP_ACT_TRAP", NULL};
  static const char *const ops[] = {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE",
                                    "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE", NULL};
  static const char *const archs[] = {"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32",
                                      "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", NULL};
  static const char *const flags[] = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                                      "SECCOMP_FILTER_FLAG_SPEC_ALLOW", NULL};
  const struct scmp_version *v = seccomp_version();
  char ver[32];
  snprintf(ver, sizeof(ver), "%u.%u.%u", v->major, v->minor, v->micro);
  json_t *f = json_pack(
      "{s:s,s:s,s:o,s:o,s:{s:o,s:o,s:{s:b,s:b,s:b,s:b,s:b},s:{s:b,s:o,s:o,s:o,s:o,s:o},"
      "s:{s:b},s:{s:b},s:{s:b},s:{s:{s:b}}},s:{s:s}}",
      "ociVersionMin", "1.0.0", "ociVersionMax", ISOLA_OCI_SPEC_VERSION, "hooks",
      strv(spec_hook_names), "mountOptions", strv(spec_mount_option_names()), "linux",
      "namespaces", strv(spec_namespace_names), "capabilities", caps(), "cgroup", "v1", 1, "v2", 1,
      "systemd", 0, "systemdUser", 0, "rdma", 0, "seccomp", "enabled", 1, "actions", strv(actions),
      "operators", strv(ops), "archs", strv(archs), "knownFlags", strv(flags), "supportedFlags",
      strv(flags), "apparmor", "enabled", 1, "selinux", "enabled", 1, "intelRdt", "enabled", 0,
      "mountExtensions", "idmap", "enabled", 1, "annotations", "io.github.seccomp.libseccomp.version",
      ver);
  char *s = json_dumps(f, JSON_INDENT(2));
  printf("%s\n", s);
  free(s);
  json_decref(f);
  return 0;
}
