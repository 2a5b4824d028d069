/* config.md "Mounts": destination, type, source, options, idmaps.  Options
 * that are mount flags become flags; the rest is data for the filesystem
 * (as mount(8) does). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "common/cleanup.h"
#include "runtime/spec/internal.h"

struct mount_opt {
  const char *name;
  unsigned long set, clear, propagation;
};

static const struct mount_opt mount_opts[] = {
    {"defaults", 0, 0, 0},
    {"ro", MS_RDONLY, 0, 0},
    {"rw", 0, MS_RDONLY, 0},
    {"nosuid", MS_NOSUID, 0, 0},
    {"suid", 0, MS_NOSUID, 0},
    {"nodev", MS_NODEV, 0, 0},
    {"dev", 0, MS_NODEV, 0},
    {"noexec", MS_NOEXEC, 0, 0},
    {"exec", 0, MS_NOEXEC, 0},
    {"sync", MS_SYNCHRONOUS, 0, 0},
    {"async", 0, MS_SYNCHRONOUS, 0},
    {"dirsync", MS_DIRSYNC, 0, 0},
    {"remount", MS_REMOUNT, 0, 0},
    {"mand", MS_MANDLOCK, 0, 0},
    {"nomand", 0, MS_MANDLOCK, 0},
    {"atime", 0, MS_NOATIME, 0},
    {"noatime", MS_NOATIME, 0, 0},
    {"diratime", 0, MS_NODIRATIME, 0},
    {"nodiratime", MS_NODIRATIME, 0, 0},
    {"relatime", MS_RELATIME, 0, 0},
    {"norelatime", 0, MS_RELATIME, 0},
    {"strictatime", MS_STRICTATIME, 0, 0},
    {"nostrictatime", 0, MS_STRICTATIME, 0},
    {"lazytime", MS_LAZYTIME, 0, 0},
    {"nolazytime", 0, MS_LAZYTIME, 0},
    {"silent", MS_SILENT, 0, 0},
    {"loud", 0, MS_SILENT, 0},
    {"bind", MS_BIND, 0, 0},
    {"rbind", MS_BIND | MS_REC, 0, 0},
    {"private", 0, 0, MS_PRIVATE},
    {"rprivate", 0, 0, MS_PRIVATE | MS_REC},
    {"shared", 0, 0, MS_SHARED},
    {"rshared", 0, 0, MS_SHARED | MS_REC},
    {"slave", 0, 0, MS_SLAVE},
    {"rslave", 0, 0, MS_SLAVE | MS_REC},
    {"unbindable", 0, 0, MS_UNBINDABLE},
    {"runbindable", 0, 0, MS_UNBINDABLE | MS_REC},
    {NULL, 0, 0, 0},
};

const char *const *spec_mount_option_names(void)
{
  static const char *names[sizeof(mount_opts) / sizeof(mount_opts[0]) + 1];
  size_t i = 0;
  for (; mount_opts[i].name; i++)
    names[i] = mount_opts[i].name;
  names[i] = "tmpcopyup";
  return names;
}

static int add_data(char **data, const char *opt)
{
  char *n = NULL;
  if (asprintf(&n, "%s%s%s", *data ? *data : "", *data ? "," : "", opt) < 0)
    return -1;
  free(*data);
  *data = n;
  return 0;
}

static int parse_options(const json_t *arr, const char *path, struct spec_mount *m, err_t *err)
{
  size_t i;
  json_t *o;
  json_array_foreach(arr, i, o)
  {
    if (!json_is_string(o))
      return err_make(err, EINVAL, "%s[%zu]: expected a string, got %s", path, i,
                      json_type_name(o));
    const char *name = json_string_value(o);
    if (!strcmp(name, "tmpcopyup")) {
      m->tmpcopyup = true;
      continue;
    }
    const struct mount_opt *mo = mount_opts;
    while (mo->name && strcmp(mo->name, name))
      mo++;
    if (mo->name) {
      m->flags = (m->flags & ~mo->clear) | mo->set;
      m->clear = (m->clear & ~mo->set) | mo->clear;
      if (mo->propagation)
        m->propagation = mo->propagation;
      if (mo->set & MS_BIND) {
        m->bind = true;
        m->recursive = (mo->set & MS_REC) != 0;
        m->flags &= ~MS_REC;
      }
    } else if (add_data(&m->data, name) < 0) {
      return err_sys(err, "%s", path);
    }
  }
  return 0;
}

static int parse_mount(const json_t *obj, const char *path, struct spec_mount *m, err_t *err)
{
  static const char *const known[] = {"destination", "type", "source", "options",
                                      "uidMappings", "gidMappings", NULL};
  if (sp_unknown(obj, path, known, err) < 0 ||
      json_get_string(obj, path, "destination", true, &m->destination, err) < 0 ||
      json_get_string(obj, path, "type", false, &m->type, err) < 0 ||
      json_get_string(obj, path, "source", false, &m->source, err) < 0)
    return -1;
  if (m->destination[0] != '/')
    return err_make(err, EINVAL, "%s.destination: `%s` is not an absolute path", path,
                    m->destination);
  json_t *opts;
  if (json_get_array(obj, path, "options", false, &opts, err) < 0)
    return -1;
  if (opts) {
    _cleanup_free_ char *op = sp_key(path, "options");
    if (parse_options(opts, op, m, err) < 0)
      return -1;
  }
  if (m->type && !strcmp(m->type, "bind"))
    m->bind = true;
  if (m->bind && !m->source)
    return err_make(err, EINVAL, "%s.source: required for a bind mount", path);
  if (!m->bind && !m->type)
    return err_make(err, EINVAL, "%s.type: required unless the mount is a bind mount", path);
  if (sp_parse_idmaps(obj, path, "uidMappings", &m->uid_mappings, &m->n_uid_mappings, err) < 0 ||
      sp_parse_idmaps(obj, path, "gidMappings", &m->gid_mappings, &m->n_gid_mappings, err) < 0)
    return -1;
  if (!m->n_uid_mappings != !m->n_gid_mappings)
    return err_make(err, EINVAL, "%s: uidMappings and gidMappings go together", path);
  return 0;
}

int sp_parse_mounts(const json_t *arr, const char *path, struct spec *s, err_t *err)
{
  s->n_mounts = json_array_size(arr);
  s->mounts = calloc(s->n_mounts + 1, sizeof(*s->mounts));
  if (!s->mounts)
    return err_sys(err, "%s", path);
  size_t i;
  json_t *m;
  json_array_foreach(arr, i, m)
  {
    _cleanup_free_ char *mp = sp_idx(path, i);
    if (!json_is_object(m))
      return err_make(err, EINVAL, "%s: expected an object, got %s", mp, json_type_name(m));
    if (parse_mount(m, mp, &s->mounts[i], err) < 0)
      return -1;
  }
  return 0;
}

void sp_release_mounts(struct spec *s)
{
  for (size_t i = 0; i < s->n_mounts; i++) {
    free(s->mounts[i].data);
    free(s->mounts[i].uid_mappings);
    free(s->mounts[i].gid_mappings);
  }
  free(s->mounts);
  s->mounts = NULL;
  s->n_mounts = 0;
}
