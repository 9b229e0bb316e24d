/* heartbeat.c - POST /registry/heartbeat with the full payload.
 *
 * The body is built with one buffer and hand-written escaping rather than a jansson tree: at
 * 10,000 agents heartbeating every second this is the hot path, and the shape is fixed.
 * runtime_metadata is sent on every heartbeat because the platform clears its idle-timeout
 * override and capability map on a heartbeat without it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "platform/platform_int.h"

static const char *const cap_names[] = {"heartbeat", "scheduler", "session", "status_mgmt",
                                        "retry", "activity_decoration", "channel_dispatch"};

/* Appends s as a JSON string literal. UTF-8 passes through; control characters are escaped. */
static int append_json_str(mol_buf *b, const char *s) {
  static const char hex[] = "0123456789abcdef";
  if (mol_buf_reserve(b, strlen(s) + 2)) return MOL_ENOMEM;
  int rc = mol_buf_append(b, "\"", 1);
  const char *run = s;
  for (const char *p = s; !rc && *p; p++) {
    unsigned char ch = (unsigned char)*p;
    if (ch >= 0x20 && ch != '"' && ch != '\\') continue;
    rc = mol_buf_append(b, run, (size_t)(p - run));
    char esc[6] = {'\\', (char)ch, 0, 0, 0, 0};
    size_t n = 2;
    if (ch == '\n') esc[1] = 'n';
    else if (ch == '\r') esc[1] = 'r';
    else if (ch == '\t') esc[1] = 't';
    else if (ch < 0x20) {
      memcpy(esc + 1, "u00", 3);
      esc[4] = hex[ch >> 4];
      esc[5] = hex[ch & 15];
      n = 6;
    }
    if (!rc) rc = mol_buf_append(b, esc, n);
    run = p + 1;
  }
  if (!rc) rc = mol_buf_append_str(b, run);
  return rc ? rc : mol_buf_append(b, "\"", 1);
}

static int append_metadata(mol_buf *b, const mol_platform_heartbeat_payload *p) {
  int rc = mol_buf_append_str(b, ",\"runtime_metadata\":{\"capabilities\":{");
  for (unsigned i = 0; !rc && i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
    rc = mol_buf_printf(b, "%s\"%s\":%s", i ? "," : "", cap_names[i],
                        p->capabilities & (1u << i) ? "true" : "false");
  if (!rc) rc = mol_buf_append(b, "}", 1);
  /* 0 (or less) means "no override": omitting the key clears it on the platform */
  if (!rc && p->idle_timeout_seconds > 0)
    rc = mol_buf_printf(b, ",\"idle_timeout_seconds\":%d", p->idle_timeout_seconds);
  return rc ? rc : mol_buf_append(b, "}", 1);
}

int mol_platform__heartbeat_json(const char *ws_id, const mol_platform_heartbeat_payload *p,
                                 long long uptime_s, char **out) {
  static const mol_platform_heartbeat_payload none;
  if (!p) p = &none;
  double er = isfinite(p->error_rate) ? p->error_rate : 0;
  er = er < 0 ? 0 : er > 1 ? 1 : er;
  mol_buf b = MOL_BUF_INIT;
  int rc = mol_buf_reserve(&b, 512);
  if (!rc) rc = mol_buf_append_str(&b, "{\"workspace_id\":");
  if (!rc) rc = append_json_str(&b, ws_id);
  if (!rc) rc = mol_buf_append_str(&b, ",\"current_task\":");
  if (!rc) rc = append_json_str(&b, p->current_task ? p->current_task : "");
  if (!rc) rc = mol_buf_printf(&b, ",\"active_tasks\":%d,\"error_rate\":%.6g,\"sample_error\":",
                               p->active_tasks < 0 ? 0 : p->active_tasks, er);
  if (!rc) rc = append_json_str(&b, p->sample_error ? p->sample_error : "");
  if (!rc) rc = mol_buf_printf(&b, ",\"uptime_seconds\":%lld,\"runtime_state\":", uptime_s);
  if (!rc) rc = append_json_str(&b, p->runtime_state ? p->runtime_state : "");
  if (!rc && p->monthly_spend > 0)
    rc = mol_buf_printf(&b, ",\"monthly_spend\":%lld", p->monthly_spend);
  if (!rc) rc = append_metadata(&b, p);
  if (!rc) rc = mol_buf_append(&b, "}", 1);
  if (rc) {
    mol_buf_free(&b);
    return rc;
  }
  int len = (int)b.len;
  *out = mol_buf_steal(&b);
  return *out ? len : MOL_ENOMEM;
}

static void heartbeat_done(mol_platform_req *r, int err, const mol_http_response *resp) {
  mol_platform__finish(r, mol_platform__response_err(r, err, resp));
}

/* The payload as it was when the heartbeat was called, in one block (r->op): its strings
 * follow the struct. The body is written from it when a connection is free; a heartbeat
 * waiting at the gate holds this (~80 bytes for an idle agent), not its ~500-byte body. */
typedef struct {
  mol_platform_heartbeat_payload p;
  long long uptime_s;
} heartbeat_late;

static const char *copy_str(char **at, const char *s) {
  if (!s || !*s) return NULL;
  size_t n = strlen(s) + 1;
  char *d = memcpy(*at, s, n);
  *at += n;
  return d;
}

static size_t str_size(const char *s) { return s && *s ? strlen(s) + 1 : 0; }

static int heartbeat_build(mol_platform_req *r) {
  const heartbeat_late *h = r->op;
  char *body;
  int len = mol_platform__heartbeat_json(r->c->ws_id, &h->p, h->uptime_s, &body);
  if (len < 0) return len;
  r->body = body;
  r->body_len = (size_t)len;
  r->url = mol_platform__url(r->c, "/registry/heartbeat");
  return r->url ? 0 : MOL_ENOMEM;
}

static int heartbeat_start(mol_platform_req *r, const void *arg) {
  static const mol_platform_heartbeat_payload none;
  const mol_platform_heartbeat_payload *p = arg ? arg : &none;
  mol_platform_client *c = r->c;
  heartbeat_late *h = malloc(sizeof(*h) + str_size(p->current_task) + str_size(p->sample_error) +
                             str_size(p->runtime_state));
  if (!h) return MOL_ENOMEM;
  char *at = (char *)(h + 1);
  h->p = *p;
  h->p.current_task = copy_str(&at, p->current_task);
  h->p.sample_error = copy_str(&at, p->sample_error);
  h->p.runtime_state = copy_str(&at, p->runtime_state);
  h->uptime_s = (long long)((uv_now(c->loop) - c->start_ms) / 1000);
  r->op = h;
  /* Never retried: a heartbeat is a POST, and the next one is only an interval away. */
  return mol_platform__exchange_late(r, "POST", heartbeat_build,
                                     MOL_PLATFORM__H_AUTH | MOL_PLATFORM__H_TENANT |
                                     MOL_PLATFORM__H_JSON | MOL_PLATFORM__REAUTH, c->timeout_ms,
                                     heartbeat_done);
}

int mol_platform_heartbeat(mol_platform_client *c, const mol_platform_heartbeat_payload *p,
                           const mol_platform_call *call, mol_platform_cb cb, void *arg,
                           mol_platform_req **out) {
  return mol_platform__call(c, call, cb, arg, heartbeat_start, p, out);
}
