/* --format templates of ps, inspect, images, volume and network ls. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "engine/cli/format.h"

int format_template(const char *tpl, json_t *obj, FILE *out, err_t *err)
{
  const char *p = tpl;
  while (*p) {
    const char *open_ = strstr(p, "{{");
    if (!open_) {
      fputs(p, out);
      break;
    }
    fwrite(p, 1, (size_t)(open_ - p), out);
    const char *close_ = strstr(open_, "}}");
    if (!close_)
      return err_make(err, EINVAL, "--format: `{{` without `}}` in `%s`", tpl);
    char expr[256];
    snprintf(expr, sizeof expr, "%.*s", (int)(close_ - open_ - 2), open_ + 2);
    char *e = expr;
    while (*e == ' ')
      e++;
    size_t l = strlen(e);
    while (l && e[l - 1] == ' ')
      e[--l] = 0;
    bool as_json = !strncmp(e, "json ", 5);
    if (as_json)
      e += 5;
    while (*e == ' ')
      e++;
    if (*e != '.')
      return err_make(err, EINVAL, "--format: `%s` is not a field path (.State.Status) or `json .Path`", e);
    json_t *v = obj;
    for (char *save = NULL, *k = strtok_r(e + 1, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
      v = json_object_get(v, k);
    if (as_json || json_is_object(v) || json_is_array(v)) {
      char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("null");
      fputs(s, out);
      free(s);
    } else if (json_is_string(v)) {
      fputs(json_string_value(v), out);
    } else if (json_is_integer(v)) {
      fprintf(out, "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
      fprintf(out, "%g", json_real_value(v));
    } else if (json_is_boolean(v)) {
      fputs(json_is_true(v) ? "true" : "false", out);
    } else {
      fputs("<no value>", out);
    }
    p = close_ + 2;
  }
  return 0;
}
