/* The serial port as a VMM device type: a platform device (vm.c makes it
 * with the machine, at COM1), whose registers and receive FIFO a snapshot
 * saves (serial_state.c), and the uart metrics. */
#include <errno.h>
#include <string.h>

#include "vmm/registry.h"
#include "vmm/vm.h"

enum { SERIAL_STATE_TAG = 15 }; /* T_SERIAL since snapshot format 1 */

static int save(struct vm *vm, vmm_state_put *put, void *ctx, err_t *err)
{
  struct serial_state st;
  serial_save(&vm->serial, &st);
  return put(ctx, 0, &st, sizeof st, err);
}

static int load(struct vm *vm, uint32_t index, const void *data, uint32_t len, err_t *err)
{
  if (index != 0 || len != sizeof(struct serial_state))
    return err_make(err, EINVAL, "the serial port's record (index %u, %u bytes) is malformed (%zu bytes at 0)",
                    index, len, sizeof(struct serial_state));
  struct serial_state st;
  memcpy(&st, data, sizeof st); /* records are packed: copy before looking */
  serial_load(&vm->serial, &st);
  return 0;
}

static void metrics(struct vm *vm, json_t *j)
{
  json_int_t written = (json_int_t)__atomic_load_n(&vm->serial.tx_bytes, __ATOMIC_RELAXED);
  json_object_set_new(j, "uart", json_pack("{sI}", "write_count", written));
}

const struct vmm_device_type serial_type = {
    .name = "serial",
    .kind = VMM_DEVICE_PLATFORM,
    .metrics = metrics,
    .state_tag = SERIAL_STATE_TAG,
    .save = save,
    .load = load,
};
