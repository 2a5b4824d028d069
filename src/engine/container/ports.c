#include "engine/container/ports.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int port_range(const char *s, const char *what, const char *spec, long *lo, long *hi, err_t *err)
{
  char *end;
  errno = 0;
  *lo = strtol(s, &end, 10);
  *hi = *lo;
  if (*end == '-')
    *hi = strtol(end + 1, &end, 10);
  if (end == s || *end || errno || *lo < 1 || *hi > 65535 || *hi < *lo)
    return err_make(err, EINVAL, "-p %s: `%s` is not a %s port or range (1-65535)", spec, s, what);
  return 0;
}

/* A port the kernel says is free now (bind to port 0, as Docker does). */
static long free_port(bool udp)
{
  int fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  socklen_t len = sizeof a;
  long p = -1;
  if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    p = ntohs(a.sin_port);
  if (fd >= 0)
    close(fd);
  return p;
}

int ports_parse(const char *spec, json_t *bindings, err_t *err)
{
  char buf[128];
  snprintf(buf, sizeof buf, "%s", spec);
  const char *proto = "tcp";
  char *slash = strrchr(buf, '/');
  if (slash) {
    *slash = 0;
    proto = slash + 1;
    if (strcmp(proto, "tcp") && strcmp(proto, "udp"))
      return err_make(err, EINVAL, "-p %s: the protocol is tcp or udp, not `%s`", spec, proto);
  }
  char *parts[3] = {0};
  int n = 0;
  for (char *p = buf, *c;; p = c + 1) {
    parts[n++] = p;
    c = strchr(p, ':');
    if (!c)
      break;
    if (n == 3) {
      n = 4; /* one colon too many */
      break;
    }
    *c = 0;
  }
  if (n > 3)
    return err_make(err, EINVAL, "-p %s: write [HOSTIP:][HOSTPORT:]CONTAINERPORT[/PROTO]", spec);
  const char *hostip = n == 3 ? parts[0] : "";
  const char *hostport = n >= 2 ? parts[n - 2] : "";
  const char *ctrport = parts[n - 1];
  struct in_addr a;
  if (*hostip && inet_pton(AF_INET, hostip, &a) != 1)
    return err_make(err, EINVAL, "-p %s: `%s` is not an IPv4 address of this host", spec, hostip);
  long clo, chi, hlo = 0, hhi = 0;
  if (port_range(ctrport, "container", spec, &clo, &chi, err) < 0)
    return -1;
  if (*hostport && port_range(hostport, "host", spec, &hlo, &hhi, err) < 0)
    return -1;
  if (*hostport && hhi - hlo != chi - clo)
    return err_make(err, EINVAL, "-p %s: the host and container ranges differ in length", spec);
  for (long p = clo; p <= chi; p++) {
    long hp = *hostport ? hlo + (p - clo) : free_port(!strcmp(proto, "udp"));
    if (hp < 0)
      return err_sys(err, "-p %s: cannot find a free host port", spec);
    char key[32], hps[24];
    snprintf(key, sizeof key, "%ld/%s", p, proto);
    snprintf(hps, sizeof hps, "%ld", hp);
    json_t *list = json_object_get(bindings, key);
    if (!list) {
      list = json_array();
      json_object_set_new(bindings, key, list);
    }
    json_array_append_new(list, json_pack("{ss ss}", "HostIp", hostip, "HostPort", hps));
  }
  return 0;
}

char *ports_format(const json_t *bindings, const char *filter)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f)
    return NULL;
  const char *key;
  json_t *list;
  json_object_foreach((json_t *)bindings, key, list)
  {
    if (filter) {
      size_t fl = strlen(filter);
      if (strcmp(key, filter) && !(strncmp(key, filter, fl) == 0 && key[fl] == '/' && !strcmp(key + fl, "/tcp")))
        continue;
    }
    size_t i;
    json_t *b;
    json_array_foreach(list, i, b)
    {
      const char *ip = json_string_value(json_object_get(b, "HostIp"));
      fprintf(f, "%s -> %s:%s\n", key, ip && *ip ? ip : "0.0.0.0", json_string_value(json_object_get(b, "HostPort")));
    }
  }
  fclose(f);
  return buf;
}

void ports_summary(const json_t *bindings, char *out, size_t n)
{
  size_t at = 0;
  out[0] = 0;
  const char *key;
  json_t *list;
  json_object_foreach((json_t *)bindings, key, list)
  {
    size_t i;
    json_t *b;
    json_array_foreach(list, i, b)
    {
      const char *ip = json_string_value(json_object_get(b, "HostIp"));
      if (at < n)
        at += (size_t)snprintf(out + at, n - at, "%s%s:%s->%s", at ? ", " : "", ip && *ip ? ip : "0.0.0.0",
                               json_string_value(json_object_get(b, "HostPort")), key);
    }
  }
}
