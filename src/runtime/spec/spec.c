/* config.md: the top level of config.json. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "runtime/spec/internal.h"

static int parse_root(const json_t *doc, struct spec *s, err_t *err)
{
  json_t *root;
  if (json_get_object(doc, "", "root", true, &root, err) < 0)
    return -1;
  static const char *const known[] = {"path", "readonly", NULL};
  if (sp_unknown(root, "root", known, err) < 0 ||
      json_get_string(root, "root", "path", true, &s->root_path, err) < 0 ||
      json_get_bool(root, "root", "readonly", false, &s->root_readonly, err) < 0)
    return -1;
  if (!*s->root_path)
    return err_make(err, EINVAL, "root.path: must not be empty");
  return 0;
}

int spec_parse(json_t *doc, const char *what, struct spec **out, err_t *err)
{
  static const char *const known[] = {"ociVersion", "root", "process", "hostname", "domainname",
                                      "mounts", "hooks", "annotations", "linux", NULL};
  if (!json_is_object(doc))
    return err_make(err, EINVAL, "%s: expected a JSON object at the top, got %s", what,
                    json_type_name(doc));
  struct spec *s = calloc(1, sizeof(*s));
  if (!s)
    return err_sys(err, "%s", what);
  s->json = json_incref(doc);
  json_t *v;
  if (sp_unknown(doc, "", known, err) < 0 ||
      json_get_string(doc, "", "ociVersion", true, &s->oci_version, err) < 0 ||
      parse_root(doc, s, err) < 0 ||
      json_get_string(doc, "", "hostname", false, &s->hostname, err) < 0 ||
      json_get_string(doc, "", "domainname", false, &s->domainname, err) < 0 ||
      json_get_object(doc, "", "annotations", false, &s->annotations, err) < 0)
    goto fail;
  if (strncmp(s->oci_version, "1.", 2) != 0) {
    err_make(err, EINVAL, "ociVersion: `%s` is not supported (this runtime implements 1.x)",
             s->oci_version);
    goto fail;
  }
  if (json_get_object(doc, "", "process", false, &v, err) < 0)
    goto fail;
  if (v) {
    s->has_process = true;
    if (spec_parse_process(v, "process", &s->process, err) < 0)
      goto fail;
  }
  if (json_get_array(doc, "", "mounts", false, &v, err) < 0 ||
      (v && sp_parse_mounts(v, "mounts", s, err) < 0))
    goto fail;
  if (json_get_object(doc, "", "hooks", false, &v, err) < 0 ||
      (v && sp_parse_hooks(v, "hooks", s, err) < 0))
    goto fail;
  if (json_get_object(doc, "", "linux", false, &v, err) < 0)
    goto fail;
  if (v) {
    s->has_linux = true;
    if (sp_parse_linux(v, "linux", &s->linux_, err) < 0)
      goto fail;
  } else {
    spec_resources_init(&s->linux_.resources);
  }
  *out = s;
  return 0;
fail:
  err_context(err, "%s", what);
  spec_free(s);
  return -1;
}

int spec_load(const char *path, struct spec **out, err_t *err)
{
  _cleanup_json_ json_t *doc = NULL;
  if (json_load_path(path, &doc, err) < 0)
    return -1;
  return spec_parse(doc, path, out, err);
}

void spec_free(struct spec *s)
{
  if (!s)
    return;
  spec_process_release(&s->process);
  sp_release_mounts(s);
  sp_release_hooks(s);
  sp_release_linux(&s->linux_);
  json_decref(s->json);
  free(s);
}
