/* Just enough AML (ACPI 6.4 chapter 20) for the DSDT: names, integers,
 * buffers, packages, devices, scopes and a GED's event method. */
#ifndef ISOLA_VMM_BOOT_AML_H
#define ISOLA_VMM_BOOT_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml {
  uint8_t buf[2048];
  size_t len;
  bool overflow; /* set instead of writing past buf */
};

void aml_name_int(struct aml *a, const char *name, uint64_t v);
void aml_name_string(struct aml *a, const char *name, const char *s);
void aml_name_eisaid(struct aml *a, const char *name, const char *id); /* "PNP0501" */
void aml_name_buffer(struct aml *a, const char *name, const uint8_t *data, size_t n);
/* Name(name, Package() {v0, v1, ...}) of integers. */
void aml_name_package(struct aml *a, const char *name, const uint64_t *vals, size_t n);
/* Device(name) { body } and Scope(path) { body }; body is consumed. */
void aml_device(struct aml *a, const char *name, const struct aml *body);
void aml_scope(struct aml *a, const char *path, const struct aml *body);
/* A Generic Event Device's handler: Method(_EVT, 1) { If (Arg0 == gsi) {
 * Notify(\_SB.dev, code) } }. */
void aml_evt_notify(struct aml *a, uint32_t gsi, const char *dev, uint8_t code);

#endif
