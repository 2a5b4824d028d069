/* The engine's pure pieces: size/duration/signal parsing, run flags into a
 * record, the command and environment from record + image, the default
 * seccomp profile, json-file logs with rotation, user resolution. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file.h"
#include "engine/base/parse.h"
#include "engine/container/bundle.h"
#include "engine/monitor/logread.h"
#include "engine/monitor/logfile.h"
#include "engine/cli/runopts.h"
#include "engine/container/sysctl.h"

Test(engine, sizes_and_durations)
{
  int64_t v;
  cr_assert_eq(parse_size("512m", "x", &v, NULL), 0);
  cr_assert_eq(v, 512 << 20);
  cr_assert_eq(parse_size("1.5g", "x", &v, NULL), 0);
  cr_assert_eq(v, 3ll << 29);
  cr_assert_eq(parse_size("4096", "x", &v, NULL), 0);
  cr_assert_eq(v, 4096);
  cr_assert_eq(parse_size("10MiB", "x", &v, NULL), 0);
  cr_assert_eq(v, 10 << 20);
  err_t e = NULL;
  cr_assert_eq(parse_size("12q", "--memory", &v, &e), -1);
  cr_assert(strstr(err_msg(e), "--memory") && strstr(err_msg(e), "12q"));
  err_free(&e);
  cr_assert_eq(parse_duration("1m30s", "x", &v, NULL), 0);
  cr_assert_eq(v, 90000000000ll);
  cr_assert_eq(parse_duration("300ms", "x", &v, NULL), 0);
  cr_assert_eq(v, 300000000ll);
  cr_assert_eq(parse_duration("2", "x", &v, NULL), 0);
  cr_assert_eq(v, 2000000000ll);
  cr_assert_eq(parse_duration("soon", "x", &v, NULL), -1);
  int sig;
  cr_assert_eq(parse_signal("TERM", &sig, NULL), 0);
  cr_assert_eq(sig, SIGTERM);
  cr_assert_eq(parse_signal("RTMIN+3", &sig, NULL), 0);
  cr_assert_eq(sig, SIGRTMIN + 3);
  cr_assert_eq(parse_signal("NOPE", &sig, NULL), -1);
}

static int parse(json_t **rec, struct run_flags *f, err_t *e, int argc, ...)
{
  static char *argv[64];
  va_list ap;
  va_start(ap, argc);
  argv[0] = "run";
  for (int i = 1; i < argc; i++)
    argv[i] = va_arg(ap, char *);
  va_end(ap);
  argv[argc] = NULL;
  return runopts_parse(argc, argv, true, rec, f, e);
}

Test(engine, run_flags_to_record)
{
  json_t *rec = NULL;
  struct run_flags f;
  err_t e = NULL;
  cr_assert_eq(parse(&rec, &f, &e, 14, "-d", "--rm", "-e", "A=1", "-v", "data:/d:ro", "--tmpfs", "/t:size=1m", "-m",
                     "64m", "img", "echo", "hi"), 0, "%s", err_msg(e));
  cr_assert(f.detach && f.rm);
  cr_assert_str_eq(f.image, "img");
  json_t *hc = json_object_get(rec, "HostConfig");
  cr_assert_eq(json_integer_value(json_object_get(hc, "Memory")), 64 << 20);
  json_t *m0 = json_array_get(json_object_get(hc, "Mounts"), 0);
  cr_assert_str_eq(json_string_value(json_object_get(m0, "Type")), "volume");
  cr_assert(json_is_true(json_object_get(m0, "ReadOnly")));
  json_t *m1 = json_array_get(json_object_get(hc, "Mounts"), 1);
  cr_assert_str_eq(json_string_value(json_object_get(m1, "Type")), "tmpfs");
  cr_assert_eq(json_array_size(json_object_get(json_object_get(rec, "Config"), "Cmd")), 2);
  /* the default network, joined by name */
  cr_assert_str_eq(json_string_value(json_object_get(hc, "NetworkMode")), "isola");
  cr_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(hc, "Networks"), 0), "Name")),
                   "isola");
  json_decref(rec);
  cr_assert_eq(parse(&rec, &f, &e, 8, "--network", "a,b", "--ip", "10.1.0.9", "-p", "8080:80", "img"), 0, "%s",
               err_msg(e));
  hc = json_object_get(rec, "HostConfig");
  cr_assert_eq(json_array_size(json_object_get(hc, "Networks")), 2);
  cr_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(hc, "Networks"), 0), "IPv4Address")),
                   "10.1.0.9");
  cr_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(json_object_get(hc, "PortBindings"),
                                                                                    "80/tcp"), 0), "HostPort")),
                   "8080");
  json_decref(rec);
  /* errors name the flag */
  static const char *const bad[][3] = {{"--restart", "sometimes", "--restart"},
                                       {"--cpus", "-1", "--cpus"},
                                       {"-v", "x:y", "absolute"},
                                       {"--mount", "type=nfs,target=/x", "nfs"},
                                       {"--name", "-bad", "--name"},
                                       {"-p", "80/sctp", "tcp or udp"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cr_assert_eq(parse(&rec, &f, &e, 4, bad[i][0], bad[i][1], "img"), -1, "%s %s", bad[i][0], bad[i][1]);
    cr_assert(strstr(err_msg(e), bad[i][2]), "%s", err_msg(e));
    err_free(&e);
  }
  cr_assert_eq(parse(&rec, &f, &e, 5, "--rm", "--restart", "always", "img"), -1);
  err_free(&e);
  cr_assert_eq(parse(&rec, &f, &e, 2, "-d"), -1);
  cr_assert(strstr(err_msg(e), "no image"));
  err_free(&e);
}

Test(engine, command_and_env_follow_docker)
{
  json_t *img = json_pack("{s[s] s[s] s[ss]}", "Entrypoint", "/entry", "Cmd", "default", "Env", "PATH=/img", "X=img");
  json_t *rec = json_pack("{s{}}", "Config");
  json_t *cmd = bundle_command(rec, img);
  cr_assert_eq(json_array_size(cmd), 2);
  json_decref(cmd);
  /* a command replaces Cmd; an entrypoint replaces both */
  json_object_set_new(json_object_get(rec, "Config"), "Cmd", json_pack("[s]", "mine"));
  cmd = bundle_command(rec, img);
  cr_assert_str_eq(json_string_value(json_array_get(cmd, 1)), "mine");
  json_decref(cmd);
  json_object_del(json_object_get(rec, "Config"), "Cmd");
  json_object_set_new(json_object_get(rec, "Config"), "Entrypoint", json_pack("[s]", "/other"));
  cmd = bundle_command(rec, img);
  cr_assert_eq(json_array_size(cmd), 1);
  json_decref(cmd);
  json_object_set_new(json_object_get(rec, "Config"), "Env", json_pack("[s]", "X=flag"));
  json_t *env = bundle_env(rec, img, "h");
  char *s = json_dumps(env, JSON_COMPACT);
  cr_assert(strstr(s, "\"PATH=/img\"") && strstr(s, "\"X=flag\"") && !strstr(s, "X=img") &&
            strstr(s, "HOSTNAME=h"), "%s", s);
  free(s);
  json_decref(env);
  json_decref(rec);
  json_decref(img);
}

Test(engine, default_seccomp_profile)
{
  json_t *caps = json_pack("[s]", "CAP_CHOWN");
  json_t *p = seccomp_default_profile(caps);
  char *s = json_dumps(p, JSON_COMPACT);
  cr_assert(strstr(s, "\"defaultAction\":\"SCMP_ACT_ERRNO\""));
  json_t *allow = json_object_get(json_array_get(json_object_get(p, "syscalls"), 0), "names");
  json_t *deny = json_object_get(json_array_get(json_object_get(p, "syscalls"), 1), "names");
  char *a = json_dumps(allow, JSON_COMPACT), *d = json_dumps(deny, JSON_COMPACT);
  cr_assert(strstr(a, "\"read\"") && strstr(a, "\"execve\"") && !strstr(a, "\"mount\""));
  cr_assert(strstr(d, "\"mount\"") && strstr(d, "\"kexec_load\"") && strstr(d, "\"unshare\""));
  free(a);
  free(d);
  free(s);
  json_decref(p);
  /* CAP_SYS_ADMIN opens mount and namespaces */
  json_array_append_new(caps, json_string("CAP_SYS_ADMIN"));
  p = seccomp_default_profile(caps);
  allow = json_object_get(json_array_get(json_object_get(p, "syscalls"), 0), "names");
  a = json_dumps(allow, JSON_COMPACT);
  cr_assert(strstr(a, "\"mount\"") && strstr(a, "\"unshare\""));
  free(a);
  json_decref(p);
  json_decref(caps);
}

Test(engine, json_file_log_lines_partials_rotation)
{
  char dir[] = "/tmp/isola-unit-logs-XXXXXX";
  cr_assert(mkdtemp(dir));
  char *path = path_join(dir, "ctr.log");
  struct logw w;
  cr_assert_eq(logw_open(&w, path, 600, 3, NULL), 0);
  logw_write(&w, 0, "one\ntw", 6);
  logw_write(&w, 1, "err\n", 4);
  logw_write(&w, 0, "o\n", 2);
  for (int i = 0; i < 20; i++)
    logw_write(&w, 0, "filler line\n", 12);
  logw_write(&w, 0, "tail", 4);
  logw_close(&w);
  char *text = NULL;
  cr_assert_eq(file_read_all(path, 1 << 20, &text, NULL, NULL), 0);
  cr_assert(strstr(text, "\"log\":\"tail\"") && strstr(text, "\"partial\":true"), "%s", text);
  free(text);
  char *one = NULL;
  char p1[256], p2[256], p3[256];
  snprintf(p1, sizeof p1, "%s.1", path);
  snprintf(p2, sizeof p2, "%s.2", path);
  snprintf(p3, sizeof p3, "%s.3", path);
  cr_assert_eq(access(p1, F_OK), 0);
  cr_assert_eq(access(p2, F_OK), 0);
  cr_assert_neq(access(p3, F_OK), 0, "max-file=3 keeps two rotated files");
  cr_assert_eq(file_read_all(p2, 1 << 20, &one, NULL, NULL), 0);
  free(one);
  remove_tree(dir);
  free(path);
}

Test(engine, users_from_the_image)
{
  char dir[] = "/tmp/isola-unit-users-XXXXXX";
  cr_assert(mkdtemp(dir));
  char etc[64], pw[96], gr[96];
  snprintf(etc, sizeof etc, "%s/etc", dir);
  mkdir(etc, 0755);
  snprintf(pw, sizeof pw, "%s/passwd", etc);
  snprintf(gr, sizeof gr, "%s/group", etc);
  const char *passwd = "root:x:0:0:root:/root:/bin/sh\nweb:x:33:33:web:/var/www:/bin/false\n";
  const char *group = "root:x:0:\nwww:x:33:\nlog:x:4:web,other\n";
  cr_assert_eq(file_write_atomic(pw, passwd, strlen(passwd), 0644, false, NULL), 0);
  cr_assert_eq(file_write_atomic(gr, group, strlen(group), 0644, false, NULL), 0);
  int rootfd = open(dir, O_PATH | O_DIRECTORY);
  uid_t uid;
  gid_t gid;
  json_t *gids;
  char *home;
  cr_assert_eq(bundle_resolve_user(rootfd, "web", &uid, &gid, &gids, &home, NULL), 0);
  cr_assert(uid == 33 && gid == 33);
  cr_assert_str_eq(home, "/var/www");
  cr_assert_eq(json_array_size(gids), 1);
  cr_assert_eq(json_integer_value(json_array_get(gids, 0)), 4);
  json_decref(gids);
  free(home);
  cr_assert_eq(bundle_resolve_user(rootfd, "1000:log", &uid, &gid, &gids, &home, NULL), 0);
  cr_assert(uid == 1000 && gid == 4);
  json_decref(gids);
  free(home);
  err_t e = NULL;
  cr_assert_eq(bundle_resolve_user(rootfd, "nobody", &uid, &gid, &gids, &home, &e), -1);
  cr_assert(strstr(err_msg(e), "nobody"));
  err_free(&e);
  free(home);
  close(rootfd);
  remove_tree(dir);
}

Test(engine, sysctls_only_from_the_containers_namespaces)
{
  json_t *sc = json_object();
  err_t e = NULL;
  cr_assert_eq(sysctl_parse("net.ipv4.ping_group_range=0 0", sc, &e), 0, "%s", err_msg(e));
  cr_assert_eq(sysctl_parse("kernel.shm_rmid_forced=1", sc, &e), 0, "%s", err_msg(e));
  cr_assert_eq(sysctl_parse("fs.mqueue.msg_max=20", sc, &e), 0, "%s", err_msg(e));
  cr_assert_eq(sysctl_parse("net.ipv4.conf.eth-0.forwarding=1", sc, &e), 0, "%s", err_msg(e));
  cr_assert_str_eq(json_string_value(json_object_get(sc, "net.ipv4.ping_group_range")), "0 0");
  static const char *const bad[][2] = {{"kernel.panic=1", "would change the host"},
                                       {"vm.swappiness=1", "would change the host"},
                                       {"net.ipv4.ip_forward", "KEY=VALUE"},
                                       {"=1", "not a sysctl name"},
                                       {"net..x=1", "not a sysctl name"},
                                       {".net.x=1", "not a sysctl name"},
                                       {"net/ipv4/x=1", "not a sysctl name"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cr_assert_eq(sysctl_parse(bad[i][0], sc, &e), -1, "%s", bad[i][0]);
    cr_assert(strstr(err_msg(e), bad[i][1]), "%s: %s", bad[i][0], err_msg(e));
    err_free(&e);
  }
  json_t *hc = json_pack("{sO ss}", "Sysctls", sc, "NetworkMode", "isola");
  cr_assert_eq(sysctl_check(hc, &e), 0, "%s", err_msg(e));
  json_object_set_new(hc, "NetworkMode", json_string("host"));
  cr_assert_eq(sysctl_check(hc, &e), -1);
  cr_assert(strstr(err_msg(e), "--network host"), "%s", err_msg(e));
  err_free(&e);
  json_object_set_new(hc, "NetworkMode", json_string("container:db"));
  cr_assert_eq(sysctl_check(hc, &e), -1);
  err_free(&e);
  /* IPC sysctls are fine with a shared network namespace */
  json_object_set_new(hc, "Sysctls", json_pack("{ss}", "kernel.sem", "250 32000 32 128"));
  cr_assert_eq(sysctl_check(hc, &e), 0, "%s", err_msg(e));
  json_object_set_new(hc, "VM", json_pack("{sb}", "Enabled", 1));
  cr_assert_eq(sysctl_check(hc, &e), -1);
  cr_assert(strstr(err_msg(e), "--vm"), "%s", err_msg(e));
  err_free(&e);
  json_decref(hc);
  json_decref(sc);
}

/* logs -f against the monitor's writer: between two looks of the reader the
 * writer rotates several times (or, with max-file=1, replaces the file). */
struct follow_sim {
  struct logw w;
  int next, total, per_look;
  int seen[400];
  int nseen;
};

static bool follow_sim_write(void *ctx)
{
  struct follow_sim *s = ctx;
  if (s->next > s->total)
    return false;
  for (int i = 0; i < s->per_look && s->next <= s->total; i++) {
    char b[32];
    int n = snprintf(b, sizeof b, "line-%d\n", s->next++);
    logw_write(&s->w, 0, b, (size_t)n);
  }
  return true;
}

static void follow_sim_line(const char *line, size_t n, void *ctx)
{
  struct follow_sim *s = ctx;
  json_t *j = json_loadb(line, n, 0, NULL);
  const char *text = json_string_value(json_object_get(j, "log"));
  cr_assert(text && !strncmp(text, "line-", 5), "%.*s", (int)n, line);
  cr_assert_lt(s->nseen, 400);
  s->seen[s->nseen++] = atoi(text + 5);
  json_decref(j);
}

static void follow_across_rotations(int max_file, int per_look)
{
  char dir[] = "/tmp/isola-unit-follow-XXXXXX";
  cr_assert(mkdtemp(dir));
  char *path = path_join(dir, "ctr.log");
  static struct follow_sim s;
  memset(&s, 0, sizeof s);
  s.next = 1;
  s.total = 300;
  s.per_look = per_look;
  err_t e = NULL;
  cr_assert_eq(logw_open(&s.w, path, 600, max_file, &e), 0, "%s", err_msg(e));
  follow_sim_write(&s); /* already there (and rotated) before the reader */
  struct logread r;
  cr_assert_eq(logread_open(&r, path, max_file, true, &e), 0, "%s", err_msg(e));
  cr_assert_eq(logread_all(&r, follow_sim_line, &s, follow_sim_write, &s, &e), 0, "%s", err_msg(e));
  cr_assert_eq(logread_follow(&r, follow_sim_line, &s, follow_sim_write, &s, &e), 0, "%s", err_msg(e));
  logread_close(&r);
  logw_close(&s.w);
  cr_assert_eq(s.nseen, s.total, "max-file=%d: %d lines seen of %d", max_file, s.nseen, s.total);
  for (int i = 0; i < s.total; i++)
    cr_assert_eq(s.seen[i], i + 1, "max-file=%d: line %d is line-%d", max_file, i + 1, s.seen[i]);
  remove_tree(dir);
  free(path);
}

Test(engine, log_follower_reads_every_line_once_across_rotations)
{
  /* ~7 records a file: 30 a look is 4 rotations, within 6 files */
  follow_across_rotations(6, 30);
  /* one file, replaced at most once a look */
  follow_across_rotations(1, 3);
}
