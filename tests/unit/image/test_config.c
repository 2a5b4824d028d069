/* The image config's reader and writer (image/config.h): OCI image-spec
 * config.md's created, author, platform, config, rootfs and history. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "image/config.h"

#define H1 "1111111111111111111111111111111111111111111111111111111111111111"
#define D1 "sha256:" H1
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

/* What `docker build` writes: a layer, a config-only ENV step, a layer. */
static const char built[] =
    "{\"architecture\":\"amd64\",\"os\":\"linux\",\"variant\":\"v2\",\"os.features\":[\"f1\"],"
    "\"created\":\"2026-01-02T03:04:05.123456789Z\",\"author\":\"someone\","
    "\"config\":{\"Env\":[\"PATH=/bin\"],\"Cmd\":[\"sh\"]},"
    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\",\"" D2 "\"]},"
    "\"history\":[{\"created\":\"2026-01-01T00:00:00Z\",\"created_by\":\"/bin/sh -c #(nop) ADD file:11 in /\"},"
    "{\"created\":\"2026-01-01T00:00:01Z\",\"created_by\":\"/bin/sh -c #(nop)  ENV PATH=/bin\","
    "\"empty_layer\":true},"
    "{\"created\":null,\"created_by\":\"/bin/sh -c echo hi > /x\",\"author\":\"a\",\"comment\":\"c\","
    "\"empty_layer\":false}]}";

static void parse_ok(const char *json, struct image_config *c)
{
  err_t e = NULL;
  int r = image_config_parse(json, strlen(json), c, &e);
  cr_assert_eq(r, 0, "%s", err_msg(e));
}

static void parse_fails(const char *json, const char *says)
{
  struct image_config c;
  err_t e = NULL;
  cr_assert_eq(image_config_parse(json, strlen(json), &c, &e), -1, "%s parsed", json);
  cr_assert(strstr(err_msg(e), says), "`%s` does not say `%s`", err_msg(e), says);
  err_free(&e);
}

Test(image_config, reads_every_field_of_a_built_image)
{
  struct image_config c;
  parse_ok(built, &c);
  cr_assert_str_eq(c.arch, "amd64");
  cr_assert_str_eq(c.os, "linux");
  cr_assert_str_eq(c.variant, "v2");
  cr_assert_str_eq(c.os_features[0], "f1");
  cr_assert_null(c.os_features[1]);
  cr_assert_str_eq(c.created, "2026-01-02T03:04:05.123456789Z");
  cr_assert_str_eq(c.author, "someone");
  cr_assert_str_eq(json_string_value(json_array_get(json_object_get(c.exec, "Cmd"), 0)), "sh");
  cr_assert_eq(c.ndiff_ids, 2);
  cr_assert_str_eq(c.diff_ids[1].hex, D2 + 7);
  cr_assert_eq(c.nhistory, 3);
  cr_assert(!c.history[0].empty_layer && c.history[1].empty_layer && !c.history[2].empty_layer);
  cr_assert_null(c.history[2].created, "null reads as absent");
  cr_assert_str_eq(c.history[2].author, "a");
  cr_assert_str_eq(c.history[2].comment, "c");
  cr_assert_eq(image_config_history_layers(&c), 2, "the ENV step made no layer");
  image_config_release(&c);
}

Test(image_config, writes_what_it_read)
{
  struct image_config c, again;
  parse_ok(built, &c);
  char *once = NULL, *twice = NULL;
  cr_assert_eq(image_config_write(&c, &once, NULL), 0);
  parse_ok(once, &again);
  cr_assert_eq(image_config_write(&again, &twice, NULL), 0);
  cr_assert_str_eq(once, twice);
  cr_assert_eq(again.nhistory, 3);
  cr_assert(again.history[1].empty_layer);
  cr_assert_str_eq(again.history[1].created_by, "/bin/sh -c #(nop)  ENV PATH=/bin");
  /* empty_layer only where it is true; absent strings are not written */
  json_t *doc = json_loads(once, 0, NULL);
  json_t *h = json_object_get(doc, "history");
  cr_assert_null(json_object_get(json_array_get(h, 0), "empty_layer"));
  cr_assert(json_is_true(json_object_get(json_array_get(h, 1), "empty_layer")));
  cr_assert_null(json_object_get(json_array_get(h, 2), "created"));
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(doc, "rootfs"), "type")), "layers");
  cr_assert_str_eq(json_string_value(json_object_get(doc, "os.features") ? json_array_get(
                                         json_object_get(doc, "os.features"), 0) : NULL),
                   "f1");
  json_decref(doc);
  free(once);
  free(twice);
  image_config_release(&again);
  image_config_release(&c);
}

Test(image_config, an_image_from_before_history_still_reads)
{
  /* what `isola import` wrote before it recorded history */
  static const char old[] = "{\"architecture\":\"amd64\",\"config\":{},\"os\":\"linux\","
                            "\"rootfs\":{\"diff_ids\":[\"" D1 "\"],\"type\":\"layers\"}}";
  struct image_config c;
  parse_ok(old, &c);
  cr_assert_eq(c.nhistory, 0);
  cr_assert_null(c.created);
  cr_assert_eq(c.ndiff_ids, 1);
  cr_assert(json_is_object(c.exec));
  image_config_release(&c);
}

Test(image_config, wrong_fields_are_named)
{
  parse_fails("[1]", "not a JSON object");
  parse_fails("{\"rootfs\":{}}", "rootfs.diff_ids");
  parse_fails("{\"rootfs\":{\"diff_ids\":[]},\"history\":{}}", "`history` must be an array");
  parse_fails("{\"rootfs\":{\"diff_ids\":[]},\"history\":[{},3]}", "`history[1]` must be an object");
  parse_fails("{\"rootfs\":{\"diff_ids\":[]},\"history\":[{\"created_by\":7}]}", "`history[0].created_by`");
  parse_fails("{\"rootfs\":{\"diff_ids\":[]},\"history\":[{\"empty_layer\":\"yes\"}]}",
              "`history[0].empty_layer` must be true or false");
  parse_fails("{\"rootfs\":{\"diff_ids\":[]},\"config\":[]}", "`config` must be an object");
  parse_fails("{\"rootfs\":{\"diff_ids\":[]},\"created\":5}", "`created` must be a string");
  parse_fails("{\"rootfs\":{\"diff_ids\":[\"sha256:zz\"]}}", "rootfs.diff_ids[0]");
}

Test(image_config, missing_history_is_filled_for_the_oldest_layers_and_kept_otherwise)
{
  /* an isola commit over an isola import, both from before history: one
   * entry (the commit's) for two layers */
  static const char old[] = "{\"created\":\"2026-01-01T00:00:00Z\",\"rootfs\":{\"diff_ids\":[\"" D1 "\",\"" D2
                            "\"]},\"history\":[{\"created_by\":\"isola commit\",\"comment\":\"mine\"}]}";
  struct image_config c;
  parse_ok(old, &c);
  cr_assert_eq(image_config_fill_history(&c, NULL), 0);
  cr_assert_eq(c.nhistory, 2);
  cr_assert_str_eq(c.history[0].created_by, "/bin/sh -c #(nop) ADD file:" H1 " in /");
  cr_assert_str_eq(c.history[0].created, "2026-01-01T00:00:00Z");
  cr_assert_str_eq(c.history[1].created_by, "isola commit", "the entry it had is kept, last");
  cr_assert_str_eq(c.history[1].comment, "mine");
  cr_assert_eq(image_config_history_layers(&c), c.ndiff_ids);
  /* complete already: nothing changes */
  cr_assert_eq(image_config_fill_history(&c, NULL), 0);
  cr_assert_eq(c.nhistory, 2);
  image_config_release(&c);

  struct image_config b;
  parse_ok(built, &b);
  cr_assert_eq(image_config_fill_history(&b, NULL), 0);
  cr_assert_eq(b.nhistory, 3, "an empty_layer entry is no layer's, and none is missing");
  image_config_release(&b);
}

Test(image_config, steps_add_a_layer_or_only_history)
{
  struct image_config c;
  parse_ok(built, &c);
  struct digest d3;
  cr_assert_eq(digest_parse(D3, &d3, NULL), 0);
  char by[] = "sh -c make", note[] = "msg";
  struct image_history layer = {.created = "2026-02-01T00:00:00Z", .created_by = by, .comment = note};
  cr_assert_eq(image_config_add_step(&c, &d3, &layer, NULL), 0);
  struct image_history config_only = {.created = "2026-02-01T00:00:01Z", .created_by = by};
  cr_assert_eq(image_config_add_step(&c, NULL, &config_only, NULL), 0);
  cr_assert_eq(c.ndiff_ids, 3);
  cr_assert_str_eq(c.diff_ids[2].hex, D3 + 7);
  cr_assert_eq(c.nhistory, 5);
  cr_assert(!c.history[3].empty_layer);
  cr_assert_str_eq(c.history[3].comment, "msg");
  cr_assert(c.history[4].empty_layer);
  cr_assert_null(c.history[4].comment);
  cr_assert_eq(image_config_history_layers(&c), c.ndiff_ids);
  char *s = NULL;
  cr_assert_eq(image_config_write(&c, &s, NULL), 0);
  struct image_config back;
  parse_ok(s, &back);
  cr_assert_eq(back.nhistory, 5);
  cr_assert(back.history[4].empty_layer);
  free(s);
  image_config_release(&back);
  image_config_release(&c);
}

Test(image_config, add_file_is_what_podman_import_writes)
{
  struct digest d;
  cr_assert_eq(digest_parse(D1, &d, NULL), 0);
  char *s = image_history_add_file(&d);
  cr_assert_str_eq(s, "/bin/sh -c #(nop) ADD file:" H1 " in /");
  free(s);
}
