/* Fuzz the registry-facing parsers: manifests, indexes (with platform
 * selection) and image configs. */
#include "fuzz.h"
#include "image/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  err_t e = NULL;
  struct manifest m;
  int r = manifest_parse((const char *)data, size, NULL, &m, &e);
  fuzz_check_error(r, &e);
  if (r == 0) {
    const struct descriptor *d;
    if (m.kind == MANIFEST_INDEX)
      fuzz_check_error(manifest_pick_platform(&m, "linux/amd64", &d, &e), &e);
    manifest_release(&m);
  }
  struct image_config c;
  r = image_config_parse((const char *)data, size, &c, &e);
  fuzz_check_error(r, &e);
  if (r == 0)
    image_config_release(&c);
  return 0;
}
