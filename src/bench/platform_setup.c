/* platform_setup.c - what the simulated agents need before the load starts, and the cleanup
 * after: their workspaces (read from a file or created through the platform's admin API), the
 * echo agent their A2A calls reach, a platform client per agent, registered. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "a2a_uv/echo.h"
#include "bench/platform_int.h"

static void run_until(mol_bench_plat *p, const unsigned *counter, unsigned want) {
  while (*counter < want) uv_run(&p->loop, UV_RUN_ONCE);
}

void mol_bench__plat_reply(int err, const mol_platform_result *res, mol_bench_reply *out) {
  memset(out, 0, sizeof(*out));
  if (!err) return;
  if (err == MOL_EHTTP && res && res->http_status)
    mol_bench_reply_fail(out, MOL_BENCH_E_HTTP, res->http_status, "%s", res->error ? res->error : "");
  else if (err == MOL_ERPC && res)
    mol_bench_reply_fail(out, MOL_BENCH_E_RPC, res->rpc_code, "%s", res->rpc_message ? res->rpc_message : "");
  else if (err == MOL_EJSON)
    mol_bench_reply_fail(out, MOL_BENCH_E_INVALID, 0, "the platform's answer is not the JSON expected");
  else
    mol_bench_check_transport(err, out);
}

/* ---- workspaces ------------------------------------------------------------------------------ */

static int read_tokens(mol_bench_plat *p, char *err, size_t errlen) {
  FILE *f = fopen(p->o.tokens_file, "r");
  if (!f) {
    snprintf(err, errlen, "cannot read %s", p->o.tokens_file);
    return MOL_ENOENT;
  }
  unsigned i = 0;
  while (i < p->n && fscanf(f, "%63s %159s", p->agents[i].id, p->agents[i].token) == 2) i++;
  fclose(f);
  if (i == p->n) return 0;
  snprintf(err, errlen, "%s holds %u workspaces, %u wanted", p->o.tokens_file, i, p->n);
  return MOL_EINVAL;
}

typedef struct {
  mol_bench_plat *p;
  unsigned next, done, failed;
  char url[600];
  char first_error[160];
} creating;

static void create_one(creating *c);

static void on_created(mol_http_request *req, int err, const mol_http_response *resp, void *arg) {
  creating *c = arg;
  unsigned i;
  (void)req;
  json_t *b = !err && resp && resp->status / 100 == 2 ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
  const char *id = json_string_value(json_object_get(b, "id"));
  const char *tok = json_string_value(json_object_get(json_object_get(b, "connection"), "auth_token"));
  i = c->done++;
  if (id && tok && strlen(id) < 64 && strlen(tok) < 160) {
    snprintf(c->p->agents[i].id, sizeof(c->p->agents[i].id), "%s", id);
    snprintf(c->p->agents[i].token, sizeof(c->p->agents[i].token), "%s", tok);
  } else if (!c->failed++) {
    snprintf(c->first_error, sizeof(c->first_error), "%s", err ? mol_strerror(err)
             : resp ? "HTTP status or body not a created workspace" : "no answer");
    if (resp && !err) snprintf(c->first_error, sizeof(c->first_error), "HTTP %d", resp->status);
  }
  json_decref(b);
  create_one(c);
}

/* Sends the next create; one refused at once (a bad URL) is counted and the next tried, so the
 * count of answers always reaches the count wanted. */
static void create_one(creating *c) {
  while (c->next < c->p->n) {
    char body[96], auth[200];
    int len = snprintf(body, sizeof body, "{\"name\":\"bench-agent-%u\",\"external\":true}", c->next++);
    mol_http_header h[2] = {{"Content-Type", "application/json"}, {"Authorization", auth}};
    snprintf(auth, sizeof(auth), "Bearer %s", c->p->o.admin_token ? c->p->o.admin_token : "");
    mol_http_request_opts ro = {.method = "POST", .url = c->url, .headers = h,
                                .nheaders = c->p->o.admin_token ? 2 : 1, .body = body,
                                .body_len = (size_t)len, .total_timeout_ms = c->p->o.timeout_ms};
    int rc = mol_http_request_send(c->p->http, &ro, on_created, c, NULL);
    if (!rc) return;
    if (!c->failed++) snprintf(c->first_error, sizeof(c->first_error), "%s", mol_strerror(rc));
    c->done++;
  }
}

int mol_bench__plat_workspaces(mol_bench_plat *p, char *err, size_t errlen) {
  if (p->o.tokens_file) return read_tokens(p, err, errlen);
  creating c = {.p = p};
  snprintf(c.url, sizeof(c.url), "%s/workspaces", p->o.platform_url);
  for (int i = 0; i < 16; i++) create_one(&c); /* 16 at once: the pool's default connections */
  run_until(p, &c.done, p->n);
  if (!c.failed) return 0;
  snprintf(err, errlen, "creating workspaces at %s: %u of %u failed (%s); pass --tokens FILE or "
           "--admin-token", c.url, c.failed, p->n, c.first_error);
  return MOL_EHTTP;
}

/* ---- the echo agent the A2A calls reach ------------------------------------------------------ */

int mol_bench__plat_echo_agent(mol_bench_plat *p, char *err, size_t errlen) {
  if (p->o.agent_url || p->o.a2a_rate <= 0) return 0;
  mol_echo_opts eo = {0};
  int rc = mol_http_server_new(&p->loop, NULL, &p->echo_http);
  if (!rc) rc = mol_http_server_listen(p->echo_http, "127.0.0.1", 0);
  if (!rc) rc = mol_echo_new(&eo, &p->echo);
  p->echo_made = rc == 0;
  snprintf(p->echo_url, sizeof(p->echo_url), "http://127.0.0.1:%d/",
           p->echo_http ? mol_http_server_port(p->echo_http) : 0);
  mol_a2a_skill skill = {.id = "echo", .name = "Echo", .description = "replies with the text it receives"};
  mol_a2a_card card = {.name = "bench-echo", .description = "molecule bench echo agent",
                       .url = p->echo_url, .skills = &skill, .n_skills = 1};
  mol_a2a_server_opts ao = {.card = &card, .executor = &p->echo};
  if (!rc) rc = mol_a2a_server_new(&p->loop, p->echo_http, &ao, &p->echo_a2a);
  if (rc) snprintf(err, errlen, "starting the echo agent: %s", mol_strerror(rc));
  return rc;
}

/* ---- clients --------------------------------------------------------------------------------- */

static void on_registered(int err, const mol_platform_result *res, void *arg) {
  mol_bench_agent *a = arg;
  mol_bench_plat *p = a->p;
  mol_bench_reply reply;
  mol_bench__plat_reply(err, res, &reply);
  if (err) mol_bench_stats_error(&p->res->kind[MOL_BENCH_P_REGISTER], &reply);
  else mol_bench_stats_ok(&p->res->kind[MOL_BENCH_P_REGISTER], uv_hrtime() - a->hb_sent);
  p->registered += err == 0;
  p->reg_done++;
}

int mol_bench__plat_clients(mol_bench_plat *p, char *err, size_t errlen) {
  const char *url = p->o.agent_url ? p->o.agent_url : p->echo_url[0] ? p->echo_url : NULL;
  mol_platform_register_opts ro = {.reported_url = url};
  for (unsigned i = 0; i < p->n; i++) {
    mol_bench_agent *a = &p->agents[i];
    snprintf(a->token_dir, sizeof(a->token_dir), "%s/%u", p->dir, i);
    /* every client on the loop shares one pool; the first one sizes it */
    mol_platform_opts po = {.platform_url = p->o.platform_url, .workspace_id = a->id,
                            .token = a->token, .token_dir = a->token_dir,
                            .timeout_ms = p->o.timeout_ms, .peer_timeout_ms = p->o.timeout_ms,
                            .pool_max_conns = p->o.connections,
                            .pool_max_queued = 4 * p->n + 100000};
    po.retry.max_retries = -1; /* a 429 is a measurement here, not something to hide */
    int rc = mol_platform_client_new(&p->loop, &po, &a->c);
    a->hb_sent = uv_hrtime();
    if (!rc) rc = mol_platform_register(a->c, &ro, NULL, on_registered, a, NULL);
    if (rc) {
      snprintf(err, errlen, "agent %u: %s", i, mol_strerror(rc));
      return rc;
    }
    uv_timer_init(&p->loop, &a->hb_timer);
    uv_timer_init(&p->loop, &a->poll_timer);
    a->hb_timer.data = a->poll_timer.data = a;
  }
  run_until(p, &p->reg_done, p->n);
  if (p->registered == p->n) return 0;
  snprintf(err, errlen, "%u of %u agents failed to register", p->n - p->registered, p->n);
  return MOL_EHTTP;
}

/* ---- teardown -------------------------------------------------------------------------------- */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void on_closed(void *arg) { (*(unsigned *)arg)++; }

void mol_bench__plat_teardown(mol_bench_plat *p) {
  unsigned closed = 0, want = 0;
  for (unsigned i = 0; p->agents && i < p->n; i++) {
    mol_bench_agent *a = &p->agents[i];
    if (!a->c) continue;
    uv_close((uv_handle_t *)&a->hb_timer, NULL);
    uv_close((uv_handle_t *)&a->poll_timer, NULL);
    mol_platform_client_close(a->c, on_closed, &closed);
    want++;
  }
  if (p->echo_a2a) { /* the A2A server before the listener it routes on */
    mol_a2a_server_close(p->echo_a2a, on_closed, &closed);
    want++;
  }
  run_until(p, &closed, want);
  if (p->http) mol_http_client_close(p->http, NULL, NULL);
  if (p->echo_http) mol_http_server_close(p->echo_http, 100, NULL, NULL);
  uv_run(&p->loop, UV_RUN_DEFAULT);
  if (p->echo_made) mol_echo_free(&p->echo);
  if (p->dir[0]) nftw(p->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
  free(p->agents);
  uv_loop_close(&p->loop);
}
