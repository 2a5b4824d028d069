/* OCI image-spec and Docker schema 2 documents: manifests and indexes (and
 * Docker manifest lists); image configs are image/config.h.  Parsed from
 * untrusted bytes into plain structs; every error names the field. */
#ifndef ISOLA_IMAGE_MANIFEST_H
#define ISOLA_IMAGE_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "image/digest.h"

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define MANIFEST_ACCEPT                                                                           \
  MT_OCI_INDEX ", " MT_OCI_MANIFEST ", " MT_DOCKER_LIST ", " MT_DOCKER_MANIFEST
#define MANIFEST_MAX (4 * 1024 * 1024)
#define CONFIG_MAX (8 * 1024 * 1024)

struct descriptor {
  char *media_type;
  struct digest digest;
  uint64_t size;
  char *os, *arch, *variant; /* index entries only */
};

enum manifest_kind { MANIFEST_IMAGE, MANIFEST_INDEX };

struct manifest {
  enum manifest_kind kind;
  char *media_type;
  struct descriptor config;  /* image */
  struct descriptor *layers; /* image */
  size_t nlayers;
  struct descriptor *manifests; /* index */
  size_t nmanifests;
};

bool media_type_is_layer(const char *mt);
bool media_type_is_index(const char *mt);

/* `content_type` is the registry's Content-Type header, used when the body
 * does not say (Docker schema 2 always does; bare OCI manifests may not). */
int manifest_parse(const char *data, size_t len, const char *content_type, struct manifest *m,
                   err_t *err);
void manifest_release(struct manifest *m);

/* The entry of an index for os/arch[/variant]; the error lists what the
 * index offers. */
int manifest_pick_platform(const struct manifest *index, const char *platform,
                           const struct descriptor **out, err_t *err);

#endif
