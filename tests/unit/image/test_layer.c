/* Layer unpacking: overlay whiteouts, and the malicious corpus in
 * tests/data/layers (nothing may land outside the layer directory). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "image/layer.h"

static char dir[64];

static void fresh(void)
{
  snprintf(dir, sizeof(dir), "/tmp/isola-layer-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
}

static void cleanup(void)
{
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  cr_assert_eq(system(cmd), 0);
}

TestSuite(layer, .init = fresh, .fini = cleanup);

static int unpack(const char *name, err_t *e, struct layer_stats *st)
{
  char path[512];
  snprintf(path, sizeof(path), "%s/tests/data/layers/%s.tar", SOURCE_DIR, name);
  return layer_unpack(path, dir, st, e);
}

static bool host_has(const char *p)
{
  struct stat sb;
  return lstat(p, &sb) == 0;
}

static bool in_layer(const char *rel, mode_t type)
{
  char p[512];
  struct stat sb;
  snprintf(p, sizeof(p), "%s/%s", dir, rel);
  return lstat(p, &sb) == 0 && (sb.st_mode & S_IFMT) == type;
}

Test(layer, dotdot_components_are_refused)
{
  err_t e = NULL;
  cr_assert_eq(unpack("dotdot", &e, NULL), -1);
  cr_assert(strstr(err_msg(e), "has a `..` component: refused"), "%s", err_msg(e));
  err_free(&e);
  cr_assert_eq(unpack("dotdot-inner", &e, NULL), -1);
  err_free(&e);
  cr_assert_not(host_has("/tmp/isola-escape-dotdot"));
  cr_assert_not(host_has("/isola-escape-inner"));
}

Test(layer, absolute_paths_stay_in_the_layer)
{
  cr_assert_eq(unpack("absolute", NULL, NULL), 0);
  cr_assert(in_layer("tmp/isola-escape-absolute", S_IFREG));
  cr_assert_not(host_has("/tmp/isola-escape-absolute"));
}

Test(layer, symlinks_pointing_out_are_resolved_inside)
{
  err_t e = NULL;
  /* The layer has no tmp/ of its own, so the write through `link` cannot
   * go anywhere: refused; never on the host. */
  int r = unpack("symlink-absolute", &e, NULL);
  cr_assert(r == -1 || in_layer("tmp/isola-escape-symlink", S_IFREG));
  err_free(&e);
  cr_assert_not(host_has("/tmp/isola-escape-symlink"));
  r = unpack("symlink-relative", &e, NULL);
  err_free(&e);
  cr_assert_not(host_has("/tmp/isola-escape-relative"));
  cr_assert_eq(unpack("symlink-then-file", NULL, NULL), 0);
  cr_assert(in_layer("f", S_IFREG), "the file replaced the symlink, not its target");
  cr_assert_not(host_has("/tmp/isola-escape-overwrite"));
}

Test(layer, hardlinks_to_outside_files_are_refused)
{
  static const char *const cases[] = {"hardlink-absolute", "hardlink-dotdot",
                                      "hardlink-via-symlink"};
  for (size_t i = 0; i < 3; i++) {
    err_t e = NULL;
    cr_assert_eq(unpack(cases[i], &e, NULL), -1, "%s", cases[i]);
    cr_assert(strstr(err_msg(e), "hardlink") || strstr(err_msg(e), "does not hold"), "%s: %s",
              cases[i], err_msg(e));
    err_free(&e);
    cr_assert_not(in_layer("h", S_IFREG));
  }
}

Test(layer, device_nodes_need_root)
{
  struct layer_stats st;
  cr_assert_eq(unpack("device", NULL, &st), 0);
  if (geteuid() == 0) {
    cr_assert(in_layer("dev/sda", S_IFBLK));
    cr_assert(in_layer("dev/mem", S_IFCHR));
  } else {
    cr_assert_eq(st.skipped_devices, 2);
  }
}

Test(layer, a_whiteout_of_dotdot_is_refused)
{
  err_t e = NULL;
  cr_assert_eq(unpack("whiteout-dotdot", &e, NULL), -1);
  cr_assert(strstr(err_msg(e), "malformed whiteout"), "%s", err_msg(e));
  err_free(&e);
}

Test(layer, garbage_is_not_a_layer)
{
  err_t e = NULL;
  static const char junk[] = "this is not a tar archive at all, not even close........";
  cr_assert_eq(layer_unpack_buffer(junk, sizeof(junk), dir, NULL, &e), -1);
  cr_assert(strstr(err_msg(e), "not a valid tar archive") || strstr(err_msg(e), "cannot read"),
            "%s", err_msg(e));
  err_free(&e);
}

Test(layer, a_symlink_without_a_target_is_refused)
{
  /* Found by fuzz_layer: libarchive gives NULL for the target. */
  char path[512];
  snprintf(path, sizeof(path), "%s/tests/data/layers/symlink-no-target.bin", SOURCE_DIR);
  err_t e = NULL;
  cr_assert_eq(layer_unpack(path, dir, NULL, &e), -1);
  cr_assert(strstr(err_msg(e), "symlink without a target"), "%s", err_msg(e));
  err_free(&e);
}

Test(layer, whiteouts_become_overlay_whiteouts_and_opaque_dirs)
{
  /* A tar made by hand: dir/, dir/.wh..wh..opq, dir/keep, .wh.gone */
  static const char *const names[] = {"dir/", "dir/.wh..wh..opq", "dir/keep", ".wh.gone"};
  static unsigned char tar[6 * 512];
  memset(tar, 0, sizeof(tar));
  for (int i = 0; i < 4; i++) {
    unsigned char *h = tar + i * 512;
    strcpy((char *)h, names[i]);
    memcpy(h + 100, i == 0 ? "0000755" : "0000644", 8);
    memcpy(h + 108, "0000000", 8);
    memcpy(h + 116, "0000000", 8);
    memcpy(h + 124, "00000000000", 12);
    memcpy(h + 136, "00000000000", 12);
    h[156] = i == 0 ? '5' : '0';
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int b = 0; b < 512; b++)
      sum += h[b];
    snprintf((char *)h + 148, 8, "%06o", sum);
  }
  cr_assert_eq(layer_unpack_buffer(tar, sizeof(tar), dir, NULL, NULL), 0);
  char p[512], v[4] = {0};
  snprintf(p, sizeof(p), "%s/dir", dir);
  cr_assert_eq(getxattr(p, "trusted.overlay.opaque", v, sizeof(v)), 1);
  cr_assert_eq(v[0], 'y');
  cr_assert(in_layer("dir/keep", S_IFREG));
  cr_assert_not(in_layer("dir/.wh..wh..opq", S_IFREG), "the marker itself is not kept");
  struct stat sb;
  snprintf(p, sizeof(p), "%s/gone", dir);
  cr_assert_eq(lstat(p, &sb), 0);
  cr_assert(S_ISCHR(sb.st_mode) && sb.st_rdev == 0, "a 0/0 character device");
}
