/* Fails on purpose: registered with should_fail so the suite proves that a
 * failing Criterion assertion makes the run fail. */
#include <criterion/criterion.h>

Test(harness, a_failing_assertion_fails_the_run)
{
  cr_assert_eq(1, 2, "this assertion must fail");
}
