/* Overlay root filesystems over unpacked layers, with a per-container
 * upper directory (what `isola run` will use), on a scratch store. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file.h"
#include "image/rootfs.h"

static char top[64];

static void put(const char *rel, const char *text)
{
  char p[512];
  snprintf(p, sizeof(p), "%s/%s", top, rel);
  FILE *f = fopen(p, "w");
  cr_assert_not_null(f, "%s", p);
  fputs(text, f);
  fclose(f);
}

static void mk(const char *rel)
{
  char p[512];
  snprintf(p, sizeof(p), "%s/%s", top, rel);
  cr_assert_eq(mkdir(p, 0755), 0, "%s", p);
}

Test(rootfs, writes_go_to_the_upper_directory_and_layers_stay_untouched)
{
  snprintf(top, sizeof(top), "/tmp/isola-rootfs-XXXXXX");
  cr_assert_not_null(mkdtemp(top));
  struct store st;
  cr_assert_eq(store_open(&st, top, NULL), 0);
  struct descriptor layers[2] = {0};
  memset(layers[0].digest.hex, 'a', DIGEST_HEX_LEN);
  memset(layers[1].digest.hex, 'b', DIGEST_HEX_LEN);
  char la[128], lb[128];
  snprintf(la, sizeof(la), "images/layers/%s", layers[0].digest.hex);
  snprintf(lb, sizeof(lb), "images/layers/%s", layers[1].digest.hex);
  mk(la);
  mk(lb);
  char f[256];
  snprintf(f, sizeof(f), "%s/base", la);
  put(f, "lower\n");
  snprintf(f, sizeof(f), "%s/top", lb);
  put(f, "upper layer\n");
  mk("upper");
  mk("work");
  mk("merged");
  struct image img = {0};
  img.manifest.layers = layers;
  img.manifest.nlayers = 2;
  char upper[128], work[128], merged[128];
  snprintf(upper, sizeof(upper), "%s/upper", top);
  snprintf(work, sizeof(work), "%s/work", top);
  snprintf(merged, sizeof(merged), "%s/merged", top);
  err_t e = NULL;
  cr_assert_eq(rootfs_mount(&st, &img, upper, work, merged, &e), 0, "%s", err_msg(e));
  put("merged/new", "written by the container\n");
  put("merged/base", "changed\n");
  cr_assert_eq(rootfs_unmount(merged, NULL), 0);
  char p[512], buf[64] = {0};
  snprintf(p, sizeof(p), "%s/upper/new", top);
  cr_assert_eq(access(p, F_OK), 0, "the new file is in the upper directory");
  snprintf(p, sizeof(p), "%s/%s/base", top, la);
  FILE *r = fopen(p, "r");
  cr_assert_not_null(r);
  cr_assert_not_null(fgets(buf, sizeof(buf), r));
  fclose(r);
  cr_assert_str_eq(buf, "lower\n", "the layer itself is never written");
  store_close(&st);
  cr_assert_eq(remove_tree(top), 0);
}
