/* Fuzz the config.json parser: bytes -> JSON -> struct spec -> freed. */
#include "fuzz.h"
#include "runtime/spec/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  err_t e = NULL;
  json_t *doc = NULL;
  if (json_load_text((const char *)data, size, "config.json", &doc, &e) < 0) {
    fuzz_check_error(-1, &e);
    return 0;
  }
  struct spec *s = NULL;
  int ret = spec_parse(doc, "config.json", &s, &e);
  fuzz_check_error(ret, &e);
  spec_free(s);
  json_decref(doc);
  return 0;
}
