/* Root filesystems from unpacked layers: an overlayfs mount (the top layer
 * first in lowerdir, optionally a per-container upper/work pair), and for
 * microVMs a read-only disk image of the merged tree (erofs with
 * mkfs.erofs, or ext4 with `mke2fs -d`), cached per image manifest digest. */
#ifndef ISOLA_IMAGE_ROOTFS_H
#define ISOLA_IMAGE_ROOTFS_H

#include "common/err.h"
#include "image/image.h"
#include "image/store.h"

/* `upper` and `work` NULL: a read-only mount. */
int rootfs_mount(const struct store *st, const struct image *img, const char *upper,
                 const char *work, const char *target, err_t *err);
int rootfs_unmount(const char *target, err_t *err);

enum disk_fs { DISK_EROFS, DISK_EXT4 };
/* Path of the cached disk (built when missing); free() it. */
char *rootfs_disk(struct store *st, const struct image *img, enum disk_fs fs, err_t *err);

#endif
