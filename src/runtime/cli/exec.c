/* exec: from a process.json (--process, what engines pass) or from
 * arguments and flags over the container's own process settings. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "runtime/cli/commands.h"
#include "runtime/cli/globals.h"
#include "runtime/container/container.h"
#include "runtime/container/state.h"

struct exec_flags {
  const char *process_file, *cwd, *user;
  bool tty, no_new_privs;
  json_t *env, *caps, *gids;
};

static int process_from_flags(const struct exec_flags *f, const char *id, char **args,
                              json_t **out, err_t *err)
{
  struct container c;
  if (container_load(runtime_globals.root, id, &c, err) < 0) {
    container_release(&c); /* what it had read before failing */
    return -1;
  }
  json_t *base = json_object_get(c.config, "process");
  json_t *p = base ? json_deep_copy(base) : json_pack("{s:s,s:{s:i,s:i}}", "cwd", "/", "user", "uid", 0, "gid", 0);
  container_release(&c);
  json_t *a = json_array();
  for (char **s = args; *s; s++)
    json_array_append_new(a, json_string(*s));
  json_object_set_new(p, "args", a);
  json_object_set_new(p, "terminal", json_boolean(f->tty));
  json_object_del(p, "consoleSize");
  if (f->cwd)
    json_object_set_new(p, "cwd", json_string(f->cwd));
  if (json_array_size(f->env)) {
    json_t *env = json_object_get(p, "env");
    if (!env)
      json_object_set_new(p, "env", env = json_array());
    json_array_extend(env, f->env);
  }
  if (f->user) {
    unsigned uid = 0, gid = 0;
    int n = sscanf(f->user, "%u:%u", &uid, &gid);
    if (n < 1) {
      json_decref(p);
      return err_make(err, EINVAL, "--user `%s`: expected UID[:GID] as numbers", f->user);
    }
    json_object_set_new(p, "user", json_pack("{s:i,s:i}", "uid", (int)uid, "gid", n == 2 ? (int)gid : 0));
  }
  if (json_array_size(f->gids))
    json_object_set(json_object_get(p, "user"), "additionalGids", f->gids);
  if (json_array_size(f->caps)) {
    json_t *caps = json_object_get(p, "capabilities");
    if (!caps)
      json_object_set_new(p, "capabilities", caps = json_object());
    static const char *const sets[] = {"bounding", "effective", "permitted", "inheritable", "ambient"};
    for (int i = 0; i < 5; i++) {
      json_t *s = json_object_get(caps, sets[i]);
      if (!s)
        json_object_set_new(caps, sets[i], s = json_array());
      json_array_extend(s, f->caps);
    }
  }
  if (f->no_new_privs)
    json_object_set_new(p, "noNewPrivileges", json_true());
  *out = p;
  return 0;
}

#define EXEC_FAILED 255

static int exec_fail(err_t *err)
{
  cli_fail(err);
  return EXEC_FAILED;
}

int cmd_exec(int argc, char **argv)
{
  static const struct option opts[] = {
      {"process", required_argument, NULL, 'p'},
      {"detach", no_argument, NULL, 'd'},
      {"pid-file", required_argument, NULL, 'P'},
      {"tty", no_argument, NULL, 't'},
      {"console-socket", required_argument, NULL, 'c'},
      {"cwd", required_argument, NULL, 'w'},
      {"env", required_argument, NULL, 'e'},
      {"user", required_argument, NULL, 'u'},
      {"additional-gids", required_argument, NULL, 'g'},
      {"cap", required_argument, NULL, 'C'},
      {"no-new-privs", no_argument, NULL, 'N'},
      {"preserve-fds", required_argument, NULL, 'f'},
      {"process-label", required_argument, NULL, 'L'},
      {"apparmor", required_argument, NULL, 'A'},
      {"cgroup", required_argument, NULL, 'G'},
      {"ignore-paused", no_argument, NULL, 'I'},
      {NULL, 0, NULL, 0},
  };
  struct exec_opts o = {.root = runtime_globals.root};
  struct exec_flags f = {.env = json_array(), .caps = json_array(), .gids = json_array()};
  err_t err = NULL;
  json_t *pj = NULL;
  struct spec_process proc;
  int c, status = 1;
  memset(&proc, 0, sizeof(proc));
  optind = 1;
  while ((c = getopt_long_only(argc, argv, "+p:dte:u:g:w:", opts, NULL)) != -1) {
    switch (c) {
    case 'p': f.process_file = optarg; break;
    case 'd': o.detach = true; break;
    case 'P': o.pid_file = optarg; break;
    case 't': f.tty = true; break;
    case 'c': o.console_socket = optarg; break;
    case 'w': f.cwd = optarg; break;
    case 'e': json_array_append_new(f.env, json_string(optarg)); break;
    case 'u': f.user = optarg; break;
    case 'g': json_array_append_new(f.gids, json_integer(atoll(optarg))); break;
    case 'C': json_array_append_new(f.caps, json_string(optarg)); break;
    case 'N': f.no_new_privs = true; break;
    case 'f': o.preserve_fds = atoi(optarg); break;
    case 'L':
    case 'A':
    case 'G':
    case 'I': break;
    default: goto out;
    }
  }
  if (optind >= argc) {
    log_error("usage: exec [OPTIONS] ID [COMMAND ARGS...] (or --process FILE)");
    goto out;
  }
  o.id = argv[optind];
  if (!f.process_file && optind + 1 >= argc) {
    log_error("exec: give a command after the container id, or --process FILE");
    goto out;
  }
  /* Past the command line, a failure exits 255, as runc's `exec failed`
   * does (engines tell it from the program's own statuses); a program that
   * cannot be run keeps 127/126 (docs/runtime.md). */
  if (f.process_file) {
    if (json_load_path(f.process_file, &pj, &err) < 0) {
      status = exec_fail(&err);
      goto out;
    }
  } else if (process_from_flags(&f, o.id, argv + optind + 1, &pj, &err) < 0) {
    status = exec_fail(&err);
    goto out;
  }
  if (spec_parse_process(pj, f.process_file ? "process" : "exec", &proc, &err) < 0) {
    if (f.process_file)
      err_context(&err, "%s", f.process_file);
    status = exec_fail(&err);
    goto out;
  }
  o.process = &proc;
  if (container_exec(&o, &status, &err) < 0) {
    /* the process could not be executed: Docker's (and the shells')
     * statuses, so that engines can tell "not found" from a failure */
    int e = err_errnum(err);
    bool exec_failed = strstr(err_msg(err), "exec: `") != NULL;
    status = exec_fail(&err);
    if (exec_failed && (e == ENOENT || e == EACCES || e == EISDIR || e == ENOEXEC))
      status = e == ENOENT ? 127 : 126;
  }
out:
  spec_process_release(&proc);
  json_decref(pj);
  json_decref(f.env);
  json_decref(f.caps);
  json_decref(f.gids);
  return status;
}
