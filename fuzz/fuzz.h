/* Shared by the fuzz targets: turn libFuzzer's bytes into a JSON document
 * the way the runtime reads a file, and hold the parsers to their error
 * convention (a failure always carries a message). */
#ifndef ISOLA_FUZZ_H
#define ISOLA_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "common/err.h"
#include "common/json.h"
#include "common/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  /* Parsers warn through the log; keep the fuzzer's output readable. */
  log_open("fuzz", "/dev/null", LOG_FORMAT_TEXT, NULL);
  return 0;
}

/* A failed parse must say why: an empty message is a bug. */
static inline void fuzz_check_error(int ret, err_t *e)
{
  if (ret < 0 && err_msg(*e)[0] == '\0')
    abort();
  err_free(e);
}

#endif
