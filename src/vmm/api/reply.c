/* The API's replies: 204, 200 with JSON, or Firecracker's
 * {"fault_message": …} with the status; and copies of request strings that
 * the config keeps. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/api/internal.h"

const struct reply API_NO_CONTENT = {204, NULL};

struct reply api_fault(unsigned status, const char *fmt, ...)
{
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  json_t *j = json_pack("{ss}", "fault_message", msg);
  if (!j) {
    /* not UTF-8 (a path's bytes echoed, or a character cut at the end):
     * JSON cannot carry it, and a fault must still say what was wrong */
    for (char *p = msg; *p; p++)
      if ((unsigned char)*p >= 0x80)
        *p = '?';
    j = json_pack("{ss}", "fault_message", msg);
  }
  struct reply r = {status, json_dumps(j, JSON_COMPACT)};
  json_decref(j);
  return r;
}

struct reply api_ok_json(json_t *j)
{
  if (!j)
    return api_fault(500, "out of memory");
  struct reply r = {200, json_dumps(j, JSON_COMPACT)};
  json_decref(j);
  return r;
}

/* 400 carrying a failed call's message, after `what: ` when given; the
 * error is freed. */
struct reply api_fault_err(const char *what, err_t *err)
{
  const char *msg = err_msg(err_get(err));
  struct reply r = what ? api_fault(400, "%s: %s", what, msg) : api_fault(400, "%s", msg);
  err_free(err);
  return r;
}

/* A copy kept until api_stop (the config points into it); NULL only when
 * memory runs out, which the caller reports. */
const char *api_own(struct api *a, const char *s)
{
  char **grown = realloc(a->owned, (size_t)(a->nowned + 1) * sizeof *grown);
  char *copy = strdup(s);
  if (!grown || !copy) {
    free(copy);
    if (grown)
      a->owned = grown;
    return NULL;
  }
  a->owned = grown;
  return a->owned[a->nowned++] = copy;
}
