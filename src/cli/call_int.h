/* call_int.h - what `molecule call` and `molecule task` share: the parsed arguments of one A2A
 * call (cmd_call.c parses them) and running it (call_run.c). */
#ifndef MOL_CLI_CALL_INT_H
#define MOL_CLI_CALL_INT_H

#include "a2a_uv/client.h"
#include "molecule.h"

enum { CALL_MAX_HEADERS = 32 };

typedef enum {
  ACT_SEND = 0, ACT_GET, ACT_CANCEL, ACT_SUBSCRIBE, ACT_LIST, ACT_CARD, ACT_EXT_CARD,
  ACT_PUSH_SET, ACT_PUSH_GET, ACT_PUSH_LIST, ACT_PUSH_DELETE
} call_action;

typedef struct {
  const char *cmd;              /* "call" or "task", for messages */
  const char *url, *text;
  char *text_owned;             /* TEXT read from stdin ("-"), freed by the caller */
  call_action action;
  const char *task_id;          /* the task the action is about, or the one --task-id continues */
  const char *context;          /* --context-id: the message's contextId, ListTasks' filter */
  int history, has_history, return_immediately;
  const char *push_url, *push_token, *push_id;
  const char *status, *page_token;
  int page_size;
  int stream, json;
  mol_a2a_version version;
  unsigned timeout_ms;
  const char *cacert;           /* --cacert: trust only this PEM bundle */
  int insecure;                 /* --insecure: no certificate or host name checks */
  mol_http_header headers[CALL_MAX_HEADERS];
  char *header_copies[CALL_MAX_HEADERS];
  size_t nheaders;
} call_args;

/* Runs the call a describes and prints its outcome; returns the exit status (0 or 1). A URL
 * that names an agent card (.../.well-known/agent-card.json or agent.json) is resolved first:
 * the call goes to the JSON-RPC endpoint the card names. */
int mol_cli__call_run(const call_args *a);

#endif
