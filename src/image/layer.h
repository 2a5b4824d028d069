/* Unpacking a layer blob (tar, gzip or zstd; libarchive) into a directory
 * in overlayfs's format: `.wh.NAME` becomes a 0/0 character device,
 * `.wh..wh..opq` the trusted.overlay.opaque xattr on its directory
 * (OCI image-spec layer.md "Whiteouts").
 *
 * Nothing lands outside the directory: entries with a `..` component are
 * refused, every parent is resolved with openat2(RESOLVE_IN_ROOT) so that
 * symlinks in the layer (absolute or relative) stay inside it, hardlinks
 * must name a regular file inside the layer, and files are created with
 * O_NOFOLLOW|O_EXCL.  Device nodes need root; as another user they are
 * skipped with a warning. */
#ifndef ISOLA_IMAGE_LAYER_H
#define ISOLA_IMAGE_LAYER_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "image/digest.h"

struct layer_stats {
  uint64_t entries, bytes, skipped_devices;
};

/* `dir` must exist and be empty. */
int layer_unpack(const char *blob_path, const char *dir, struct layer_stats *stats, err_t *err);

/* sha256 of the uncompressed stream of a (gzip, zstd or plain) tar: the
 * diff_id an image config lists for it.  *compressed says which it was. */
int layer_diff_id(const char *blob_path, struct digest *out, const char **media_type,
                  err_t *err);

/* Same from memory (fuzzing, tests). */
int layer_unpack_buffer(const void *data, size_t len, const char *dir, struct layer_stats *stats,
                        err_t *err);

#endif
