/* Docker's inspect object of a container, built from its record, its state
 * and the bundle it runs with. */
#include <string.h>

#include <jansson.h>

#include "common/cleanup.h"
#include "common/file.h"
#include "common/json.h"
#include "engine/container/ctr.h"
#include "engine/container/inspect.h"

json_t *ctr_inspect_json(struct ctr *c)
{
  const char *st = ctr_status(c);
  json_t *state = json_deep_copy(c->state);
  json_object_set_new(state, "Status", json_string(st));
  /* the state keeps the last monitor's pid; a dead one reads as none */
  json_object_set_new(state, "MonitorPid", json_integer(ctr_monitor_pid(c)));
  json_object_set_new(state, "Running", json_boolean(!strcmp(st, "running")));
  json_object_set_new(state, "Restarting", json_boolean(!strcmp(st, "restarting")));
  json_object_set_new(state, "Paused", json_false());
  json_object_set_new(state, "Dead", json_false());
  if (!json_object_get(state, "OOMKilled"))
    json_object_set_new(state, "OOMKilled", json_false());
  if (!json_object_get(state, "Error"))
    json_object_set_new(state, "Error", json_string(""));
  if (json_is_null(json_object_get(state, "Health")))
    json_object_del(state, "Health");
  json_t *j = json_deep_copy(c->rec);
  json_object_set_new(j, "State", state);
  json_object_set_new(j, "RestartCount", json_incref(json_object_get(c->state, "RestartCount")));
  _cleanup_free_ char *log = path_join(c->dir, "ctr.log");
  json_object_set_new(j, "LogPath", json_string(log));
  _cleanup_free_ char *rootfs = path_join(c->dir, "rootfs");
  _cleanup_free_ char *upper = path_join(c->dir, "upper");
  json_object_set_new(j, "GraphDriver", json_pack("{ss s{ss ss}}", "Name", "overlay", "Data", "MergedDir", rootfs,
                                                  "UpperDir", upper));
  json_t *mounts = json_array();
  size_t i;
  json_t *m;
  json_array_foreach(json_object_get(json_object_get(c->rec, "HostConfig"), "Mounts"), i, m)
  {
    json_t *o = json_pack("{sO sO sO sb}", "Type", json_object_get(m, "Type"), "Source", json_object_get(m, "Source"),
                          "Destination", json_object_get(m, "Target"), "RW",
                          !json_is_true(json_object_get(m, "ReadOnly")));
    if (!strcmp(json_string_value(json_object_get(m, "Type")), "volume"))
      json_object_set(o, "Name", json_object_get(m, "Source"));
    json_array_append_new(mounts, o);
  }
  json_object_set_new(j, "Mounts", mounts);
  /* the Config Docker shows: what the container really runs with */
  json_t *cfg = json_object_get(j, "Config");
  _cleanup_free_ char *bundle = path_join(c->dir, "bundle/config.json");
  json_t *spec = NULL;
  if (json_load_path(bundle, &spec, NULL) == 0) {
    json_object_set(cfg, "Env", json_object_get(json_object_get(spec, "process"), "env"));
    json_object_set(cfg, "Hostname", json_object_get(spec, "hostname"));
    json_decref(spec);
  }
  return j;
}
