/* Fuzz layer unpacking: any tar (or gzip/zstd of one) is unpacked into a
 * scratch directory, which is then checked to hold everything written and
 * removed.  A write outside it shows up as a file in the sentinel
 * directory's parent. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "image/layer.h"

static char base[64];

/* Remove without following anything: never chmod() or open() a path here,
 * because the unpacked tree holds symlinks to arbitrary host paths (an
 * earlier version chmod()ed every entry and so changed /tmp and /etc
 * through fuzzed symlinks).  Root needs no permission bits to remove. */
static int rm(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(p);
}

/* The scratch directory goes with the process (it is empty between inputs). */
static void remove_base(void)
{
  rmdir(base);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (!base[0]) {
    snprintf(base, sizeof(base), "/tmp/isola-fuzz-layer-XXXXXX");
    if (!mkdtemp(base))
      abort();
    atexit(remove_base);
  }
  char dir[128];
  snprintf(dir, sizeof(dir), "%s/layer", base);
  if (mkdir(dir, 0755) < 0)
    abort();
  err_t e = NULL;
  int r = layer_unpack_buffer(data, size, dir, NULL, &e);
  fuzz_check_error(r, &e);
  nftw(dir, rm, 16, FTW_DEPTH | FTW_PHYS);
  /* Only `layer` was made under base: if base is not empty now, an entry
   * escaped the layer directory into its parent. */
  if (rmdir(base) < 0)
    abort();
  if (mkdir(base, 0700) < 0)
    abort();
  return 0;
}
