#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json.h"

static json_t *parse(const char *s)
{
  json_t *v = NULL;
  err_t e = NULL;
  cr_assert_eq(json_load_text(s, strlen(s), "t.json", &v, &e), 0, "%s", err_msg(e));
  return v;
}

Test(json, syntax_errors_name_file_line_and_column)
{
  _cleanup_err_ err_t e = NULL;
  json_t *v = NULL;
  const char *bad = "{\n  \"a\": 1,\n  \"b\": }\n";
  cr_assert_eq(json_load_text(bad, strlen(bad), "config.json", &v, &e), -1);
  cr_assert_not_null(strstr(err_msg(e), "config.json: line 3"), "%s", err_msg(e));
}

Test(json, duplicate_keys_are_rejected)
{
  _cleanup_err_ err_t e = NULL;
  json_t *v = NULL;
  const char *dup = "{\"a\": 1, \"a\": 2}";
  cr_assert_eq(json_load_text(dup, strlen(dup), "x.json", &v, &e), -1);
}

Test(json, wrong_type_names_the_json_path_and_both_types)
{
  _cleanup_json_ json_t *v = parse("{\"cwd\": 5}");
  _cleanup_err_ err_t e = NULL;
  const char *s = NULL;
  cr_assert_eq(json_get_string(v, "process", "cwd", true, &s, &e), -1);
  cr_assert_str_eq(err_msg(e), "process.cwd: expected a string, got an integer");
}

Test(json, missing_required_field_is_named)
{
  _cleanup_json_ json_t *v = parse("{}");
  _cleanup_err_ err_t e = NULL;
  json_t *a = NULL;
  cr_assert_eq(json_get_array(v, "process", "args", true, &a, &e), -1);
  cr_assert_str_eq(err_msg(e), "process.args: required field is missing");
}

Test(json, missing_optional_field_leaves_default)
{
  _cleanup_json_ json_t *v = parse("{}");
  _cleanup_err_ err_t e = NULL;
  bool b = true;
  int64_t i = 7;
  cr_assert_eq(json_get_bool(v, "", "terminal", false, &b, &e), 0);
  cr_assert_eq(json_get_int(v, "", "n", false, 0, 10, &i, &e), 0);
  cr_assert(b);
  cr_assert_eq(i, 7);
}

Test(json, integers_out_of_range_are_refused)
{
  _cleanup_json_ json_t *v = parse("{\"uid\": -1}");
  _cleanup_err_ err_t e = NULL;
  int64_t i = 0;
  cr_assert_eq(json_get_int(v, "process.user", "uid", true, 0, 4294967295LL, &i, &e), -1);
  cr_assert_eq(err_errnum(e), ERANGE);
  cr_assert_not_null(strstr(err_msg(e), "process.user.uid: -1 is out of range"));
}

Test(json, unknown_fields_are_named)
{
  _cleanup_json_ json_t *v = parse("{\"args\": [], \"arsg\": 1}");
  _cleanup_err_ err_t e = NULL;
  static const char *const known[] = {"args", "env", NULL};
  cr_assert_eq(json_reject_unknown(v, "process", known, &e), -1);
  cr_assert_str_eq(err_msg(e), "process.arsg: unknown field (check its spelling)");
}
