/* Built only in the sanitized build and expected to fail there: a leak in a
 * Criterion worker must fail `make check` (tests/unit/sanitizer-gate). */
#include <criterion/criterion.h>
#include <stdlib.h>

void *volatile leak_sink;

Test(harness, a_leak_is_caught_by_lsan)
{
  leak_sink = malloc(77);
  leak_sink = NULL; /* lost */
}
