/* Image archives: `isola save` writes one tar that is both an OCI image
 * layout (oci-layout, index.json, blobs/sha256/…) and a `docker save`
 * archive (manifest.json naming the same blobs), as Docker 25 does, so
 * skopeo's oci-archive: and docker-archive:, podman load and docker load
 * all read it.  `isola load` reads either kind, as a tar or a directory;
 * the input is untrusted: it is unpacked with the layer unpacker's checks
 * and every blob is verified against its digest. */
#ifndef ISOLA_IMAGE_SAVELOAD_H
#define ISOLA_IMAGE_SAVELOAD_H

#include <stdio.h>

#include "common/err.h"
#include "image/store.h"

int archive_save(struct store *st, char *const *images, int n, const char *out, err_t *err);
/* Names of what was loaded are printed to `report` ("Loaded image: NAME"). */
int archive_load(struct store *st, const char *in, FILE *report, err_t *err);

#endif
