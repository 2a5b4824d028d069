/* isola-vmm's device flags, parsed into the VM config.  Each parser takes
 * a writable copy of the argument and leaves pointers into it. */
#ifndef ISOLA_VMM_OPTIONS_H
#define ISOLA_VMM_OPTIONS_H

#include "common/err.h"
#include "vmm/vm.h"

/* --disk PATH[,ro][,id=NAME][,io=uring|sync] */
int vmm_parse_disk(char *arg, struct virtio_blk_config *out, err_t *err);
/* --net tap=NAME[,mac=XX:XX:XX:XX:XX:XX] */
int vmm_parse_net(char *arg, struct vm_net *out, err_t *err);
/* --vsock cid=N,uds=PATH */
int vmm_parse_vsock(char *arg, struct virtio_vsock_config *out, err_t *err);

#endif
