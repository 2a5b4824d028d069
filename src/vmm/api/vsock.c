/* The other devices set before boot: vsock and entropy (virtio-rng). */
#include "vmm/api/internal.h"

struct reply api_put_vsock(struct api *a, const struct api_call *rq)
{
  json_t *b = rq->body;
  static const char *const known[] = {"guest_cid", "uds_path", "vsock_id", NULL};
  struct reply r;
  long cid = 0;
  const char *uds = NULL;
  if (api_known_fields(b, known, &r) < 0 || api_int_field(b, "guest_cid", true, 3, 0x7fffffff, &cid, &r) < 0 ||
      api_str_field(b, "uds_path", true, &uds, &r) < 0)
    return r;
  const char *uc = api_own(a, uds);
  if (!uc)
    return API_OUT_OF_MEMORY;
  a->cfg->vsock = (struct virtio_vsock_config){.cid = (uint64_t)cid, .uds = uc};
  return API_NO_CONTENT;
}

struct reply api_put_entropy(struct api *a, const struct api_call *rq)
{
  static const char *const known[] = {"rate_limiter", NULL};
  struct reply r;
  struct ratelimit_config limit = {0};
  if (api_known_fields(rq->body, known, &r) < 0 || api_limit_field(rq->body, "rate_limiter", &limit, &r) < 0)
    return r;
  a->cfg->rng = true;
  a->cfg->rng_rate_limiter = limit;
  return API_NO_CONTENT;
}
