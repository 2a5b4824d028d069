/* Fuzz isola-vmm's API router and handlers: whoever can reach the API socket
 * sends any method, path and body.  The input is requests separated by NUL
 * bytes, each "METHOD PATH\nBODY" ("!METHOD…" marks the microVM started), so
 * that sequences build up a config.  Every reply must be a known status with
 * a JSON body or none, and the config must stay within the VMM's bounds.
 * PUT /metrics is left out: it creates the file it is given. */
#include <string.h>

#include "fuzz.h"
#include "vmm/api/internal.h"
#include "vmm/layout.h"
#include "vmm/vm.h"

static void one(struct api *a, const char *req, size_t len)
{
  char buf[4096];
  if (len >= sizeof buf)
    return;
  memcpy(buf, req, len);
  buf[len] = 0;
  char *p = buf;
  if (*p == '!') {
    a->started = true;
    p++;
  }
  char *nl = strchr(p, '\n'), *sp = strchr(p, ' ');
  if (!nl || !sp || sp > nl)
    return;
  *sp = *nl = 0;
  const char *method = p, *url = sp + 1, *text = nl + 1;
  if (!strcmp(url, "/metrics"))
    return;
  json_t *body = NULL;
  if (!strcmp(method, "PUT") || !strcmp(method, "PATCH")) {
    body = json_loads(text, 0, NULL);
    if (!json_is_object(body)) {
      json_decref(body);
      return; /* the server refuses it before routing */
    }
  }
  struct reply r = api_route(a, method, url, body);
  json_decref(body);
  if (r.status != 200 && r.status != 204 && r.status != 400 && r.status != 500)
    abort();
  if ((r.status == 204) != (r.body == NULL))
    abort();
  if (r.body) {
    json_t *j = json_loads(r.body, 0, NULL);
    if (!j || (r.status >= 400 && !json_is_string(json_object_get(j, "fault_message"))))
      abort();
    json_decref(j);
  }
  free(r.body);
  struct vm_config *c = a->cfg;
  if (c->ndisks < 0 || c->nnets < 0 || c->ndisks + c->nnets > VM_MAX_VIRTIO || c->ncpus < 1 ||
      c->ncpus > VMM_MAX_CPUS)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct vm_config cfg = {.cmdline = "", .ncpus = 1, .memory = 128ull << 20};
  struct api a;
  api_init(&a, &cfg);
  const char *s = (const char *)data, *end = s + size;
  while (s < end) {
    const char *z = memchr(s, 0, (size_t)(end - s));
    size_t n = z ? (size_t)(z - s) : (size_t)(end - s);
    one(&a, s, n);
    s += n + 1;
  }
  api_stop(&a);
  return 0;
}
