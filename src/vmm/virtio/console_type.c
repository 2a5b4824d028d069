/* virtio-console as a VMM device type: the config's "virtio-console" (an
 * isola extension: one console on a Unix socket).  Its device lives in
 * the type's state slot, not in struct vm: the way for a new device. */
#include <errno.h>
#include <stdlib.h>

#include "vmm/registry.h"
#include "vmm/vm.h"

static int count(const struct vm_config *c)
{
  return c->virtio_console != NULL;
}

extern const struct vmm_device_type virtio_console_type;

static int attach(struct vm *vm, const struct vm_config *c, err_t *err)
{
  if (!c->virtio_console)
    return 0;
  struct virtio_console *con = calloc(1, sizeof *con);
  if (!con)
    return err_sys(err, "cannot allocate the virtio-console");
  if (virtio_console_open(con, c->virtio_console, &vm->loop, err) < 0) {
    free(con);
    return -1;
  }
  *vmm_device_state(vm, &virtio_console_type) = con;
  return vm_add_slot(vm, &virtio_console_ops, con, &con->m, err);
}

static void release(struct vm *vm)
{
  void **state = vmm_device_state(vm, &virtio_console_type);
  if (*state) {
    virtio_console_close(*state);
    free(*state);
  }
  *state = NULL;
}

static int to_json(const struct vm_config *c, json_t *j)
{
  if (!c->virtio_console)
    return 0;
  return json_object_set_new(j, "virtio-console", json_pack("{ss}", "socket_path", c->virtio_console));
}

static int from_json(json_t *j, struct vm_config *c, const char *where, err_t *err)
{
  c->virtio_console = NULL;
  json_t *con = json_object_get(j, "virtio-console");
  if (con && json_unpack(con, "{s:s}", "socket_path", &c->virtio_console) < 0)
    return err_make(err, EINVAL, "%s: virtio-console is malformed (socket_path)", where);
  return 0;
}

const struct vmm_device_type virtio_console_type = {
    .name = "virtio-console",
    .kind = VMM_DEVICE_VIRTIO,
    .section = "virtio-console",
    .count = count,
    .attach = attach,
    .release = release,
    .to_json = to_json,
    .from_json = from_json,
};
