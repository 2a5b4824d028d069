#include <stdlib.h>
#include <string.h>

#include "init.h"

#define MAX_WORDS 128

static char *words[MAX_WORDS];
static int nwords;

void cmdline_load(const char *text)
{
  char *copy = strdup(text), *save = NULL;
  nwords = 0;
  for (char *w = strtok_r(copy, " \t\n", &save); w && nwords < MAX_WORDS;
       w = strtok_r(NULL, " \t\n", &save))
    words[nwords++] = w;
}

const char *cmdline_get(const char *key)
{
  size_t n = strlen(key);
  const char *found = NULL;
  for (int i = 0; i < nwords; i++) /* the last one wins, as in the kernel */
    if (!strncmp(words[i], key, n) && words[i][n] == '=')
      found = words[i] + n + 1;
  return found;
}
