/* Fuzz the registry-facing parsers: manifests, indexes (with platform
 * selection) and image configs. */
#include "fuzz.h"
#include "image/config.h"
#include "image/manifest.h"

#include <stdlib.h>
#include <string.h>

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
  if (r == 0) {
    /* what the writer makes of it reads back as the same config */
    char *once = NULL, *twice = NULL;
    struct image_config again;
    if (image_config_write(&c, &once, &e) == 0 &&
        image_config_parse(once, strlen(once), &again, &e) == 0) {
      if (image_config_write(&again, &twice, &e) == 0 && strcmp(once, twice))
        __builtin_trap();
      image_config_release(&again);
    }
    err_free(&e);
    free(once);
    free(twice);
    image_config_release(&c);
  }
  return 0;
}
