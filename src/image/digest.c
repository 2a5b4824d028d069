#include "image/digest.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int digest_parse(const char *s, struct digest *d, err_t *err)
{
  if (!s || strncmp(s, "sha256:", 7) != 0)
    return err_make(err, EINVAL, "digest `%s` is not a sha256 digest (want sha256:<64 hex digits>)",
                    s ? s : "");
  const char *h = s + 7;
  if (strlen(h) != DIGEST_HEX_LEN)
    return err_make(err, EINVAL, "digest `%s` does not have 64 hex digits", s);
  for (int i = 0; i < DIGEST_HEX_LEN; i++)
    if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
      return err_make(err, EINVAL, "digest `%s` has a character that is not lowercase hex", s);
  memcpy(d->hex, h, DIGEST_HEX_LEN + 1);
  return 0;
}

bool digest_equal(const struct digest *a, const struct digest *b)
{
  return memcmp(a->hex, b->hex, DIGEST_HEX_LEN) == 0;
}

void digest_format(const struct digest *d, char *out)
{
  memcpy(out, "sha256:", 7);
  memcpy(out + 7, d->hex, DIGEST_HEX_LEN + 1);
}

struct hasher {
  EVP_MD_CTX *ctx;
};

struct hasher *hasher_new(void)
{
  struct hasher *h = calloc(1, sizeof(*h));
  if (!h)
    return NULL;
  h->ctx = EVP_MD_CTX_new();
  if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
    hasher_free(h);
    return NULL;
  }
  return h;
}

void hasher_update(struct hasher *h, const void *data, size_t len)
{
  EVP_DigestUpdate(h->ctx, data, len);
}

void hasher_final(struct hasher *h, struct digest *out)
{
  unsigned char md[32];
  unsigned int n = 0;
  EVP_DigestFinal_ex(h->ctx, md, &n);
  for (unsigned i = 0; i < 32; i++)
    snprintf(out->hex + 2 * i, 3, "%02x", md[i]);
  EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL);
}

void hasher_free(struct hasher *h)
{
  if (!h)
    return;
  EVP_MD_CTX_free(h->ctx);
  free(h);
}

void digest_of(const void *data, size_t len, struct digest *out)
{
  unsigned char md[32];
  EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL);
  for (unsigned i = 0; i < 32; i++)
    snprintf(out->hex + 2 * i, 3, "%02x", md[i]);
}
