#include "runtime/container/idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "runtime/container/namespaces.h"

int idmap_userns(const struct spec_mount *m, err_t *err)
{
  /* A child enters a new user namespace and waits; we write its maps (the
   * rules of ns_write_id_maps, rootless included), keep a handle on the
   * namespace, and let the child go. */
  int ready[2], hold[2];
  if (pipe2(ready, O_CLOEXEC) < 0)
    return err_sys(err, "pipe");
  if (pipe2(hold, O_CLOEXEC) < 0) {
    close(ready[0]);
    close(ready[1]);
    return err_sys(err, "pipe");
  }
  pid_t c = fork();
  if (c == 0) {
    close(ready[0]);
    close(hold[1]);
    char x = unshare(CLONE_NEWUSER) == 0 ? 'y' : 'n';
    if (write(ready[1], &x, 1) != 1)
      _exit(1);
    ssize_t n = read(hold[0], &x, 1); /* until the parent closes its end */
    _exit(n < 0);
  }
  close(ready[1]);
  close(hold[0]);
  int fd = -1;
  char x = 0;
  if (c < 0) {
    err_sys(err, "cannot fork");
  } else if (read(ready[0], &x, 1) != 1 || x != 'y') {
    err_make(err, EPERM, "cannot create a user namespace for an idmapped mount");
  } else {
    struct spec_linux maps = {.uid_mappings = m->uid_mappings, .n_uid_mappings = m->n_uid_mappings,
                              .gid_mappings = m->gid_mappings, .n_gid_mappings = m->n_gid_mappings};
    char p[64];
    snprintf(p, sizeof(p), "/proc/%d/ns/user", (int)c);
    if (ns_write_id_maps(c, &maps, err) == 0 && (fd = open(p, O_RDONLY | O_CLOEXEC)) < 0)
      err_sys(err, "cannot open `%s`", p);
  }
  close(ready[0]);
  close(hold[1]);
  if (c > 0)
    while (waitpid(c, NULL, 0) < 0 && errno == EINTR)
      ;
  if (fd < 0)
    return err_context(err, "mount on `%s`", m->destination);
  return fd;
}

void idmap_close_all(int *fds, size_t n)
{
  for (size_t i = 0; fds && i < n; i++)
    if (fds[i] >= 0)
      close(fds[i]);
  free(fds);
}

int idmap_open_all(const struct spec *s, int **fds, err_t *err)
{
  *fds = NULL;
  size_t need = 0;
  for (size_t i = 0; i < s->n_mounts; i++)
    need += s->mounts[i].n_uid_mappings > 0;
  if (!need)
    return 0;
  int *v = malloc(s->n_mounts * sizeof(*v));
  if (!v)
    return err_sys(err, "idmapped mounts");
  for (size_t i = 0; i < s->n_mounts; i++)
    v[i] = -1;
  for (size_t i = 0; i < s->n_mounts; i++) {
    if (!s->mounts[i].n_uid_mappings)
      continue;
    if (!s->mounts[i].bind) {
      idmap_close_all(v, s->n_mounts);
      return err_make(err, EINVAL, "mounts[%zu]: uidMappings and gidMappings need a bind mount",
                      i);
    }
    if ((v[i] = idmap_tree(&s->mounts[i], err)) < 0) {
      idmap_close_all(v, s->n_mounts);
      return err_context(err, "mounts[%zu]", i);
    }
  }
  *fds = v;
  return 0;
}

int idmap_tree(const struct spec_mount *m, err_t *err)
{
  /* Only a process privileged over the source's superblock (on the host,
   * before the container's user namespace) may idmap a mount. */
  _cleanup_close_ int userns = idmap_userns(m, err);
  if (userns < 0)
    return -1;
  int flags = m->recursive ? AT_RECURSIVE : 0;
  _cleanup_close_ int tree = open_tree(AT_FDCWD, m->source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | flags);
  if (tree < 0)
    return err_sys(err, "cannot clone the mount of `%s`", m->source);
  struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns};
  if (mount_setattr(tree, "", AT_EMPTY_PATH | flags, &attr, sizeof(attr)) < 0)
    return err_sys(err, "cannot idmap the mount of `%s` (does its filesystem support idmapped "
                   "mounts?)", m->source);
  return steal_fd(&tree);
}

int idmap_attach(int tree, int target_fd, err_t *err)
{
  if (move_mount(tree, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return err_sys(err, "cannot attach the idmapped mount");
  return 0;
}
