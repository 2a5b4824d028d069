/* Container logs in Docker's json-file format: one JSON object per line,
 * {"log": "text\n", "stream": "stdout"|"stderr", "time": RFC 3339}, lines
 * longer than 16 KiB split into partial records; rotated at max-size into
 * ctr.log.1 … ctr.log.(max-file - 1). */
#ifndef ISOLA_ENGINE_MONITOR_LOGFILE_H
#define ISOLA_ENGINE_MONITOR_LOGFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define LOG_LINE_MAX 16384

struct logw {
  char *path;
  int fd;
  uint64_t size, max_size; /* 0: no rotation */
  int max_file;
  char buf[2][LOG_LINE_MAX]; /* pending partial line per stream */
  size_t len[2];
};

int logw_open(struct logw *w, const char *path, uint64_t max_size, int max_file, err_t *err);
/* stream 0 stdout, 1 stderr */
void logw_write(struct logw *w, int stream, const char *data, size_t len);
/* Write out what is pending (at the end of the container's output). */
void logw_flush(struct logw *w);
void logw_close(struct logw *w);

#endif
