/* The verbs of `isola`, one entry point each (argv[0] is the verb), listed
 * in the table of cli/main.c.  Each lives in the cli/ file named after its
 * verb or verb group and calls the engine's libraries. */
#ifndef ISOLA_ENGINE_CLI_COMMANDS_H
#define ISOLA_ENGINE_CLI_COMMANDS_H

/* cli/run.c and cli/stop.c: the container lifecycle */
int cmd_run(int argc, char **argv);
int cmd_create(int argc, char **argv);
int cmd_start(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_restart(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_wait(int argc, char **argv);

/* cli/ps.c: what runs */
int cmd_ps(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_stats(int argc, char **argv);

int cmd_exec(int argc, char **argv);   /* cli/exec.c */
int cmd_attach(int argc, char **argv); /* cli/exec.c */
int cmd_cp(int argc, char **argv);     /* cli/cp.c */
int cmd_commit(int argc, char **argv); /* cli/commit.c */
int cmd_logs(int argc, char **argv);   /* cli/logs.c */
int cmd_inspect(int argc, char **argv); /* cli/inspect.c */

/* cli/image.c: images */
int cmd_pull(int argc, char **argv);
int cmd_push(int argc, char **argv);
int cmd_images(int argc, char **argv);
int cmd_rmi(int argc, char **argv);
int cmd_tag(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_save(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_image(int argc, char **argv);

/* cli/auth.c: registry credentials */
int cmd_login(int argc, char **argv);
int cmd_logout(int argc, char **argv);

int cmd_volume(int argc, char **argv);  /* cli/volume.c */
int cmd_network(int argc, char **argv); /* cli/network.c */
int cmd_port(int argc, char **argv);    /* cli/network.c */
int cmd_system(int argc, char **argv);  /* cli/system.c */
int cmd_events(int argc, char **argv);  /* cli/events.c */

#endif
