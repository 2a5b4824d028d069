/* What the monitor's files share (monitor.c, streams.c, run.c, run_vm.c):
 * one monitor process serves one container, from an epoll loop over the
 * container's stdio, the attach clients, SIGCHLD and the healthcheck. */
#ifndef ISOLA_ENGINE_MONITOR_MON_H
#define ISOLA_ENGINE_MONITOR_MON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "engine/container/ctr.h"
#include "engine/monitor/health.h"
#include "engine/monitor/logfile.h"

#define MAX_CLIENTS 16

enum tag { T_OUT, T_ERR, T_TTY, T_LISTEN, T_SIG, T_IN, T_HTIMER, T_HOUT, T_AGENT, T_CLIENT = 100 };

struct mon {
  struct ctr *c;
  int sync_fd;
  bool wait_attach, tty, open_stdin;
  struct logw log;
  int lfd, ep, sfd, rundir_fd;
  int clients[MAX_CLIENTS];
  int out_r, err_r, tty_fd, in_w;
  int tty_peer; /* our own fd on the terminal's slave side (hold_console) */
  char *inbuf;
  size_t inlen;
  bool in_eof;
  pid_t pid;
  bool exited;
  int code;
  bool vm;
  int agent; /* --vm: the agent connection */
  pid_t vmm;
  struct health health;
  /* exits reaped before the container's PID was known */
  pid_t early_pid[8];
  int early_status[8];
};

/* monitor.c: the process, its state and its report to isola */
void mon_set_state(struct mon *m, const char *status);
void mon_reap(struct mon *m);
/* OK, or ERR CODE and err's message, to the waiting isola (once). */
void mon_report(struct mon *m, int code, const err_t err);
/* Attach clients and child exits, which every loop serves; false for the
 * other events. */
bool mon_common_event(struct mon *m, uint64_t t);

/* streams.c: the container's stdio and the attach clients */
void mon_watch(struct mon *m, int fd, enum tag t, uint32_t events);
void mon_close_fd(struct mon *m, int *fd);
/* One attach frame to every client; a client that fails is dropped. */
void mon_broadcast(struct mon *m, char type, const void *data, size_t len);
void mon_add_client(struct mon *m, int fd);
void mon_hold_console(struct mon *m);
void mon_release_console(struct mon *m);
void mon_close_stdio(struct mon *m);
void mon_flush_stdin(struct mon *m);
void mon_client_input(struct mon *m, int i);
void mon_on_output(struct mon *m, int *fd, int stream);
void mon_on_tty(struct mon *m);
int mon_setup_stdio(struct mon *m, int fds[3], int *console_lfd);
/* A connection on lfd within timeout_ms, else -1. */
int mon_accept_one(int lfd, int timeout_ms);

/* run.c: create and start the container once; 0 when it ran (m->code is
 * its exit code), else the start-failure exit code with *err. */
int mon_run_once(struct mon *m, bool first, err_t *err);

/* run_vm.c: the same for a microVM, through isola-init's agent. */
int mon_run_once_vm(struct mon *m, bool first, err_t *err);

#endif
