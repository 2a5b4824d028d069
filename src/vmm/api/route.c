/* The API's routes: one table of method, path and the phase of the
 * microVM in which the endpoint applies. */
#include <string.h>

#include "vmm/api/internal.h"
#include "vmm/registry.h"

enum { GET = 1, PUT = 2, PATCH = 4 };
enum phase {
  ANY,     /* before and after InstanceStart */
  RUNNING, /* once started (a PATCH of a running device) */
  PREBOOT, /* configures the microVM: refused once it is started */
};

struct route {
  int methods;
  const char *path;
  bool has_id; /* path is a prefix followed by a non-empty {id} */
  enum phase phase;
  api_handler *fn;
};

static struct reply not_built(struct api *a, const struct api_call *rq);

/* In order: the first route that matches answers. */
static const struct route routes[] = {
    {GET, "/", false, ANY, api_get_root},
    {GET, "/version", false, ANY, api_get_version},
    {GET, "/machine-config", false, ANY, api_get_machine_config},
    {GET, "/vm/config", false, ANY, api_get_vm_config},
    {PATCH, "/vm", false, ANY, api_patch_vm},
    {PUT, "/actions", false, ANY, api_put_actions},
    {PUT, "/snapshot/create", false, ANY, api_put_snapshot_create},
    {PUT, "/logger", false, ANY, api_put_logger},
    {PUT, "/metrics", false, ANY, api_put_metrics},
    {PUT, "/balloon", false, ANY, not_built},
    {PUT, "/mmds", true, ANY, not_built},
    {PUT, "/mmds", false, ANY, not_built},
    {PATCH, "/drives/", true, RUNNING, api_patch_drive},
    {PATCH, "/network-interfaces/", true, RUNNING, api_patch_net},
    {PUT, "/snapshot/load", false, PREBOOT, api_put_snapshot_load},
    {PUT, "/boot-source", false, PREBOOT, api_put_boot_source},
    {PUT | PATCH, "/machine-config", false, PREBOOT, api_put_machine_config},
    {PUT | PATCH, "/drives/", true, PREBOOT, api_put_drive},
    {PUT, "/network-interfaces/", true, PREBOOT, api_put_net},
    {PATCH, "/network-interfaces/", true, PREBOOT, api_patch_net_preboot},
    {PUT, "/vsock", false, PREBOOT, api_put_vsock},
    {PUT, "/entropy", false, PREBOOT, api_put_entropy},
};

static struct reply not_built(struct api *a, const struct api_call *rq)
{
  (void)a;
  return api_fault(400, "%s is not built yet", rq->url);
}

static int method_bit(const char *m)
{
  return !strcmp(m, "GET") ? GET : !strcmp(m, "PUT") ? PUT : !strcmp(m, "PATCH") ? PATCH : 0;
}

/* The {id} after the route's path, "" for an exact path, NULL: no match.
 * `loose` matches a prefix route with an empty id too. */
static const char *match(const struct route *r, const char *url, bool loose)
{
  size_t n = strlen(r->path);
  if (!r->has_id)
    return strcmp(url, r->path) ? NULL : "";
  if (strncmp(url, r->path, n) || (!url[n] && !loose))
    return NULL;
  return url + n;
}

struct reply api_route(struct api *a, const char *method, const char *url, json_t *body)
{
  int m = method_bit(method);
  struct api_call c = {.method = method, .url = url, .body = body, .patch = m == PATCH};
  /* a device type that keeps its config as JSON answers its own path */
  const struct vmm_device_type *t = url[0] == '/' ? vmm_device_by_section(url + 1) : NULL;
  if (m && t && t->api_section)
    return api_device_section(a, t, &c);
  for (size_t i = 0; i < sizeof routes / sizeof *routes; i++) {
    const struct route *r = &routes[i];
    if (!(r->methods & m) || !(c.id = match(r, url, false)))
      continue;
    if (r->phase == RUNNING && !a->started)
      continue;
    if (r->phase == PREBOOT && a->started)
      break;
    return r->fn(a, &c);
  }
  /* a pre-boot endpoint once the microVM runs, whatever its body or id */
  for (size_t i = 0; a->started && (m & (PUT | PATCH)) && i < sizeof routes / sizeof *routes; i++)
    if (routes[i].phase == PREBOOT && match(&routes[i], url, true))
      return api_fault(400, "%s %s: the microVM is started; this is configured before InstanceStart", method,
                       url);
  return api_fault(400, "Invalid request method and/or path: %s %s", method, url);
}
