/* dev_org.h - the orchestration behind `molecule dev` (see cmd_dev.c). */
#ifndef MOL_CLI_DEV_ORG_H
#define MOL_CLI_DEV_ORG_H

typedef struct {
  const char *db;
  char platform_host[128];
  int platform_port;
  char agents_host[128];
  int agents_port;
  const char *question;
  int once;
} dev_opts;

/* Runs until Ctrl-C (or, with once, until the demo answer). Returns the exit status. */
int mol_cli__dev_run(const dev_opts *o);

#endif
