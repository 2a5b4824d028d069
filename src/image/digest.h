/* sha256 content digests ("sha256:" + 64 lowercase hex), computed while
 * data streams through, never taken on trust (OCI image-spec descriptor.md
 * "Digests"). */
#ifndef ISOLA_IMAGE_DIGEST_H
#define ISOLA_IMAGE_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define DIGEST_HEX_LEN 64
#define DIGEST_STR_LEN (7 + DIGEST_HEX_LEN) /* "sha256:" + hex */

struct digest {
  char hex[DIGEST_HEX_LEN + 1];
};

/* Accepts only "sha256:<64 lowercase hex>"; the error names the bad value. */
int digest_parse(const char *s, struct digest *d, err_t *err);
bool digest_equal(const struct digest *a, const struct digest *b);
/* "sha256:<hex>" into out[DIGEST_STR_LEN + 1]. */
void digest_format(const struct digest *d, char *out);

struct hasher; /* an EVP sha256 context */
struct hasher *hasher_new(void);
void hasher_update(struct hasher *h, const void *data, size_t len);
void hasher_final(struct hasher *h, struct digest *out); /* the hasher can be reused after */
void hasher_free(struct hasher *h);

void digest_of(const void *data, size_t len, struct digest *out);

#endif
