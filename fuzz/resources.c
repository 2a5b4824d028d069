/* Fuzz the `update --resources FILE` parser (linux.resources). */
#include "fuzz.h"
#include "runtime/spec/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  err_t e = NULL;
  json_t *doc = NULL;
  if (json_load_text((const char *)data, size, "resources.json", &doc, &e) < 0) {
    fuzz_check_error(-1, &e);
    return 0;
  }
  struct spec_resources r;
  spec_resources_init(&r);
  int ret = spec_parse_resources(doc, "resources", &r, &e);
  fuzz_check_error(ret, &e);
  spec_resources_release(&r);
  json_decref(doc);
  return 0;
}
