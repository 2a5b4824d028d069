#include <criterion/criterion.h>
#include <sched.h>
#include <seccomp.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <linux/capability.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "runtime/spec/spec.h"

#define DATA SOURCE_DIR "/tests/unit/runtime/data/"

static const char *minimal =
    "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"rootfs\"},"
    "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\",\"user\":{\"uid\":0,\"gid\":0}}";

/* Parse `minimal` with `extra` spliced in before the closing brace. */
static int parse_with(const char *extra, struct spec **s, err_t *e)
{
  char buf[4096];
  snprintf(buf, sizeof(buf), "%s%s%s}", minimal, *extra ? "," : "", extra);
  json_error_t je;
  json_t *doc = json_loads(buf, 0, &je);
  cr_assert_not_null(doc, "test JSON is bad: %s: %s", je.text, buf);
  int r = spec_parse(doc, "config.json", s, e);
  json_decref(doc);
  return r;
}

static void expect_error(const char *extra, const char *msg)
{
  _cleanup_spec_ struct spec *s = NULL;
  _cleanup_err_ err_t e = NULL;
  cr_assert_eq(parse_with(extra, &s, &e), -1, "accepted: %s", extra);
  cr_assert_not_null(strstr(err_msg(e), msg), "message `%s` lacks `%s`", err_msg(e), msg);
}

Test(spec, parses_podmans_config_with_seccomp_and_mounts)
{
  _cleanup_spec_ struct spec *s = NULL;
  _cleanup_err_ err_t e = NULL;
  cr_assert_eq(spec_load(DATA "podman-tty.json", &s, &e), 0, "%s", err_msg(e));
  cr_assert(s->process.terminal);
  cr_assert_str_eq(s->process.args[0], "echo");
  cr_assert_eq(s->process.user.umask, 18);
  cr_assert(s->process.caps[CAPS_BOUNDING] & (1ULL << CAP_CHOWN));
  cr_assert_not(s->process.caps[CAPS_BOUNDING] & (1ULL << CAP_SYS_ADMIN));
  cr_assert_eq(s->process.n_rlimits, 2);
  cr_assert_eq(s->process.rlimits[0].resource, RLIMIT_NOFILE);
  cr_assert_eq(s->process.rlimits[0].hard, 1024);
  cr_assert_eq(s->linux_.n_namespaces, 5);
  cr_assert_eq(s->linux_.namespaces[1].type, CLONE_NEWNET);
  cr_assert_not_null(s->linux_.namespaces[1].path);
  cr_assert_eq(s->linux_.resources.pids_limit, 2048);
  cr_assert_not_null(s->linux_.seccomp);
  cr_assert_eq(s->linux_.seccomp->default_action, SCMP_ACT_ERRNO(0));
  cr_assert_eq(s->linux_.seccomp->default_errno_ret, 38);
  cr_assert_str_eq(s->mounts[0].destination, "/proc");
  cr_assert_eq(s->mounts[0].flags, MS_NOSUID | MS_NOEXEC | MS_NODEV);
  cr_assert_str_eq(s->mounts[1].data, "mode=755,size=65536k");
  cr_assert(s->mounts[5].bind);
  cr_assert_eq(s->mounts[5].propagation, MS_PRIVATE | MS_REC);
}

Test(spec, parses_a_podman_exec_process)
{
  _cleanup_json_ json_t *doc = json_load_file(DATA "podman-exec-process.json", 0, NULL);
  struct spec_process p;
  _cleanup_err_ err_t e = NULL;
  cr_assert_eq(spec_parse_process(doc, "process", &p, &e), 0, "%s", err_msg(e));
  cr_assert(p.terminal);
  cr_assert_str_eq(p.args[1], "fromexec-tty");
  spec_process_release(&p);
}

Test(spec, minimal_config_gets_defaults)
{
  _cleanup_spec_ struct spec *s = NULL;
  _cleanup_err_ err_t e = NULL;
  cr_assert_eq(parse_with("", &s, &e), 0, "%s", err_msg(e));
  cr_assert_not(s->process.terminal);
  cr_assert_eq(s->process.user.umask, -1);
  cr_assert_null(s->process.env[0]);
  cr_assert_eq(s->linux_.resources.memory.limit, SPEC_UNSET);
}

static void expect_ok(const char *extra)
{
  _cleanup_spec_ struct spec *s = NULL;
  _cleanup_err_ err_t e = NULL;
  cr_assert_eq(parse_with(extra, &s, &e), 0, "refused: %s: %s", extra, err_msg(e));
}

/* The OCI spec: a runtime MUST NOT fail on unknown properties (it warns);
 * runc and crun ignore them.  Seccomp rules stay strict (runtime.md). */
Test(spec, unknown_fields_are_ignored)
{
  expect_ok("\"hostnme\":\"x\"");
  expect_ok("\"linux\":{\"resources\":{\"memory\":{\"limt\":1}}}");
  expect_ok("\"root\":{\"path\":\"r\",\"x\":1}");
}

Test(spec, unknown_seccomp_fields_are_refused)
{
  expect_error("\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":"
               "[{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_ERRNO\",\"argz\":[]}]}}",
               "argz: unknown field");
}

Test(spec, wrong_types_name_the_field)
{
  expect_error("\"hostname\":5", "config.json: hostname: expected a string, got an integer");
  expect_error("\"mounts\":[{\"destination\":\"/x\",\"type\":\"tmpfs\",\"options\":[1]}]",
               "mounts[0].options[0]: expected a string");
}

Test(spec, bad_values_are_explained)
{
  expect_error("\"linux\":{\"namespaces\":[{\"type\":\"pidd\"}]}",
               "linux.namespaces[0].type: unknown namespace `pidd`");
  expect_error("\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"pid\"}]}",
               "listed twice");
  expect_error("\"mounts\":[{\"destination\":\"rel\",\"type\":\"tmpfs\"}]",
               "mounts[0].destination: `rel` is not an absolute path");
  expect_error("\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_NOPE\"}}",
               "linux.seccomp.defaultAction: unknown seccomp action `SCMP_ACT_NOPE`");
  expect_error("\"linux\":{\"resources\":{\"cpu\":{\"cpus\":\"0-a\"}}}",
               "linux.resources.cpu.cpus: `0-a` is not a CPU list");
  expect_error("\"linux\":{\"devices\":[{\"path\":\"/dev/x\",\"type\":\"q\",\"major\":1,\"minor\":1}]}",
               "linux.devices[0].type: `q` is not a device type");
}

Test(spec, process_errors_name_the_field)
{
  _cleanup_spec_ struct spec *s = NULL;
  _cleanup_err_ err_t e = NULL;
  const char *doc = "{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},\"process\":{\"args\":[],"
                    "\"cwd\":\"/\",\"user\":{\"uid\":0,\"gid\":0}}}";
  json_t *j = json_loads(doc, 0, NULL);
  cr_assert_eq(spec_parse(j, "config.json", &s, &e), -1);
  json_decref(j);
  cr_assert_str_eq(err_msg(e), "config.json: process.args: must name at least the program to run");
  err_free(&e);
  doc = "{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},\"process\":{\"args\":[\"a\"],"
        "\"cwd\":\"/\",\"user\":{\"uid\":0,\"gid\":0},\"capabilities\":{\"bounding\":[\"CAP_NOPE\"]}}}";
  j = json_loads(doc, 0, NULL);
  /* runc and crun ignore a capability they do not know (with a warning) */
  cr_assert_eq(spec_parse(j, "config.json", &s, &e), 0, "%s", err_msg(e));
  json_decref(j);
  cr_assert_eq(s->process.caps[CAPS_BOUNDING], 0);
}

Test(spec, ociversion_must_be_1x)
{
  _cleanup_spec_ struct spec *s = NULL;
  _cleanup_err_ err_t e = NULL;
  json_t *j = json_loads("{\"ociVersion\":\"2.0.0\",\"root\":{\"path\":\"r\"}}", 0, NULL);
  cr_assert_eq(spec_parse(j, "config.json", &s, &e), -1);
  json_decref(j);
  cr_assert_not_null(strstr(err_msg(e), "ociVersion: `2.0.0` is not supported"));
}

Test(spec, mount_options_set_and_clear_flags_in_order)
{
  _cleanup_spec_ struct spec *s = NULL;
  _cleanup_err_ err_t e = NULL;
  cr_assert_eq(parse_with("\"mounts\":[{\"destination\":\"/d\",\"source\":\"/s\","
                          "\"options\":[\"rbind\",\"ro\",\"rw\",\"nosuid\",\"rslave\",\"size=1\"]}]",
                          &s, &e), 0, "%s", err_msg(e));
  struct spec_mount *m = &s->mounts[0];
  cr_assert(m->bind && m->recursive);
  cr_assert_not(m->flags & MS_RDONLY);
  cr_assert(m->flags & MS_NOSUID);
  cr_assert_eq(m->propagation, MS_SLAVE | MS_REC);
  cr_assert_str_eq(m->data, "size=1");
}

Test(spec, resources_parse_alone_for_update)
{
  _cleanup_json_ json_t *j = json_loads(
      "{\"memory\":{\"limit\":1048576,\"swap\":2097152},\"pids\":{\"limit\":10},"
      "\"cpu\":{\"shares\":512,\"quota\":50000,\"period\":100000},"
      "\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":0}],"
      "\"devices\":[{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"rw\"}]}",
      0, NULL);
  struct spec_resources r;
  spec_resources_init(&r);
  _cleanup_err_ err_t e = NULL;
  cr_assert_eq(spec_parse_resources(j, "", &r, &e), 0, "%s", err_msg(e));
  cr_assert_eq(r.memory.limit, 1048576);
  cr_assert_eq(r.pids_limit, 10);
  cr_assert_eq(r.cpu.quota, 50000);
  cr_assert_eq(r.n_hugepages, 1);
  cr_assert_eq(r.devices[0].major, 1);
  cr_assert_str_eq(r.devices[0].access, "rw");
  spec_resources_release(&r);
}

Test(spec, unknown_hook_kind_is_ignored)
{
  /* The hook-name table is NULL-terminated: a name past its end used to be
   * read out of bounds (caught by ASan). */
  expect_ok("\"hooks\":{\"prestop\":[]}");
}

Test(spec, tmpcopyup_is_an_extension_not_tmpfs_data)
{
  _cleanup_spec_ struct spec *s = NULL;
  _cleanup_err_ err_t e = NULL;
  cr_assert_eq(parse_with("\"mounts\":[{\"destination\":\"/run\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
                          "\"options\":[\"rw\",\"nosuid\",\"tmpcopyup\",\"size=1m\"]}]",
                          &s, &e),
               0, "%s", err_msg(e));
  cr_assert(s->mounts[0].tmpcopyup);
  cr_assert_str_eq(s->mounts[0].data, "size=1m");
  cr_assert_eq(s->mounts[0].flags, MS_NOSUID);
}
