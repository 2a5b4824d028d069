/* Firecracker's --config-file: each section through the same handler as
 * its API request (PUT /boot-source, PUT /drives/ID…). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/api/internal.h"
#include "vmm/registry.h"

int api_apply_config_file(struct api *a, const char *path, err_t *err)
{
  json_error_t je;
  json_t *j = json_load_file(path, 0, &je);
  if (!json_is_object(j)) {
    json_decref(j);
    return err_make(err, EINVAL, "--config-file `%s`: %s (line %d, column %d)", path,
                    j ? "not a JSON object" : je.text, je.line, je.column);
  }
  /* the machine's sections; each device type adds its own */
  static const char *const sections[] = {"boot-source", "machine-config", "logger", "metrics", "balloon",
                                         "mmds-config", "cpu-config", NULL};
  const char *k;
  json_t *v;
  int rc = 0;
  json_object_foreach(j, k, v)
  {
    const struct vmm_device_type *dev = vmm_device_by_section(k);
    bool known = dev != NULL;
    for (const char *const *s = sections; *s && !known; s++)
      known = !strcmp(*s, k);
    if (!known) {
      rc = err_make(err, EINVAL, "--config-file `%s`: unknown section `%s`", path, k);
      break;
    }
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    for (size_t i = 0; i < n && rc == 0; i++) {
      json_t *item = json_is_array(v) ? json_array_get(v, i) : v;
      char url[160];
      const char *id = dev && dev->id_field ? json_string_value(json_object_get(item, dev->id_field)) : NULL;
      if (json_is_array(v))
        snprintf(url, sizeof url, "/%s/%s", k, id ? id : "");
      else
        snprintf(url, sizeof url, "/%s", k);
      struct reply r = json_is_object(item) ? api_route(a, "PUT", url, item) : api_fault(400, "not a JSON object");
      if (r.status >= 300) {
        json_t *m = json_loads(r.body, 0, NULL);
        rc = err_make(err, EINVAL, "--config-file `%s`: %s%s%zu: %s", path, k, json_is_array(v) ? "[" : "",
                      json_is_array(v) ? i : 0, json_string_value(json_object_get(m, "fault_message")));
        json_decref(m);
      }
      free(r.body);
    }
    if (rc)
      break;
  }
  json_decref(j);
  return rc;
}
