/* Fuzz what the engine reads from an image to build a container: the
 * image config's Entrypoint/Cmd/Env (bundle_command, bundle_env) and its
 * /etc/passwd and /etc/group (bundle_resolve_user).  Input: the config
 * JSON, a NUL, the passwd text, a NUL, the group text. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/container/bundle.h"
#include "fuzz.h"

static int rootfd = -1;
static char root[64];

static void put(const char *name, const uint8_t *data, size_t len)
{
  char p[128];
  snprintf(p, sizeof p, "%s/etc/%s", root, name);
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    if (len && write(fd, data, len) < 0)
      abort();
    close(fd);
  }
}

static void cleanup(void)
{
  char p[128];
  snprintf(p, sizeof p, "%s/etc/passwd", root);
  unlink(p);
  snprintf(p, sizeof p, "%s/etc/group", root);
  unlink(p);
  snprintf(p, sizeof p, "%s/etc", root);
  rmdir(p);
  rmdir(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (rootfd < 0) {
    atexit(cleanup);
    snprintf(root, sizeof root, "/tmp/isola-fuzz-imagecfg-%d", (int)getpid());
    char etc[96];
    snprintf(etc, sizeof etc, "%s/etc", root);
    mkdir(root, 0755);
    mkdir(etc, 0755);
    rootfd = open(root, O_PATH | O_DIRECTORY);
  }
  const uint8_t *parts[3] = {data, NULL, NULL};
  size_t lens[3] = {size, 0, 0};
  for (int i = 1; i < 3; i++) {
    const uint8_t *z = memchr(parts[i - 1], 0, lens[i - 1]);
    if (!z)
      break;
    parts[i] = z + 1;
    lens[i] = lens[i - 1] - (size_t)(z + 1 - parts[i - 1]);
    lens[i - 1] = (size_t)(z - parts[i - 1]);
  }
  json_t *img = json_loadb((const char *)parts[0], lens[0], 0, NULL);
  json_t *rec = json_pack("{s{s[s]}}", "Config", "Env", "X=1");
  json_t *cmd = bundle_command(rec, img);
  json_t *env = bundle_env(rec, img, "fuzz");
  json_decref(cmd);
  json_decref(env);
  json_decref(rec);
  json_decref(img);
  put("passwd", parts[1] ? parts[1] : (const uint8_t *)"", lens[1]);
  put("group", parts[2] ? parts[2] : (const uint8_t *)"", lens[2]);
  static const char *const users[] = {"root", "1000", "nobody:nogroup", "daemon:5", "x:y", NULL};
  for (const char *const *u = users; *u; u++) {
    uid_t uid;
    gid_t gid;
    json_t *gids = NULL;
    char *home = NULL;
    err_t e = NULL;
    int r = bundle_resolve_user(rootfd, *u, &uid, &gid, &gids, &home, &e);
    fuzz_check_error(r, &e);
    json_decref(gids);
    free(home);
  }
  return 0;
}
