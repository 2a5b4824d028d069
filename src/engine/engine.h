/* What the engine's command files share. */
#ifndef ISOLA_ENGINE_ENGINE_H
#define ISOLA_ENGINE_ENGINE_H

/* Docker's convention: 125 when the engine itself fails. */
#define EXIT_ENGINE 125

extern const char *engine_root;

/* containers-auth.json: --authfile, else $REGISTRY_AUTH_FILE, else
 * ROOT/auth.json; free() it. */
char *engine_auth_file(const char *flag);

int cmd_pull(int argc, char **argv);
int cmd_push(int argc, char **argv);
int cmd_images(int argc, char **argv);
int cmd_rmi(int argc, char **argv);
int cmd_tag(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_image(int argc, char **argv);
int cmd_login(int argc, char **argv);
int cmd_logout(int argc, char **argv);
int cmd_save(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_create(int argc, char **argv);
int cmd_start(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_restart(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_wait(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_load(int argc, char **argv);

#endif
