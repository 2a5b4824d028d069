/* How a device raises its interrupt line without knowing about KVM: the VM
 * hands it a callback (KVM_IRQ_LINE in production, a recorder in tests). */
#ifndef ISOLA_VMM_DEVICES_IRQ_H
#define ISOLA_VMM_DEVICES_IRQ_H

#include <stdbool.h>

struct irq_line {
  void (*set)(void *ctx, int irq, bool level);
  void *ctx;
  int irq;
};

static inline void irq_line_set(const struct irq_line *l, bool level)
{
  if (l->set)
    l->set(l->ctx, l->irq, level);
}

/* How a device ends the VM (reset, power off): the VM records the first
 * request and stops every vCPU. */
struct stop_hook {
  void (*request)(void *ctx, int status, const char *why);
  void *ctx;
};

static inline void stop_hook_fire(const struct stop_hook *h, int status, const char *why)
{
  if (h->request)
    h->request(h->ctx, status, why);
}

#endif
