/* Built only in the sanitized build and expected to fail there: proves that
 * the sanitizers (ASan, UBSan's object-size check) are really on, so a memory
 * bug cannot pass `make check`. */
#include <criterion/criterion.h>
#include <stdlib.h>

Test(harness, a_heap_overflow_is_caught_by_asan)
{
  volatile char *p = malloc(8);
  p[8] = 'x'; /* one past the end */
  free((void *)p);
}
