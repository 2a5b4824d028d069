#include "vmm/boot/aml.h"

#include <string.h>

enum {
  AML_ZERO = 0x00, AML_ONE = 0x01, AML_NAME = 0x08, AML_BYTE = 0x0a, AML_WORD = 0x0b,
  AML_DWORD = 0x0c, AML_STRING = 0x0d, AML_QWORD = 0x0e, AML_SCOPE = 0x10, AML_BUFFER = 0x11, AML_PACKAGE = 0x12,
  AML_EXT = 0x5b, AML_DEVICE = 0x82, AML_ROOT = 0x5c, AML_METHOD = 0x14, AML_IF = 0xa0,
  AML_LEQUAL = 0x93, AML_ARG0 = 0x68, AML_NOTIFY = 0x86, AML_DUAL_NAME = 0x2e,
};

static void put(struct aml *a, const void *p, size_t n)
{
  if (a->overflow || n > sizeof(a->buf) - a->len) {
    a->overflow = true;
    return;
  }
  memcpy(a->buf + a->len, p, n);
  a->len += n;
}

static void put8(struct aml *a, uint8_t b)
{
  put(a, &b, 1);
}

/* PkgLength (§20.2.4) counts itself: one byte up to 63, else 1-3 more
 * bytes with the low nibble in the lead byte. */
static void put_pkglen(struct aml *a, size_t body)
{
  if (body + 1 <= 63) {
    put8(a, (uint8_t)(body + 1));
    return;
  }
  int extra = body + 2 <= 0xfff ? 1 : body + 3 <= 0xfffff ? 2 : 3;
  size_t len = body + 1 + (size_t)extra;
  put8(a, (uint8_t)((extra << 6) | (len & 0xf)));
  for (int i = 0; i < extra; i++)
    put8(a, (uint8_t)(len >> (4 + 8 * i)));
}

static void put_nameseg(struct aml *a, const char *name)
{
  char seg[4] = {'_', '_', '_', '_'};
  memcpy(seg, name, strnlen(name, 4));
  put(a, seg, 4);
}

static void put_int(struct aml *a, uint64_t v)
{
  if (v == 0) {
    put8(a, AML_ZERO);
  } else if (v == 1) {
    put8(a, AML_ONE);
  } else if (v <= 0xff) {
    put8(a, AML_BYTE);
    put8(a, (uint8_t)v);
  } else if (v <= 0xffff) {
    put8(a, AML_WORD);
    put(a, &(uint16_t){(uint16_t)v}, 2);
  } else if (v <= 0xffffffff) {
    put8(a, AML_DWORD);
    put(a, &(uint32_t){(uint32_t)v}, 4);
  } else {
    put8(a, AML_QWORD);
    put(a, &v, 8);
  }
}

void aml_name_int(struct aml *a, const char *name, uint64_t v)
{
  put8(a, AML_NAME);
  put_nameseg(a, name);
  put_int(a, v);
}

void aml_name_string(struct aml *a, const char *name, const char *s)
{
  put8(a, AML_NAME);
  put_nameseg(a, name);
  put8(a, AML_STRING);
  put(a, s, strlen(s) + 1);
}

/* EISA IDs (§19.6.35): three letters in 5 bits each, big-endian, then four
 * hex digits, stored as the bytes of a DWord. */
void aml_name_eisaid(struct aml *a, const char *name, const char *id)
{
  uint16_t vendor = (uint16_t)(((id[0] - 0x40) << 10) | ((id[1] - 0x40) << 5) | (id[2] - 0x40));
  uint8_t bytes[4] = {(uint8_t)(vendor >> 8), (uint8_t)vendor, 0, 0};
  for (int i = 0; i < 4; i++) {
    char c = id[3 + i];
    int nib = c >= 'A' ? c - 'A' + 10 : c - '0';
    bytes[2 + i / 2] = (uint8_t)(bytes[2 + i / 2] | (nib << (i % 2 ? 0 : 4)));
  }
  put8(a, AML_NAME);
  put_nameseg(a, name);
  put8(a, AML_DWORD);
  put(a, bytes, 4);
}

void aml_name_buffer(struct aml *a, const char *name, const uint8_t *data, size_t n)
{
  struct aml size = {0};
  put_int(&size, n);
  put8(a, AML_NAME);
  put_nameseg(a, name);
  put8(a, AML_BUFFER);
  put_pkglen(a, size.len + n);
  put(a, size.buf, size.len);
  put(a, data, n);
}

void aml_name_package(struct aml *a, const char *name, const uint64_t *vals, size_t n)
{
  struct aml body = {0};
  put8(&body, (uint8_t)n);
  for (size_t i = 0; i < n; i++)
    put_int(&body, vals[i]);
  put8(a, AML_NAME);
  put_nameseg(a, name);
  put8(a, AML_PACKAGE);
  put_pkglen(a, body.len);
  put(a, body.buf, body.len);
  a->overflow |= body.overflow;
}

void aml_device(struct aml *a, const char *name, const struct aml *body)
{
  put8(a, AML_EXT);
  put8(a, AML_DEVICE);
  put_pkglen(a, 4 + body->len);
  put_nameseg(a, name);
  put(a, body->buf, body->len);
  a->overflow |= body->overflow;
}

void aml_scope(struct aml *a, const char *path, const struct aml *body)
{
  bool root = path[0] == '\\';
  put8(a, AML_SCOPE);
  put_pkglen(a, (root ? 1 : 0) + 4 + body->len);
  if (root)
    put8(a, AML_ROOT);
  put_nameseg(a, path + root);
  put(a, body->buf, body->len);
  a->overflow |= body->overflow;
}

void aml_evt_notify(struct aml *a, uint32_t gsi, const char *dev, uint8_t code)
{
  struct aml notify = {0}, cond = {0};
  put8(&notify, AML_NOTIFY);
  put8(&notify, AML_ROOT);
  put8(&notify, AML_DUAL_NAME);
  put_nameseg(&notify, "_SB_");
  put_nameseg(&notify, dev);
  put_int(&notify, code);
  put8(&cond, AML_LEQUAL);
  put8(&cond, AML_ARG0);
  put_int(&cond, gsi);
  size_t if_body = cond.len + notify.len;
  struct aml ifop = {0};
  put8(&ifop, AML_IF);
  put_pkglen(&ifop, if_body);
  put(&ifop, cond.buf, cond.len);
  put(&ifop, notify.buf, notify.len);
  put8(a, AML_METHOD);
  put_pkglen(a, 4 + 1 + ifop.len);
  put_nameseg(a, "_EVT");
  put8(a, 1); /* one argument, not serialized */
  put(a, ifop.buf, ifop.len);
  a->overflow |= ifop.overflow;
}
