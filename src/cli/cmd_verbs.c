/* cmd_verbs.c - the platform verbs a handler script calls as its workspace: `molecule peers`,
 * `delegate`, `notify`, `secrets` and `status`. One platform call each (verbs_common.c runs it);
 * here: the arguments, the call, and the human form of the answer. notify and status print
 * nothing on success: inside `molecule connect` a handler's stdout is its reply. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/verbs.h"

/* ---- peers -------------------------------------------------------------------------------- */

/* The URL shown for a peer: its registered URL, else the one its agent card names, else "-". */
static const char *peer_url(const mol_platform_peer *p, json_t **card) {
  if (p->url && *p->url) return p->url;
  *card = json_loads(p->agent_card_json ? p->agent_card_json : "", 0, NULL);
  json_t *u = json_object_get(*card, "url");
  return json_is_string(u) && *json_string_value(u) ? json_string_value(u) : "-";
}

static const char *or_dash(const char *s) { return s && *s ? s : "-"; }

static int print_peers(verb *v, const mol_platform_result *res) {
  (void)v;
  enum { NCOL = 5 };
  static const char *const head[NCOL] = {"ID", "NAME", "ROLE", "STATUS", "URL"};
  json_t **cards = calloc(res->npeers + 1, sizeof(*cards));
  const char **cells = calloc((res->npeers + 1) * NCOL, sizeof(*cells));
  if (!cards || !cells) {
    free(cards);
    free(cells);
    fprintf(stderr, "molecule peers: out of memory\n");
    return VERB_FAILED;
  }
  size_t width[NCOL] = {0};
  for (size_t r = 0; r <= res->npeers; r++) {
    const mol_platform_peer *p = r ? &res->peers[r - 1] : NULL;
    const char **row = cells + r * NCOL;
    if (!p) {
      memcpy(row, head, sizeof head);
    } else {
      row[0] = or_dash(p->id);
      row[1] = or_dash(p->name);
      row[2] = or_dash(p->role);
      row[3] = or_dash(p->status);
      row[4] = peer_url(p, &cards[r]);
    }
    for (int c = 0; c < NCOL; c++)
      if (strlen(row[c]) > width[c]) width[c] = strlen(row[c]);
  }
  for (size_t r = 0; r <= res->npeers; r++) {
    const char **row = cells + r * NCOL;
    for (int c = 0; c < NCOL - 1; c++) printf("%-*s  ", (int)width[c], row[c]);
    printf("%s\n", row[NCOL - 1]);
  }
  for (size_t r = 0; r <= res->npeers; r++) json_decref(cards[r]);
  free(cards);
  free(cells);
  return VERB_OK;
}

int mol_cli__cmd_peers(int argc, char **argv) {
  verb v = {.name = "peers", .default_timeout_s = 30, .print = print_peers,
            .usage = "usage: molecule peers [--json] [options]\n"
                     "\n"
                     "Lists the workspaces this one may talk to (its parent, siblings and\n"
                     "children): a table of ID, NAME, ROLE, STATUS and URL (the registered URL,\n"
                     "else the one in the agent card), or the platform's JSON array with --json.\n"};
  int rc = mol_cli__verb_setup(&v, argc, argv, 0, 0, -1);
  return rc >= 0 ? rc
                 : mol_cli__verb_finish(&v, mol_platform_get_peers(v.client, &v.call,
                                                                   mol_cli__verb_on_done, &v, NULL));
}

/* ---- delegate ----------------------------------------------------------------------------- */

static int print_reply(verb *v, const mol_platform_result *res) {
  if (res->queued) {
    fprintf(stderr, "molecule delegate: %s takes its messages by polling: the message is queued, "
                    "and its reply will come to this workspace as a message\n", v->arg);
    return VERB_OK;
  }
  const char *t = res->text ? res->text : "";
  size_t n = strlen(t);
  printf("%s%s", t, n && t[n - 1] == '\n' ? "" : "\n");
  return VERB_OK;
}

static int print_delegation(verb *v, const mol_platform_result *res) {
  if (!res->delegation_id || !*res->delegation_id) {
    fprintf(stderr, "molecule delegate: HTTP %d without a delegation_id: %s\n", res->http_status,
            res->body ? res->body : "");
    return VERB_FAILED;
  }
  if (res->idempotent_hit)
    fprintf(stderr, "molecule delegate: the same task went to the platform within the minute; "
                    "this is that delegation (%s)\n", v->arg);
  printf("%s\n", res->delegation_id);
  return VERB_OK;
}

static int start_delegate(verb *v, const char *text) {
  if (v->async) {
    mol_platform_delegate_opts o = {.timeout_ms = v->timeout_ms};
    v->print = print_delegation;
    return mol_platform_delegate(v->client, v->arg, text, &o, &v->call, mol_cli__verb_on_done, v,
                                 NULL);
  }
  v->print = print_reply;
  return mol_platform_call_peer(v->client, v->arg, text, NULL, &v->call, mol_cli__verb_on_done, v,
                                NULL);
}

int mol_cli__cmd_delegate(int argc, char **argv) {
  verb v = {.name = "delegate", .default_timeout_s = 300, .allow_async = 1,
            .usage = "usage: molecule delegate [--async] [--json] [options] TARGET TEXT\n"
                     "\n"
                     "Sends TEXT (\"-\": read it from stdin) to the peer workspace TARGET as an\n"
                     "A2A message/send and prints the peer's reply text: straight to the peer's\n"
                     "URL when it has one, else (or when that fails) through the platform's A2A\n"
                     "proxy. A peer that polls for its messages cannot answer at once: the\n"
                     "message is queued (said on stderr, nothing on stdout) and its reply comes\n"
                     "to this workspace as an inbound message. --json prints the JSON-RPC answer.\n"
                     "--async hands the task to the platform instead (POST /workspaces/<self>/\n"
                     "delegate) and prints the delegation id. The default --timeout is 300 s.\n"};
  v.bad_args = "TARGET must be a workspace id ([A-Za-z0-9._-], not starting with '.')";
  int rc = mol_cli__verb_setup(&v, argc, argv, 2, 2, 1);
  return rc >= 0 ? rc : mol_cli__verb_finish(&v, start_delegate(&v, v.text));
}

/* ---- notify ------------------------------------------------------------------------------- */

static int print_nothing(verb *v, const mol_platform_result *res) {
  (void)v;
  (void)res;
  return VERB_OK;
}

int mol_cli__cmd_notify(int argc, char **argv) {
  verb v = {.name = "notify", .default_timeout_s = 30, .print = print_nothing,
            .usage = "usage: molecule notify [--json] [options] TEXT\n"
                     "\n"
                     "Posts TEXT (\"-\": read it from stdin) to the workspace's own chat, where\n"
                     "the canvas user sees it (POST /workspaces/<self>/notify): progress while a\n"
                     "handler works. Prints nothing on success (--json: the platform's answer).\n"};
  int rc = mol_cli__verb_setup(&v, argc, argv, 1, 1, 0);
  return rc >= 0 ? rc
                 : mol_cli__verb_finish(&v, mol_platform_notify(v.client, v.text, &v.call,
                                                                mol_cli__verb_on_done, &v, NULL));
}

/* ---- secrets ------------------------------------------------------------------------------ */

static int cmp_keys(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void print_value(json_t *val) {
  if (json_is_string(val)) {
    fwrite(json_string_value(val), 1, json_string_length(val), stdout);
  } else {
    char *s = json_dumps(val, JSON_ENCODE_ANY | JSON_COMPACT);
    fputs(s ? s : "", stdout);
    free(s);
  }
}

static int print_all_secrets(json_t *map) {
  size_t n = json_object_size(map), i = 0;
  const char **keys = calloc(n + 1, sizeof(*keys));
  if (!keys) return VERB_FAILED;
  const char *k;
  json_t *val;
  json_object_foreach(map, k, val) keys[i++] = k;
  qsort(keys, n, sizeof(*keys), cmp_keys);
  for (i = 0; i < n; i++) {
    printf("%s=", keys[i]);
    print_value(json_object_get(map, keys[i]));
    putchar('\n');
  }
  free(keys);
  return VERB_OK;
}

static int print_secrets(verb *v, const mol_platform_result *res) {
  json_t *map = json_loadb(res->body ? res->body : "", res->body_len, 0, NULL);
  int rc = VERB_OK;
  if (!json_is_object(map)) {
    fprintf(stderr, "molecule secrets: HTTP %d, not a JSON object: %s\n", res->http_status,
            res->body ? res->body : "");
    rc = VERB_FAILED;
  } else if (!v->arg) {
    rc = print_all_secrets(map);
  } else if (!json_object_get(map, v->arg)) {
    fprintf(stderr, "molecule secrets: no secret '%s' for workspace %s\n", v->arg,
            v->po.workspace_id);
    rc = VERB_FAILED;
  } else {
    print_value(json_object_get(map, v->arg));
    putchar('\n');
  }
  json_decref(map);
  return rc;
}

int mol_cli__cmd_secrets(int argc, char **argv) {
  verb v = {.name = "secrets", .default_timeout_s = 30, .print = print_secrets,
            .usage = "usage: molecule secrets [--json] [options] [NAME]\n"
                     "\n"
                     "Prints the workspace's secrets (its own and the global ones, as the\n"
                     "platform merges them): NAME=VALUE lines sorted by name, or with NAME only\n"
                     "that value (exit 1 when it is not set). --json prints the platform's JSON\n"
                     "object as received (use it for values that hold newlines).\n"};
  v.bad_args = "--json prints the whole map: drop NAME or --json";
  int rc = mol_cli__verb_setup(&v, argc, argv, 0, 1, -1);
  if (rc >= 0) return rc;
  return mol_cli__verb_finish(&v, v.arg && v.json ? MOL_EINVAL
                                                  : mol_platform_pull_secrets(v.client, &v.call,
                                                                              mol_cli__verb_on_done,
                                                                              &v, NULL));
}

/* ---- status ------------------------------------------------------------------------------- */

/* Leaves the task where `molecule connect` finds it, so that its own heartbeats carry it on
 * instead of clearing it at their next beat. No token directory: no connect runs on it (it
 * keeps its token there), nothing to tell. */
static void save_status(const verb *v, const char *text) {
  char path[4200];
  struct stat st;
  if (stat(v->po.token_dir, &st) || !S_ISDIR(st.st_mode)) return;
  snprintf(path, sizeof path, "%s/%s", v->po.token_dir, VERB_STATUS_FILE);
  int rc = mol_cli__verb_write_private(path, text, strlen(text));
  if (rc)
    fprintf(stderr, "molecule status: cannot save %s (%s): a running `molecule connect` "
                    "will not keep this status\n", path, mol_strerror(rc));
}

int mol_cli__cmd_status(int argc, char **argv) {
  verb v = {.name = "status", .default_timeout_s = 30, .print = print_nothing, .allow_empty_text = 1,
            .usage = "usage: molecule status [--json] [options] TEXT\n"
                     "\n"
                     "Sets the workspace's current task to TEXT (\"-\": read it from stdin; ''\n"
                     "clears it) with one heartbeat, and saves it in <token-dir>/.current_task\n"
                     "(when the directory exists), where a running `molecule connect` picks it\n"
                     "up so that its own heartbeats keep it. That heartbeat also reports 0 active\n"
                     "tasks, no errors and 0 s uptime until the agent's next beat. Prints nothing\n"
                     "on success (--json: the platform's answer).\n"};
  int rc = mol_cli__verb_setup(&v, argc, argv, 1, 1, 0);
  if (rc >= 0) return rc;
  save_status(&v, v.text);
  mol_platform_heartbeat_payload p = {.current_task = v.text};
  return mol_cli__verb_finish(
      &v, mol_platform_heartbeat(v.client, &p, &v.call, mol_cli__verb_on_done, &v, NULL));
}
