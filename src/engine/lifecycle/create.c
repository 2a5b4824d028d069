/* Creating a container (lifecycle.h): its image (pulled when missing), a
 * name, the network addresses, then its directory with container.json
 * written last. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/file.h"
#include "common/json.h"
#include "engine/container/bundle.h"
#include "engine/container/ctr.h"
#include "engine/container/netctr.h"
#include "engine/container/systemd.h"
#include "engine/engine.h"
#include "engine/lifecycle/lifecycle.h"
#include "image/image.h"

/* The image for a new container: from the store, pulled when missing. */
static int find_image(struct store *st, const char *ref, const char *pull, bool tls_verify, struct image *img,
                      char **name, err_t *err)
{
  if (strcmp(pull, "always") && image_load(st, ref, img, name, NULL) == 0)
    return 0;
  if (!strcmp(pull, "never"))
    return err_make(err, ENOENT, "no image `%s` here, and --pull=never: run `isola pull %s` first", ref, ref);
  _cleanup_free_ char *auth = engine_auth_file(NULL);
  _cleanup_free_ char *mirrors = path_join(engine_root, "registries.json");
  struct pull_opts o = {.tls_verify = tls_verify, .jobs = 3, .auth_file = auth, .mirrors = mirrors};
  struct pull_result res;
  if (isatty(STDERR_FILENO)) {
    o.progress = stderr;
    o.live = true;
  }
  if (image_pull(st, ref, &o, &res, err) < 0)
    return err_context(err, "image `%s` is not here and pulling it failed", ref);
  pull_result_release(&res);
  return image_load(st, ref, img, name, err);
}

int lifecycle_create(json_t *rec, const struct create_opts *f, struct ctr *c, err_t *err)
{
  struct store st;
  if (store_open(&st, engine_root, err) < 0)
    return -1;
  struct image img;
  _cleanup_free_ char *imgname = NULL;
  int r = find_image(&st, f->image, f->pull, f->tls_verify, &img, &imgname, err);
  store_close(&st);
  if (r < 0)
    return -1;
  char id[DIGEST_STR_LEN + 1], md[DIGEST_STR_LEN + 1];
  digest_format(&img.id, id);
  digest_format(&img.manifest_digest, md);
  json_t *icfg = img.config.exec ? json_incref(img.config.exec) : json_object();
  image_release(&img);
  json_t *cmd = bundle_command(rec, icfg);

  char cid[CTR_ID_LEN + 1];
  ctr_new_id(cid);
  char name[128];
  int lock = ctr_names_lock(err);
  if (lock < 0) {
    json_decref(icfg);
    json_decref(cmd);
    return -1;
  }
  if (f->name) {
    struct ctr other;
    if (ctr_open(f->name, &other, NULL) == 0 && !strcmp(ctr_name(&other), f->name)) {
      char oid[13];
      memcpy(oid, other.id, 12);
      oid[12] = 0;
      ctr_close(&other);
      close(lock);
      json_decref(icfg);
      json_decref(cmd);
      return err_make(err, EEXIST,
                      "the name `%s` is taken by container %s: remove it (`isola rm %s`) or pick another name",
                      f->name, oid, f->name);
    }
    snprintf(name, sizeof name, "%s", f->name);
  } else {
    static const char *const adj[] = {"brave", "calm", "eager", "fond", "gentle", "happy", "jolly", "keen",
                                      "lucid", "merry", "nifty", "proud", "quiet", "sharp", "tender", "vivid"};
    static const char *const noun[] = {"albatross", "badger", "crane", "dolphin", "egret", "falcon", "gecko",
                                       "heron", "ibis", "jackal", "koala", "lynx", "marten", "newt", "otter",
                                       "puffin"};
    for (int tries = 0;; tries++) {
      char hex[4] = {cid[3 * tries % 60], cid[3 * tries % 60 + 1], cid[3 * tries % 60 + 2], 0};
      unsigned v = (unsigned)strtoul(hex, NULL, 16);
      if (tries < 8)
        snprintf(name, sizeof name, "%s_%s", adj[v & 15], noun[(v >> 4) & 15]);
      else
        snprintf(name, sizeof name, "%s_%s_%.6s", adj[v & 15], noun[(v >> 4) & 15], cid);
      struct ctr other;
      if (ctr_open(name, &other, NULL) < 0)
        break;
      ctr_close(&other);
    }
  }
  char now[CLOCK_RFC3339_LEN];
  clock_rfc3339(now, sizeof now);
  json_object_set_new(rec, "Id", json_string(cid));
  json_object_set_new(rec, "Name", json_string(name));
  json_object_set_new(rec, "Created", json_string(now));
  json_object_set_new(rec, "Image", json_string(imgname ? imgname : f->image));
  json_object_set_new(rec, "ImageID", json_string(id));
  json_object_set_new(rec, "ImageManifest", json_string(md));
  json_object_set_new(json_object_get(rec, "Config"), "Image", json_string(f->image));
  const char *path0 = json_string_value(json_array_get(cmd, 0));
  json_object_set_new(rec, "Path", json_string(path0 ? path0 : ""));
  json_t *args = json_array();
  for (size_t i = 1; i < json_array_size(cmd); i++)
    json_array_append(args, json_array_get(cmd, i));
  json_object_set_new(rec, "Args", args);
  systemd_record(rec, cmd);
  json_decref(cmd);

  if (netctr_allocate(rec, cid, name, err) < 0) {
    close(lock);
    json_decref(icfg);
    return -1;
  }
  char rel[CTR_ID_LEN + 16];
  snprintf(rel, sizeof rel, "containers/%s", cid);
  _cleanup_free_ char *dir = engine_path(rel);
  json_t *state = json_pack("{ss si si si}", "Status", "created", "Pid", 0, "ExitCode", 0, "RestartCount", 0);
  r = mkdir_p(dir, 0700, err);
  _cleanup_free_ char *p1 = path_join(dir, "image-config.json");
  _cleanup_free_ char *p2 = path_join(dir, "state.json");
  _cleanup_free_ char *p3 = path_join(dir, "container.json");
  /* the overlay's root takes the mode of `upper`: 0755, as images have */
  static const char *const subdirs[] = {"upper", "work", "rootfs", NULL};
  for (const char *const *s = subdirs; r == 0 && *s; s++) {
    _cleanup_free_ char *d = path_join(dir, *s);
    r = mkdir_p(d, 0700, err);
    if (r == 0 && chmod(d, s == subdirs ? 0755 : 0700) < 0)
      r = err_sys(err, "chmod `%s`", d);
  }
  if (r == 0)
    r = json_write_path(p1, icfg, JSON_INDENT(2), false, err);
  if (r == 0)
    r = json_write_path(p2, state, JSON_INDENT(2), false, err);
  /* container.json last: a directory without it is not a container yet */
  if (r == 0)
    r = json_write_path(p3, rec, JSON_INDENT(2), false, err);
  json_decref(state);
  json_decref(icfg);
  if (r < 0) {
    remove_tree(dir);
    netctr_release(rec, cid);
    close(lock);
    return -1;
  }
  close(lock);
  if (ctr_open_id(cid, c, err) < 0)
    return -1;
  engine_event("container", "create", cid, json_pack("{ss ss}", "name", name, "image", f->image));
  return 0;
}
