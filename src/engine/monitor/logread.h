/* Reading the json-file log while its monitor writes and rotates it
 * (logfile.h): `isola logs` and `isola logs -f`.
 *
 * The monitor rotates by renaming: ctr.log.(N-2) → ctr.log.(N-1) (dropping
 * the oldest) … ctr.log → ctr.log.1, then a new ctr.log; with max-file=1 it
 * unlinks ctr.log and makes a new one.  A reader holds the file it reads by
 * descriptor, so a rotation never takes lines from under it: when the name
 * ctr.log points at another inode it reads its descriptor to the end (the
 * monitor writes no more to a file it has renamed away), then finds the file
 * that came next by where its own file now is (ctr.log.K: the next is
 * ctr.log.(K-1)), however many rotations happened meanwhile, and goes on from
 * its start: every line once and in order, as long as the monitor has not
 * dropped the file (more than max-file rotations behind).  It waits for
 * changes with inotify on the container's directory. */
#ifndef ISOLA_ENGINE_MONITOR_LOGREAD_H
#define ISOLA_ENGINE_MONITOR_LOGREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

/* One record, with its newline. */
typedef void (*logread_line_fn)(const char *line, size_t len, void *ctx);
/* Whether the writer may still write: false ends a follow once all is read. */
typedef bool (*logread_alive_fn)(void *ctx);

struct logread {
  char *path;   /* ctr.log */
  int max_file; /* the names are ctr.log and ctr.log.1 … .(max_file - 1) */
  int watch;    /* inotify on the directory; -1 when not following */
  int fd;       /* the file being read, -1 while there is none */
  dev_t dev;
  ino_t ino;
  off_t off;  /* the next record's offset in it */
  char *buf;  /* bytes from off: a record still being written */
  size_t len, cap;
};

/* `follow` sets up the inotify watch (before anything is read, so that no
 * change is missed). */
int logread_open(struct logread *r, const char *path, int max_file, bool follow, err_t *err);
/* Every complete record there is, oldest first: the rotated files, then
 * ctr.log, taken as one consistent set while the monitor rotates (`alive`,
 * when given, says whether to wait for a ctr.log the monitor is making). */
int logread_all(struct logread *r, logread_line_fn fn, void *ctx, logread_alive_fn alive, void *actx, err_t *err);
/* Then the records written since, across rotations, until `alive` says the
 * writer is gone and everything is read. */
int logread_follow(struct logread *r, logread_line_fn fn, void *ctx, logread_alive_fn alive, void *actx, err_t *err);
void logread_close(struct logread *r);

#endif
