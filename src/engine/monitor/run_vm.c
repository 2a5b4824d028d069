/* One run of a microVM container under the monitor: isola-vmm boots it,
 * the command runs through isola-init's agent over vsock. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/fdpass.h"
#include "common/file.h"
#include "common/json.h"
#include "common/log.h"
#include "engine/base/proc.h"
#include "engine/container/ctr.h"
#include "engine/engine.h"
#include "engine/monitor/attach.h"
#include "engine/monitor/logfile.h"
#include "engine/monitor/mon.h"
#include "engine/vm/vm.h"

/* --vm: boot the microVM (or reach the test agent), run the command
 * through isola-init's agent and carry its stdio and status. */
static void mon_agent_frame(struct mon *m)
{
  char type;
  char *data;
  size_t len;
  if (attach_recv(m->agent, &type, &data, &len) <= 0) {
    mon_close_fd(m, &m->agent);
    if (!m->exited) {
      m->exited = true;
      m->code = 137;
    }
    return;
  }
  if (type == 'O' || type == 'R') {
    logw_write(&m->log, type == 'R', data, len);
    mon_broadcast(m, type == 'R' ? 'E' : 'O', data, len);
  } else if (type == 'F') {
    json_object_set_new(m->c->state, "Error", json_string(data));
    logw_write(&m->log, 1, data, len);
    logw_write(&m->log, 1, "\n", 1);
  } else if (type == 'X' && len == 4) {
    m->exited = true;
    m->code = (unsigned char)data[0] << 24 | (unsigned char)data[1] << 16 | (unsigned char)data[2] << 8 |
              (unsigned char)data[3];
  }
  free(data);
}

static void mon_vm_poweroff(struct mon *m, const char *agent)
{
  if (m->vmm <= 0)
    return;
  int fd = vm_agent_connect(agent, m->vmm, 2000, NULL);
  if (fd >= 0) {
    attach_send(fd, 'P', "", 0);
    close(fd);
  }
  for (int i = 0; i < 100 && m->vmm > 0; i++) {
    usleep(100 * 1000);
    mon_reap(m);
  }
  if (m->vmm > 0) {
    kill(m->vmm, SIGKILL);
    proc_wait(m->vmm);
    m->vmm = 0;
  }
}

int mon_run_once_vm(struct mon *m, bool first, err_t *err)
{
  struct ctr *c = m->c;
  _cleanup_free_ char *planp = path_join(c->dir, "vm.json");
  _cleanup_json_ json_t *plan = NULL;
  m->exited = false;
  m->agent = -1;
  if (json_load_path(planp, &plan, err) < 0)
    return EXIT_ENGINE;
  const char *agent = json_string_value(json_object_get(plan, "agent"));
  if (!strncmp(agent, "vsock:", 6)) {
    json_t *vargv = json_object_get(plan, "vmm");
    size_t n = json_array_size(vargv);
    const char **argv = calloc(n + 1, sizeof *argv);
    for (size_t i = 0; i < n; i++)
      argv[i] = json_string_value(json_array_get(vargv, i));
    _cleanup_free_ char *console = path_join(c->dir, "console.log");
    _cleanup_close_ int cfd = open(console, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    m->vmm = proc_spawn(argv, -1, cfd, cfd, err);
    free(argv);
    if (m->vmm < 0) {
      m->vmm = 0;
      return EXIT_ENGINE;
    }
  }
  m->agent = vm_agent_connect(agent, m->vmm, 60000, err);
  if (m->agent < 0) {
    err_make(err, err_errnum(err_get(err)), "%s (the guest's console is in %s/console.log)", err_msg(err_get(err)),
             c->dir);
    mon_vm_poweroff(m, agent);
    return EXIT_ENGINE;
  }
  char *body = json_dumps(json_object_get(plan, "exec"), JSON_COMPACT);
  attach_send(m->agent, 'E', body, strlen(body));
  free(body);
  if (!m->open_stdin)
    attach_send(m->agent, 'I', "", 0);
  mon_watch(m, m->agent, T_AGENT, EPOLLIN);
  if (first && m->wait_attach) {
    mon_report(m, 0, NULL);
    int cl = mon_accept_one(m->lfd, 60000);
    if (cl >= 0)
      mon_add_client(m, cl);
  }
  char now[CLOCK_RFC3339_LEN];
  clock_rfc3339(now, sizeof now);
  m->pid = m->vmm;
  json_object_set_new(c->state, "Pid", json_integer(m->vmm));
  json_object_set_new(c->state, "StartedAt", json_string(now));
  json_object_set_new(c->state, "ExitCode", json_integer(0));
  mon_set_state(m, "running");
  engine_event("container", "start", c->id, json_pack("{ss}", "name", ctr_name(c)));
  if (first && !m->wait_attach)
    mon_report(m, 0, NULL);
  while (!m->exited) {
    struct epoll_event evs[16];
    int k = epoll_wait(m->ep, evs, 16, -1);
    for (int i = 0; i < k; i++) {
      uint64_t t = evs[i].data.u64;
      if (t == T_AGENT)
        mon_agent_frame(m);
      else
        mon_common_event(m, t);
    }
  }
  logw_flush(&m->log);
  mon_close_fd(m, &m->agent);
  mon_vm_poweroff(m, agent);
  return 0;
}
