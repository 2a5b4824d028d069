/* What the API's endpoint files share: replies, field readers, the
 * request a handler gets, and the handlers the router calls. */
#ifndef ISOLA_VMM_API_INTERNAL_H
#define ISOLA_VMM_API_INTERNAL_H

#include <stdbool.h>

#include <jansson.h>

#include "common/err.h"
#include "vmm/api/api.h"

struct reply {
  unsigned status;
  char *body; /* NULL: no content */
};

/* One request as a handler sees it. */
struct api_call {
  const char *method;
  const char *url;
  const char *id; /* the {id} of /drives/{id}, /network-interfaces/{id} */
  json_t *body;   /* a JSON object for PUT and PATCH, else NULL */
  bool patch;
};

/* ---- replies (reply.c) ---- */
struct reply api_fault(unsigned status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* 200 with `j` (taken); 500 when `j` is NULL. */
struct reply api_ok_json(json_t *j);
/* 400 carrying a failed call's message, after `what: ` when given; the
 * error is freed. */
struct reply api_fault_err(const char *what, err_t *err);
extern const struct reply API_NO_CONTENT;
#define API_OUT_OF_MEMORY api_fault(500, "out of memory")
/* A copy kept until api_stop (the config points into it); NULL only when
 * memory runs out, which the caller reports. */
const char *api_own(struct api *a, const char *s);

/* ---- field readers (fields.c): 0, or -1 with *r the 400 naming the field ---- */
int api_str_field(json_t *b, const char *key, bool required, const char **out, struct reply *r);
int api_int_field(json_t *b, const char *key, bool required, long min, long max, long *out, struct reply *r);
int api_bool_field(json_t *b, const char *key, bool *out, struct reply *r);
/* A rate limiter {bandwidth, ops}: the buckets it names replace those of
 * *out (size 0 lifts a limit; null lifts both). */
struct ratelimit_config;
int api_limit_field(json_t *b, const char *key, struct ratelimit_config *out, struct reply *r);
/* -1 on a field not in the NULL-ended `known`. */
int api_known_fields(json_t *b, const char *const *known, struct reply *r);

/* ---- handlers, one file per endpoint group ---- */
typedef struct reply api_handler(struct api *a, const struct api_call *c);
api_handler api_get_root, api_get_version, api_patch_vm, api_put_actions, api_put_metrics,
    api_put_logger;                                                     /* vm_state.c */
api_handler api_put_boot_source, api_put_machine_config, api_get_machine_config,
    api_get_vm_config;                                                  /* machine.c */
api_handler api_put_drive, api_patch_drive;                              /* drives.c */
api_handler api_put_net, api_patch_net, api_patch_net_preboot;           /* net.c */
api_handler api_put_vsock, api_put_entropy;                              /* vsock.c */
api_handler api_put_snapshot_create, api_put_snapshot_load;              /* snapshot.c */
/* PUT, PATCH and GET of /<section> for an api_section device type
 * (devices.c). */
struct vmm_device_type;
struct reply api_device_section(struct api *a, const struct vmm_device_type *t, const struct api_call *rq);

/* The reply to METHOD URL with `body` (route.c); the caller holds a->lock. */
struct reply api_route(struct api *a, const char *method, const char *url, json_t *body);

#endif
