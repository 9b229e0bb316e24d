/* platform_testutil.h - shared helpers of the platform-client integration tests: a capture of
 * one call's result (copied, since the result dies with the callback), a scripted handler,
 * temporary token directories and client construction. */
#ifndef PLATFORM_TESTUTIL_H
#define PLATFORM_TESTUTIL_H

/* Each test uses a different subset of these helpers. */
#pragma GCC diagnostic ignored "-Wunused-function"

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "molecule.h"
#include "molecule/uv.h"
#include "platform_fake.h"

#define WS_ID "0f9e8d7c-1111-4222-8333-444455556666"
#define PEER_ID "a1b2c3d4-aaaa-4bbb-8ccc-dddddddddddd"

typedef struct {
  int done, calls, err, status;
  unsigned attempts;
  uint64_t retry_after_ms, finished_ms;
  char body[16384], text[4096], url[512], state[64], error[512], rpc_message[256];
  char delegation_id[64];
  int paused, deleted, misrouted, token_issued, cursor_lost, queued, via_proxy, rpc_code;
  int idempotent_hit;
  size_t nmessages, npeers;
  mol_platform_message msgs[16]; /* pointers into the copies below */
  char msg_id[16][64], msg_sid[16][64], msg_text[16][256], msg_pname[16][64];
  mol_platform_peer peers[8];
  char peer_id[8][64], peer_url[8][256], peer_role[8][64], peer_status[8][64];
  char peer_card[8][256];
  int peer_tier[8];
  char id[64], item[4096]; /* memory, delegation and approval calls */
  long long version;
} capture;

static uv_loop_t *g_loop;

static void cp(char *dst, size_t cap, const char *src) { snprintf(dst, cap, "%s", src ? src : ""); }

static void capture_messages(capture *c, const mol_platform_result *r) {
  c->nmessages = r->nmessages;
  for (size_t i = 0; i < r->nmessages && i < 16; i++) {
    cp(c->msg_id[i], 64, r->messages[i].activity_id);
    cp(c->msg_sid[i], 64, r->messages[i].source_id);
    cp(c->msg_text[i], 256, r->messages[i].text);
    cp(c->msg_pname[i], 64, r->messages[i].peer_name);
    c->msgs[i] = (mol_platform_message){.activity_id = c->msg_id[i],
                                        .source = r->messages[i].source,
                                        .source_id = c->msg_sid[i], .text = c->msg_text[i]};
  }
}

static void capture_peers(capture *c, const mol_platform_result *r) {
  c->npeers = r->npeers;
  for (size_t i = 0; i < r->npeers && i < 8; i++) {
    cp(c->peer_id[i], 64, r->peers[i].id);
    cp(c->peer_url[i], 256, r->peers[i].url);
    cp(c->peer_role[i], 64, r->peers[i].role);
    cp(c->peer_status[i], 64, r->peers[i].status);
    cp(c->peer_card[i], 256, r->peers[i].agent_card_json);
    c->peer_tier[i] = r->peers[i].tier;
  }
}

static void on_capture(int err, const mol_platform_result *r, void *arg) {
  capture *c = arg;
  c->calls++;
  c->done = 1;
  c->err = err;
  c->status = r->http_status;
  c->attempts = r->attempts;
  c->retry_after_ms = r->retry_after_ms;
  c->finished_ms = uv_now(g_loop);
  if (r->body) cp(c->body, sizeof(c->body), r->body);
  cp(c->text, sizeof(c->text), r->text);
  cp(c->url, sizeof(c->url), r->url);
  cp(c->state, sizeof(c->state), r->status);
  cp(c->error, sizeof(c->error), r->error);
  cp(c->rpc_message, sizeof(c->rpc_message), r->rpc_message);
  cp(c->delegation_id, sizeof(c->delegation_id), r->delegation_id);
  c->paused = r->paused;
  c->deleted = r->deleted;
  c->misrouted = r->misrouted;
  c->token_issued = r->token_issued;
  c->cursor_lost = r->cursor_lost;
  c->queued = r->queued;
  c->via_proxy = r->via_proxy;
  c->rpc_code = r->rpc_code;
  c->idempotent_hit = r->idempotent_hit;
  cp(c->id, sizeof(c->id), r->id);
  cp(c->item, sizeof(c->item), r->item);
  c->version = r->version;
  capture_messages(c, r);
  capture_peers(c, r);
}

/* ---- scripted handler: responses consumed in order, then a default ---- */

typedef struct {
  fake_resp q[64];
  int n, next;
  fake_resp dflt;
} script;

static void script_handler(fake *f, const fake_req *r, fake_resp *out, void *arg) {
  (void)f;
  (void)r;
  script *s = arg;
  *out = s->next < s->n ? s->q[s->next++] : s->dflt;
}

static void script_push(script *s, int status, const char *headers, const char *body) {
  s->q[s->n++] = (fake_resp){.status = status, .headers = headers, .body = body};
}

/* ---- temp dirs ---- */

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(p);
}

static char *make_tmpdir(void) {
  char *d = strdup("/tmp/molplat.XXXXXX");
  assert_non_null(mkdtemp(d));
  return d;
}

static void rm_tree(char *d) {
  nftw(d, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  free(d);
}

static char *path_in(const char *dir, const char *name) {
  static char buf[8][1024];
  static int i;
  i = (i + 1) % 8;
  snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
  return buf[i];
}

static void write_file(const char *path, const char *data) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(data, f);
  fclose(f);
}

static char *read_file(const char *path) {
  static char buf[4096];
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

/* ---- clients ---- */

static char g_url[128];

static mol_platform_opts base_opts(int port, const char *token_dir) {
  snprintf(g_url, sizeof(g_url), "http://127.0.0.1:%d/", port);
  mol_platform_opts o = {.platform_url = g_url, .workspace_id = WS_ID, .token_dir = token_dir};
  o.retry.base_ms = 20; /* keep the back-off schedule, at 1/50 scale */
  o.retry.jitter = -1;
  return o;
}

static int g_closed;
static void on_closed(void *arg) { (void)arg; g_closed++; }

static void close_client(mol_platform_client *c) {
  int before = g_closed;
  mol_platform_client_close(c, on_closed, NULL);
  for (int i = 0; i < 200 && g_closed == before; i++) uv_run(g_loop, UV_RUN_ONCE);
  assert_int_equal(g_closed, before + 1);
}

/* Waits for the capture, asserting the callback fired exactly once. */
static void wait_done(capture *c, unsigned ms) {
  assert_true(run_until(g_loop, &c->done, ms));
  run_for(g_loop, 5);
  assert_int_equal(c->calls, 1);
}

static const char *json_field(const char *body, const char *key) {
  static char out[512];
  char pat[128];
  snprintf(pat, sizeof(pat), "\"%s\":", key);
  const char *p = body ? strstr(body, pat) : NULL;
  if (!p) return NULL;
  p += strlen(pat);
  size_t n = strcspn(p, ",}");
  if (*p == '"') {
    p++;
    n = strcspn(p, "\"");
  }
  snprintf(out, sizeof(out), "%.*s", (int)n, p);
  return out;
}

/* ---- shared by the tests that script a fake platform -------------------------------------- */

/* Tears down a fixture's client, fake platform, loop and temp dir (the caller frees its own
 * struct): the loop must close with no handle left. */
__attribute__((unused)) static void pt_teardown(uv_loop_t *loop, fake *f, mol_platform_client *c,
                                                char *dir) {
  if (c) close_client(c);
  fake_stop(f);
  loop_drain(loop);
  assert_int_equal(uv_loop_close(loop), 0);
  fake_free_log(f);
  rm_tree(dir);
}

/* How many logged requests route_of() sends to route, and the last of them. */
__attribute__((unused)) static int pt_count(const fake *f, int (*route_of)(const char *), int route) {
  int n = 0;
  for (int i = 0; i < f->nlog; i++) n += route_of(f->log[i].path) == route;
  return n;
}

__attribute__((unused)) static const fake_req *pt_last(const fake *f, int (*route_of)(const char *),
                                                       int route) {
  for (int i = f->nlog - 1; i >= 0; i--)
    if (route_of(f->log[i].path) == route) return &f->log[i];
  return NULL;
}

#endif
