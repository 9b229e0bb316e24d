/* verbs_env.c - what `molecule connect` hands its handler so that the platform verbs work
 * inside it: the workspace identity in the environment, the raw message in a file, and the
 * task `molecule status` set carried on by connect's own heartbeats. */
#include "cli/verbs_env.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/verbs.h"

#define MESSAGE_FILE ".inbound_message.json"
#define MAX_TASK 4096

static char token_dir[4096];
static char message_path[4200];

static void export_var(const char *name, const char *value) {
  if (value && *value && setenv(name, value, 1))
    fprintf(stderr, "[molecule] cannot export %s to the handler: %s\n", name, strerror(errno));
}

void mol_cli__connect_export_env(const mol_platform_opts *po) {
  export_var("PLATFORM_URL", po->platform_url);
  export_var("MOLECULE_PLATFORM_URL", po->platform_url);
  export_var("WORKSPACE_ID", po->workspace_id);
  export_var("MOLECULE_WORKSPACE_ID", po->workspace_id);
  export_var("MOLECULE_ORG_ID", po->org_id);
  if (mol_cli__verb_token_dir(po, token_dir, sizeof token_dir)) {
    fprintf(stderr, "[molecule] no token directory to export (HOME unset?)\n");
    token_dir[0] = '\0';
    return;
  }
  export_var("MOLECULE_TOKEN_DIR", token_dir);
  snprintf(message_path, sizeof message_path, "%s/%s", token_dir, MESSAGE_FILE);
  export_var("MOLECULE_MESSAGE_FILE", message_path);
}

void mol_cli__connect_message_file(const mol_platform_message *m) {
  if (!message_path[0]) return;
  const char *raw = m->raw_json ? m->raw_json : "";
  int rc = mol_cli__verb_write_private(message_path, raw, strlen(raw));
  if (rc) {
    unlink(message_path);
    fprintf(stderr, "[molecule] cannot write %s for %s: %s\n", message_path, m->activity_id,
            strerror(-rc));
  }
}

void mol_cli__connect_status_supplier(mol_platform_client *c, mol_platform_heartbeat_payload *p,
                                      void *arg) {
  static char task[MAX_TASK + 1];
  (void)c;
  (void)arg;
  task[0] = '\0';
  if (token_dir[0]) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", token_dir, VERB_STATUS_FILE);
    FILE *f = fopen(path, "r"); /* a tiny file, read once per heartbeat */
    if (f) {
      task[fread(task, 1, MAX_TASK, f)] = '\0';
      fclose(f);
    }
  }
  p->current_task = task;
}
