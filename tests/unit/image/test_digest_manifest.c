/* Digests, references and manifest parsing. */
#include <criterion/criterion.h>
#include <string.h>

#include "image/digest.h"
#include "image/manifest.h"
#include "image/reference.h"

Test(digest, only_sha256_lowercase_hex_is_accepted)
{
  struct digest d;
  err_t e = NULL;
  cr_assert_eq(digest_parse("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                            &d, NULL), 0);
  struct digest empty;
  digest_of("", 0, &empty);
  cr_assert(digest_equal(&d, &empty), "sha256 of nothing");
  cr_assert_eq(digest_parse("sha512:abcd", &d, &e), -1);
  err_free(&e);
  cr_assert_eq(digest_parse("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
                            &d, &e), -1);
  cr_assert(strstr(err_msg(e), "not lowercase hex"));
  err_free(&e);
  cr_assert_eq(digest_parse("sha256:../../etc/passwd", &d, &e), -1, "no path tricks via digests");
  err_free(&e);
}

Test(reference, docker_normalization)
{
  struct reference r;
  cr_assert_eq(reference_parse("busybox", &r, NULL), 0);
  char *n = reference_name(&r);
  cr_assert_str_eq(n, "docker.io/library/busybox:latest");
  free(n);
  reference_release(&r);
  cr_assert_eq(reference_parse("127.0.0.1:5000/a/b:v1", &r, NULL), 0);
  cr_assert_str_eq(r.registry, "127.0.0.1:5000");
  cr_assert_str_eq(r.repository, "a/b");
  cr_assert_str_eq(r.tag, "v1");
  reference_release(&r);
  cr_assert_eq(reference_parse("localhost/x", &r, NULL), 0);
  cr_assert_str_eq(r.registry, "localhost");
  reference_release(&r);
  err_t e = NULL;
  cr_assert_eq(reference_parse("UPPER/case", &r, &e), -1);
  err_free(&e);
}

static const char index_json[] =
    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
    "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"size\":10,\"digest\":"
    "\"sha256:1111111111111111111111111111111111111111111111111111111111111111\","
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
    "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"size\":10,\"digest\":"
    "\"sha256:2222222222222222222222222222222222222222222222222222222222222222\","
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";

Test(manifest, index_platform_selection)
{
  struct manifest m;
  const struct descriptor *d;
  cr_assert_eq(manifest_parse(index_json, strlen(index_json), NULL, &m, NULL), 0);
  cr_assert_eq(m.kind, MANIFEST_INDEX);
  cr_assert_eq(manifest_pick_platform(&m, NULL, &d, NULL), 0);
  cr_assert_eq(d->digest.hex[0], '2', "linux/amd64 by default");
  cr_assert_eq(manifest_pick_platform(&m, "linux/arm64/v8", &d, NULL), 0);
  cr_assert_eq(d->digest.hex[0], '1');
  err_t e = NULL;
  cr_assert_eq(manifest_pick_platform(&m, "linux/riscv64", &d, &e), -1);
  cr_assert(strstr(err_msg(e), "it offers: linux/arm64/v8, linux/amd64"), "%s", err_msg(e));
  err_free(&e);
  manifest_release(&m);
}

Test(manifest, docker_schema2_and_bad_fields)
{
  static const char docker[] =
      "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
      "\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"size\":7,"
      "\"digest\":\"sha256:3333333333333333333333333333333333333333333333333333333333333333\"},"
      "\"layers\":[{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"size\":9,"
      "\"digest\":\"sha256:4444444444444444444444444444444444444444444444444444444444444444\"}]}";
  struct manifest m;
  cr_assert_eq(manifest_parse(docker, strlen(docker), NULL, &m, NULL), 0);
  cr_assert_eq(m.kind, MANIFEST_IMAGE);
  cr_assert_eq(m.nlayers, 1);
  cr_assert_eq(m.layers[0].size, 9);
  manifest_release(&m);
  err_t e = NULL;
  static const char schema1[] = "{\"schemaVersion\":1}";
  cr_assert_eq(manifest_parse(schema1, strlen(schema1), NULL, &m, &e), -1);
  cr_assert(strstr(err_msg(e), "schema 1 is not supported"));
  err_free(&e);
  static const char neg[] = "{\"schemaVersion\":2,\"config\":{\"size\":-1,\"digest\":"
                            "\"sha256:3333333333333333333333333333333333333333333333333333333333333333\"},"
                            "\"layers\":[]}";
  cr_assert_eq(manifest_parse(neg, strlen(neg), NULL, &m, &e), -1);
  cr_assert(strstr(err_msg(e), "config.size"), "%s", err_msg(e));
  err_free(&e);
  static const char foreign[] =
      "{\"schemaVersion\":2,\"config\":{\"size\":1,\"digest\":"
      "\"sha256:3333333333333333333333333333333333333333333333333333333333333333\"},\"layers\":[{"
      "\"mediaType\":\"application/vnd.example.unknown\",\"size\":1,\"digest\":"
      "\"sha256:4444444444444444444444444444444444444444444444444444444444444444\"}]}";
  cr_assert_eq(manifest_parse(foreign, strlen(foreign), NULL, &m, &e), -1);
  cr_assert(strstr(err_msg(e), "which isola cannot unpack"), "%s", err_msg(e));
  err_free(&e);
}
