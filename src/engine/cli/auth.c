/* isola login / logout: credentials in the containers-auth.json file
 * (image/authfile.h), checked against the registry before saving. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "engine/cli/commands.h"
#include "engine/container/ctr.h"
#include "engine/engine.h"
#include "image/authfile.h"
#include "image/registry.h"

int cmd_login(int argc, char **argv)
{
  static const char usage[] = "Usage: isola login [-u USER] [-p PASSWORD | --password-stdin] "
                              "[--tls-verify=false] [--authfile F] REGISTRY\n";
  static const struct option opts[] = {
      {"username", required_argument, NULL, 'u'}, {"password", required_argument, NULL, 'p'},
      {"password-stdin", no_argument, NULL, 's'}, {"tls-verify", optional_argument, NULL, 't'},
      {"authfile", required_argument, NULL, 'a'}, {NULL, 0, NULL, 0},
  };
  const char *user = NULL, *pass = NULL, *authflag = NULL;
  bool from_stdin = false, tls = true;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "u:p:", opts, NULL)) != -1) {
    switch (c) {
    case 'u': user = optarg; break;
    case 'p': pass = optarg; break;
    case 's': from_stdin = true; break;
    case 't': tls = !optarg || strcmp(optarg, "false"); break;
    case 'a': authflag = optarg; break;
    default: fprintf(stderr, "%s", usage); return EXIT_ENGINE;
    }
  }
  if (optind + 1 != argc || !user) {
    fprintf(stderr, "%s(-u USER is required)\n", usage);
    return EXIT_ENGINE;
  }
  char line[1024];
  if (from_stdin) {
    if (!fgets(line, sizeof(line), stdin)) {
      log_error("--password-stdin: no password on standard input");
      return EXIT_ENGINE;
    }
    line[strcspn(line, "\r\n")] = 0;
    pass = line;
  }
  if (!pass) {
    log_error("no password: pass -p PASSWORD or --password-stdin");
    return EXIT_ENGINE;
  }
  const char *host = argv[optind];
  _cleanup_free_ char *path = engine_auth_file(authflag), *pair = NULL;
  _cleanup_err_ err_t err = NULL;
  if (!path || asprintf(&pair, "%s:%s", user, pass) < 0)
    return EXIT_ENGINE;
  struct registry reg;
  if (registry_open(&reg, host, "isola-login-check", tls, NULL, &err) < 0) {
    log_err(err);
    return EXIT_ENGINE;
  }
  reg.basic = strdup(pair);
  int r = registry_ping(&reg, &err);
  registry_release(&reg);
  if (r < 0) {
    log_err(err);
    return EXIT_ENGINE;
  }
  if (authfile_set(path, host, pair, &err) < 0) {
    log_err(err);
    return EXIT_ENGINE;
  }
  printf("Login Succeeded!\n");
  return 0;
}

int cmd_logout(int argc, char **argv)
{
  const char *authflag = NULL;
  static const struct option opts[] = {{"authfile", required_argument, NULL, 'a'},
                                       {NULL, 0, NULL, 0}};
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (c != 'a') {
      fprintf(stderr, "Usage: isola logout [--authfile F] REGISTRY\n");
      return EXIT_ENGINE;
    }
    authflag = optarg;
  }
  if (optind + 1 != argc) {
    fprintf(stderr, "Usage: isola logout [--authfile F] REGISTRY\n");
    return EXIT_ENGINE;
  }
  _cleanup_free_ char *path = engine_auth_file(authflag);
  _cleanup_err_ err_t err = NULL;
  if (!path || authfile_remove(path, argv[optind], &err) < 0) {
    log_err(err);
    return EXIT_ENGINE;
  }
  printf("Removed login credentials for %s\n", argv[optind]);
  return 0;
}
