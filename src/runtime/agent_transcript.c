/* agent_transcript.c - an agent's transcript: the "user: ..." and "agent: ..." lines of its
 * turns in a bounded ring (runtime/adapter.h), restored from a snapshot at start and served at
 * GET /agents/<name>/transcript?since=&limit= to the platform holding this
 * workspace's token. Fails closed: no token yet means 401. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "runtime/agent_int.h"

void mol_agent__transcript_add(mol_agent *a, const char *who, const char *text) {
  size_t wl = strlen(who), tl = strlen(text);
  char *line = malloc(wl + tl + 3);
  if (!line) return;
  memcpy(line, who, wl); /* "who: text", copied: two lines a turn */
  memcpy(line + wl, ": ", 2);
  memcpy(line + wl + 2, text, tl + 1);
  mol_transcript_append(a->transcript, line);
  free(line);
}

void mol_agent__transcript_restore(mol_agent *a, const json_t *state) {
  json_t *lines = json_object_get(state, "transcript_lines");
  size_t i;
  json_t *v;
  json_array_foreach(lines, i, v) {
    if (json_is_string(v)) mol_transcript_append(a->transcript, json_string_value(v));
  }
}

static int query_int(const char *q, const char *key, long *out) {
  size_t kl = strlen(key);
  for (const char *p = q; p && *p; p = strchr(p, '&'), p = p ? p + 1 : NULL) {
    if (strncmp(p, key, kl) != 0 || p[kl] != '=') continue;
    char *end;
    long v = strtol(p + kl + 1, &end, 10);
    if (end == p + kl + 1 || (*end && *end != '&') || v < 0) return -1;
    *out = v;
  }
  return 0;
}

void mol_agent__transcript_serve(mol_http_req *r, void *arg) {
  mol_agent *a = arg;
  static const char unauth[] = "{\"error\":\"unauthorized\"}";
  static const char bad[] = "{\"error\":\"since and limit must be integers\"}";
  if (!mol_platform_check_bearer(a->pc, mol_http_req_header(r, "Authorization"))) {
    mol_http_respond(r, 401, "application/json", unauth, sizeof(unauth) - 1);
    return;
  }
  long since = 0, limit = 100;
  const char *q = mol_http_req_query(r);
  if (query_int(q, "since", &since) || query_int(q, "limit", &limit)) {
    mol_http_respond(r, 400, "application/json", bad, sizeof(bad) - 1);
    return;
  }
  json_t *out = mol_transcript_lines(a->transcript, a->name, (uint64_t)since, (size_t)limit);
  char *body = out ? mol_json_dump(out) : NULL;
  json_decref(out);
  if (body) mol_http_respond(r, 200, "application/json", body, strlen(body));
  else mol_http_respond(r, 500, NULL, NULL, 0);
  free(body);
}
