#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/file.h"
#include "common/log.h"

static char *tmp_log(void)
{
  char *path = strdup("/tmp/isola-test-log-XXXXXX");
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  close(fd);
  return path;
}

static char *slurp(const char *path)
{
  char *buf = NULL;
  err_t e = NULL;
  cr_assert_eq(file_read_all(path, 1 << 20, &buf, NULL, &e), 0, "%s", err_msg(e));
  return buf;
}

Test(log, json_format_writes_one_object_per_line_with_level_msg_time)
{
  _cleanup_free_ char *path = tmp_log();
  err_t e = NULL;
  cr_assert_eq(log_open("t", path, LOG_FORMAT_JSON, &e), 0);
  log_error("container `%s` failed: \"quoted\"", "c1");
  log_close();
  _cleanup_free_ char *text = slurp(path);
  unlink(path);
  json_error_t je;
  json_t *o = json_loads(text, JSON_DISABLE_EOF_CHECK, &je);
  cr_assert_not_null(o, "log line is not JSON: %s", text);
  cr_assert_str_eq(json_string_value(json_object_get(o, "level")), "error");
  cr_assert_str_eq(json_string_value(json_object_get(o, "msg")), "container `c1` failed: \"quoted\"");
  cr_assert_not_null(json_object_get(o, "time"));
  json_decref(o);
  cr_assert_eq(text[strlen(text) - 1], '\n');
}

Test(log, records_below_the_level_are_dropped)
{
  _cleanup_free_ char *path = tmp_log();
  cr_assert_eq(log_open("t", path, LOG_FORMAT_TEXT, NULL), 0);
  log_set_level(LOG_LEVEL_WARN);
  log_debug("hidden");
  log_warn("shown");
  log_close();
  _cleanup_free_ char *text = slurp(path);
  unlink(path);
  cr_assert_null(strstr(text, "hidden"));
  cr_assert_not_null(strstr(text, "warning: shown"));
}

Test(log, parse_rejects_unknown_format_and_level_with_the_choices)
{
  _cleanup_err_ err_t e = NULL;
  enum log_format f;
  enum log_level l;
  cr_assert_eq(log_parse_format("xml", &f, &e), -1);
  cr_assert_not_null(strstr(err_msg(e), "use `text` or `json`"));
  cr_assert_eq(log_parse_level("loud", &l, &e), -1);
  cr_assert_eq(log_parse_level("debug", &l, &e), 0);
  cr_assert_eq(l, LOG_LEVEL_DEBUG);
}

Test(log, open_fails_clearly_on_an_unwritable_path)
{
  _cleanup_err_ err_t e = NULL;
  cr_assert_eq(log_open("t", "/nonexistent-dir/x.log", LOG_FORMAT_TEXT, &e), -1);
  cr_assert_not_null(strstr(err_msg(e), "/nonexistent-dir/x.log"));
}
