/* Fuzz the `exec --process FILE` parser. */
#include <string.h>

#include "fuzz.h"
#include "runtime/spec/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  err_t e = NULL;
  json_t *doc = NULL;
  if (json_load_text((const char *)data, size, "process.json", &doc, &e) < 0) {
    fuzz_check_error(-1, &e);
    return 0;
  }
  struct spec_process p;
  memset(&p, 0, sizeof(p));
  int ret = spec_parse_process(doc, "process", &p, &e);
  fuzz_check_error(ret, &e);
  spec_process_release(&p);
  json_decref(doc);
  return 0;
}
