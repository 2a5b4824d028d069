/* isola inspect: the inspect object of a container, image, volume or
 * network, whichever NAME names first (or --type), as JSON or --format. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "engine/cli/commands.h"
#include "engine/cli/format.h"
#include "engine/container/ctr.h"
#include "engine/container/inspect.h"
#include "engine/engine.h"
#include "engine/network/network.h"
#include "engine/volume/volume.h"
#include "image/image.h"

static int fail(err_t *e)
{
  log_err(err_get(e));
  err_free(e);
  return EXIT_ENGINE;
}

/* Docker's inspect object for an image; NULL with *err when there is none. */
static json_t *image_inspect_json(struct store *st, json_t *names, const char *what, err_t *err)
{
  struct image img;
  if (image_load(st, what, &img, NULL, err) < 0)
    return NULL;
  char id[DIGEST_STR_LEN + 1], md[DIGEST_STR_LEN + 1];
  digest_format(&img.id, id);
  digest_format(&img.manifest_digest, md);
  json_t *layers = json_array(), *cfg = NULL;
  for (size_t l = 0; l < img.config.ndiff_ids; l++) {
    char d[DIGEST_STR_LEN + 1];
    digest_format(&img.config.diff_ids[l], d);
    json_array_append_new(layers, json_string(d));
  }
  cfg = img.config.exec ? json_incref(img.config.exec) : json_object();
  /* History as Podman's inspect shows it: the config's own entries */
  json_t *history = json_array();
  for (size_t i = 0; i < img.config.nhistory; i++) {
    const struct image_history *h = &img.config.history[i];
    json_t *e = json_object();
    const char *keys[] = {"created", "created_by", "author", "comment"};
    const char *vals[] = {h->created, h->created_by, h->author, h->comment};
    for (size_t k = 0; k < 4; k++)
      if (vals[k])
        json_object_set_new(e, keys[k], json_string(vals[k]));
    if (h->empty_layer)
      json_object_set_new(e, "empty_layer", json_true());
    json_array_append_new(history, e);
  }
  json_t *j = json_pack("{ss ss so ss ss ss ss sI s{ss so} so so}", "Id", id + 7, "Digest", md, "RepoTags",
                        image_names_of(names, &img.manifest_digest), "Architecture",
                        img.config.arch ? img.config.arch : "", "Os", img.config.os ? img.config.os : "",
                        "Created", img.config.created ? img.config.created : "", "Author",
                        img.config.author ? img.config.author : "", "Size", (json_int_t)img.size, "RootFS", "Type",
                        "layers", "Layers", layers, "Config", cfg ? cfg : json_object(), "History", history);
  image_release(&img);
  return j;
}

int cmd_inspect(int argc, char **argv)
{
  static const struct option opts[] = {{"type", required_argument, NULL, 't'},
                                       {"format", required_argument, NULL, 'f'},
                                       {NULL, 0, NULL, 0}};
  const char *type = NULL, *format = NULL;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+t:f:", opts, NULL)) != -1) {
    if (c == 't' && (!strcmp(optarg, "container") || !strcmp(optarg, "image") || !strcmp(optarg, "volume") ||
                     !strcmp(optarg, "network")))
      type = optarg;
    else if (c == 'f')
      format = optarg;
    else {
      fprintf(stderr, "Usage: isola inspect [--type container|image|volume|network] [-f TEMPLATE] NAME...\n");
      return EXIT_ENGINE;
    }
  }
  if (optind >= argc) {
    fprintf(stderr, "Usage: isola inspect [--type container|image|volume|network] [-f TEMPLATE] NAME...\n");
    return EXIT_ENGINE;
  }
  _cleanup_err_ err_t err = NULL;
  struct store st;
  json_t *out = json_array(), *names = NULL;
  int status = 0;
  if (store_open(&st, engine_root, &err) < 0 || store_names(&st, &names, &err) < 0) {
    store_close(&st);
    json_decref(out);
    return fail(&err);
  }
  for (int i = optind; i < argc; i++) {
    json_t *j = NULL;
    struct ctr ct;
    if ((!type || !strcmp(type, "container")) && ctr_open(argv[i], &ct, NULL) == 0) {
      j = ctr_inspect_json(&ct);
      ctr_close(&ct);
    }
    if (!j && (!type || !strcmp(type, "image")))
      j = image_inspect_json(&st, names, argv[i], NULL);
    if (!j && (!type || !strcmp(type, "volume")))
      volume_inspect_json(argv[i], &j);
    if (!j && (!type || !strcmp(type, "network")))
      network_inspect_json(argv[i], &j);
    if (!j) {
      log_error("no such %s: `%s`", type ? type : "container, image or volume", argv[i]);
      status = EXIT_ENGINE;
      continue;
    }
    json_array_append_new(out, j);
  }
  if (format) {
    size_t i;
    json_t *j;
    json_array_foreach(out, i, j)
    {
      if (format_template(format, j, stdout, &err) < 0) {
        status = fail(&err);
        break;
      }
      putchar('\n');
    }
  } else {
    char *s = json_dumps(out, JSON_INDENT(4));
    printf("%s\n", s ? s : "[]");
    free(s);
  }
  json_decref(out);
  json_decref(names);
  store_close(&st);
  return status;
}
