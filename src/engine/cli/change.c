/* --change for commit and import (change.h). */
#include "engine/cli/change.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

int change_apply(json_t *cfg, const char *change, err_t *err)
{
  const char *sp = strchr(change, ' ');
  if (!sp)
    return err_make(err, EINVAL, "--change `%s`: use INSTRUCTION VALUE (CMD [\"sh\"], ENV K=V...)", change);
  char ins[16];
  snprintf(ins, sizeof ins, "%.*s", (int)(sp - change), change);
  for (char *p = ins; *p; p++)
    *p = (char)toupper((unsigned char)*p);
  const char *v = sp + 1;
  if (!strcmp(ins, "CMD") || !strcmp(ins, "ENTRYPOINT")) {
    json_t *j = json_loads(v, 0, NULL);
    if (!json_is_array(j)) {
      json_decref(j);
      j = json_pack("[sss]", "/bin/sh", "-c", v); /* shell form */
    }
    json_object_set_new(cfg, !strcmp(ins, "CMD") ? "Cmd" : "Entrypoint", j);
  } else if (!strcmp(ins, "ENV")) {
    json_t *env = json_object_get(cfg, "Env");
    if (!json_is_array(env)) {
      env = json_array();
      json_object_set_new(cfg, "Env", env);
    }
    const char *eq = strchr(v, '=');
    size_t kl = eq ? (size_t)(eq - v) : strlen(v);
    for (size_t i = json_array_size(env); i-- > 0;)
      if (!strncmp(json_string_value(json_array_get(env, i)), v, kl) &&
          json_string_value(json_array_get(env, i))[kl] == '=')
        json_array_remove(env, i);
    json_array_append_new(env, json_string(v));
  } else if (!strcmp(ins, "WORKDIR") || !strcmp(ins, "USER") || !strcmp(ins, "STOPSIGNAL")) {
    json_object_set_new(cfg, !strcmp(ins, "WORKDIR") ? "WorkingDir" : !strcmp(ins, "USER") ? "User" : "StopSignal",
                        json_string(v));
  } else if (!strcmp(ins, "LABEL")) {
    const char *eq = strchr(v, '=');
    if (!eq)
      return err_make(err, EINVAL, "--change `%s`: LABEL takes KEY=VALUE", change);
    if (!json_is_object(json_object_get(cfg, "Labels")))
      json_object_set_new(cfg, "Labels", json_object());
    char key[256];
    snprintf(key, sizeof key, "%.*s", (int)(eq - v), v);
    json_object_set_new(json_object_get(cfg, "Labels"), key, json_string(eq + 1));
  } else if (!strcmp(ins, "EXPOSE")) {
    if (!json_is_object(json_object_get(cfg, "ExposedPorts")))
      json_object_set_new(cfg, "ExposedPorts", json_object());
    char port[64];
    snprintf(port, sizeof port, "%s%s", v, strchr(v, '/') ? "" : "/tcp");
    json_object_set_new(json_object_get(cfg, "ExposedPorts"), port, json_object());
  } else {
    return err_make(err, EINVAL,
                    "--change `%s`: %s is not one of CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE, STOPSIGNAL",
                    change, ins);
  }
  return 0;
}

