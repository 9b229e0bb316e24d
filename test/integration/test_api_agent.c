/* The public agent (molecule/agent.h) over loopback, as an application uses it: public headers
 * and the shared library, against the scripted fake platform (platform_fake.h, a raw libuv
 * server that logs every request as sent).
 *  - registration carries the card and the agent's own URL; heartbeats carry the capability
 *    bits and the idle-timeout override, and what on_heartbeat changes; the transcript has the
 *    turns' lines and the caller's own;
 *  - a stop writes the snapshot (0600, the caller's state and the transcript), closes the
 *    executor before on_end, and the listener by then; a new agent restores it;
 *  - a deleted workspace cancels the running turn (cancel first, then close, then on_end);
 *  - a refused registration ends the agent FAILED after register_attempts;
 *  - bad parameters are refused at once, without on_end and without the executor's close.
 * Every callback once, never inside the call that armed it. */
#include <sys/stat.h>

#include "platform_testutil.h"

enum { R_REG, R_HB, R_STATE, R_OTHER, R_N };

static int route_of(const char *path) {
  if (strstr(path, "/registry/register")) return R_REG;
  if (strstr(path, "/registry/heartbeat")) return R_HB;
  if (strstr(path, "/state")) return R_STATE;
  return R_OTHER;
}

typedef struct {
  uv_loop_t loop;
  fake f;
  script s[R_N];
  char *dir;
  char base[64];
  mol_agent *agent;
  mol_client *client;
  int in_call;                 /* set around the test's own calls into molecule */
  int ended, ended_inside, why, err, closes_at_end;
  int registered, registered_inside, hooks;
  int executes, cancels, closes, live;
  mol_turn *hanging;
} fx;

static fx *F;

static void routed(fake *f, const fake_req *r, fake_resp *out, void *arg) {
  script_handler(f, r, out, &((script *)arg)[route_of(r->path)]);
}

/* ---- waiting without a deadline of our own (the test's timeout is meson's) --------------- */

static void wake(uv_timer_t *t) { (void)t; }

static void wait_for(int (*cond)(void)) {
  uv_timer_t tick; /* the fake platform's log changes without a callback of ours */
  uv_timer_init(&F->loop, &tick);
  uv_timer_start(&tick, wake, 5, 5);
  while (!cond()) uv_run(&F->loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&tick, NULL);
  uv_run(&F->loop, UV_RUN_NOWAIT);
}

static int ended(void) { return F->ended; }
static int registered(void) { return F->registered; }
static int beats(void) { return pt_count(&F->f, route_of, R_HB); }
static int two_beats(void) { return beats() >= 2; }
static int hanging(void) { return F->hanging != NULL; }

/* ---- the executor: "hang" runs until canceled, anything else is answered at once ---------- */

static int execute(mol_turn *t, void *arg) {
  assert_ptr_equal(arg, F);
  F->executes++;
  if (strcmp(mol_turn_text(t), "hang") == 0) {
    F->hanging = t;
    F->live++;
    return 0;
  }
  char out[256];
  snprintf(out, sizeof(out), "done: %s", mol_turn_text(t));
  return mol_turn_reply_text(t, out);
}

static void cancel(mol_turn *t, void *arg) {
  (void)arg;
  assert_false(F->in_call);
  assert_ptr_equal(t, F->hanging);
  F->cancels++;
  F->hanging = NULL;
  F->live--;
  assert_int_equal(mol_turn_canceled(t), 0);
}

static void exec_close(void *arg) {
  assert_ptr_equal(arg, F);
  assert_int_equal(F->live, 0);
  F->closes++;
}

static mol_executor EXEC = {.execute = execute, .cancel = cancel, .close = exec_close,
                            .name = "pub"};

/* ---- agent callbacks ------------------------------------------------------------------- */

static void on_end(mol_agent *a, mol_agent_end why, int err, void *arg) {
  assert_ptr_equal(arg, F);
  assert_ptr_equal(a, F->agent);
  assert_true(mol_agent_port(a) > 0); /* still readable here, the listener closed or not */
  assert_non_null(mol_agent_url(a));
  F->ended++;
  F->ended_inside += F->in_call;
  F->why = why;
  F->err = err;
  F->closes_at_end = F->closes;
}

static void on_registered(mol_agent *a, void *arg) {
  assert_ptr_equal(arg, F);
  assert_ptr_equal(a, F->agent);
  F->registered++;
  F->registered_inside += F->in_call;
}

static void on_heartbeat(mol_agent *a, mol_platform_heartbeat_payload *p, void *arg) {
  (void)a, (void)arg;
  F->hooks++;
  p->monthly_spend = 4242;
}

static mol_agent_params params(int on_platform) {
  static mol_platform_opts po;
  po = (mol_platform_opts){.token = "tok-public-agent-1"};
  EXEC.arg = F;
  mol_agent_params p = {
    .name = "pub-agent", .description = "the public agent", .executor = &EXEC,
    .capabilities = MOL_PLATFORM_CAP_HEARTBEAT | MOL_PLATFORM_CAP_SESSION,
    .idle_timeout_s = 120, .heartbeat_ms = 60000, .state_poll_ms = 60000,
    .on_registered = on_registered, .on_heartbeat = on_heartbeat};
  if (on_platform) {
    p.platform_url = F->base;
    p.workspace_id = WS_ID;
    p.token_dir = F->dir;
    p.platform = &po;
  }
  return p;
}

static void start(const mol_agent_params *p) {
  F->in_call = 1;
  int rc = mol_agent_new(&F->loop, p, on_end, F, &F->agent);
  F->in_call = 0;
  assert_int_equal(rc, 0);
  mol_client_opts co = {.url = mol_agent_url(F->agent)};
  assert_int_equal(mol_client_new(&F->loop, &co, &F->client), 0);
}

static void stop(void) {
  F->in_call = 1;
  mol_agent_stop(F->agent);
  F->in_call = 0;
  wait_for(ended);
  assert_int_equal(F->ended, 1);
  assert_int_equal(F->ended_inside, 0);
}

typedef struct {
  int done, err, state;
  char text[256];
} answer;

static void on_answer(mol_client_req *req, int err, const mol_client_result *res, void *arg) {
  (void)req;
  answer *a = arg;
  a->done++;
  a->err = err;
  a->state = res->state;
  snprintf(a->text, sizeof(a->text), "%s", res->text);
}

static answer ask(const char *text, int return_immediately) {
  static answer a;
  memset(&a, 0, sizeof(a));
  mol_client_call_opts o = {.return_immediately = return_immediately};
  assert_int_equal(mol_client_send(F->client, text, &o, on_answer, &a, NULL), 0);
  while (!a.done) uv_run(&F->loop, UV_RUN_ONCE);
  return a;
}

static int client_closed;
static void on_client_closed(void *arg) { (void)arg; client_closed = 1; }

static void close_a2a_client(void) {
  client_closed = 0;
  mol_client_close(F->client, on_client_closed, NULL);
  while (!client_closed) uv_run(&F->loop, UV_RUN_ONCE);
  F->client = NULL;
}

/* ---- fixture --------------------------------------------------------------------------- */

static int setup(void **st) {
  (void)st;
  F = calloc(1, sizeof(*F));
  uv_loop_init(&F->loop);
  g_loop = &F->loop;
  fake_init(&F->f, g_loop, routed, F->s);
  for (int i = 0; i < R_N; i++) F->s[i].dflt = (fake_resp){.status = 200, .body = "{}"};
  F->s[R_REG].dflt.body = "{\"status\":\"registered\"}";
  F->s[R_HB].dflt.body = "{\"status\":\"ok\"}";
  F->s[R_STATE].dflt.body = "{\"status\":\"online\",\"paused\":false,\"deleted\":false}";
  assert_int_equal(fake_listen(&F->f, 0), 0);
  snprintf(F->base, sizeof(F->base), "http://127.0.0.1:%d", F->f.port);
  F->dir = make_tmpdir();
  return 0;
}

static int teardown(void **st) {
  (void)st;
  if (F->client) close_a2a_client();
  if (F->agent && !F->ended) stop();
  pt_teardown(g_loop, &F->f, NULL, F->dir);
  free(F);
  return 0;
}

/* ---- tests ----------------------------------------------------------------------------- */

static void registers_and_heartbeats(void **st) {
  (void)st;
  mol_agent_params p = params(1);
  start(&p);
  char url[64];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/", mol_agent_port(F->agent));
  assert_string_equal(mol_agent_url(F->agent), url);
  wait_for(registered);
  assert_int_equal(F->registered_inside, 0);
  const fake_req *reg = pt_last(&F->f, route_of, R_REG);
  assert_string_equal(json_field(reg->body, "id"), WS_ID);
  assert_string_equal(json_field(reg->body, "url"), url);
  assert_non_null(strstr(reg->body, "\"name\":\"pub-agent\""));
  assert_non_null(strstr(reg->headers, "Bearer tok-public-agent-1"));
  /* A turn: its start and its end each push a beat, all with the full payload. */
  answer a = ask("hi", 0);
  assert_int_equal(a.err, 0);
  assert_string_equal(a.text, "done: hi");
  wait_for(two_beats);
  const fake_req *hb = pt_last(&F->f, route_of, R_HB);
  assert_string_equal(json_field(hb->body, "idle_timeout_seconds"), "120");
  assert_non_null(strstr(hb->body, "\"heartbeat\":true"));
  assert_non_null(strstr(hb->body, "\"session\":true"));
  assert_non_null(strstr(hb->body, "\"scheduler\":false"));
  assert_string_equal(json_field(hb->body, "monthly_spend"), "4242"); /* the hook's */
  assert_true(F->hooks >= 2);
  /* The transcript: the turn's two lines, then one of ours. */
  assert_int_equal(mol_agent_transcript_add(F->agent, "note", "a line of mine"), 0);
  assert_int_equal(mol_agent_transcript_add(F->agent, NULL, "x"), MOL_EINVAL);
  char *t = mol_agent_transcript_json(F->agent, 0, 0);
  assert_non_null(t);
  assert_non_null(strstr(t, "\"lines\":[\"user: hi\",\"agent: done: hi\",\"note: a line of mine\"]"));
  mol_free(t);
  t = mol_agent_transcript_json(F->agent, 2, 1);
  assert_non_null(strstr(t, "\"lines\":[\"note: a line of mine\"]"));
  mol_free(t);
  assert_null(mol_agent_restored_state(F->agent));
  close_a2a_client();
  stop();
  assert_int_equal(F->why, MOL_AGENT_STOPPED);
  assert_int_equal(F->err, 0);
  assert_int_equal(F->closes_at_end, 1);
  assert_int_equal(F->registered, 1);
}

static void snapshot_on_stop_and_restore(void **st) {
  (void)st;
  char snap[512];
  snprintf(snap, sizeof(snap), "%s/snap.json", F->dir);
  mol_agent_params p = params(0);
  p.snapshot_path = snap;
  start(&p);
  assert_int_equal(mol_agent_set_state(F->agent, "[1]"), MOL_EINVAL);
  assert_int_equal(mol_agent_set_state(F->agent, "{\"session_id\":\"s-1\",\"n\":3}"), 0);
  answer a = ask("remember me", 0);
  assert_string_equal(a.text, "done: remember me");
  stop();
  assert_int_equal(F->closes_at_end, 1);
  struct stat sb;
  assert_int_equal(stat(snap, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);
  char *body = read_file(snap);
  assert_non_null(strstr(body, "\"session_id\": \"s-1\"")); /* the file is indented */
  assert_non_null(strstr(body, "user: remember me"));
  /* The listener is closed by the time on_end fires. */
  a = ask("anyone?", 0);
  assert_int_equal(a.err, MOL_ECONNREFUSED);
  close_a2a_client();

  F->ended = 0;
  F->agent = NULL;
  start(&p);
  const char *restored = mol_agent_restored_state(F->agent);
  assert_non_null(restored);
  assert_non_null(strstr(restored, "\"session_id\":\"s-1\""));
  assert_non_null(strstr(restored, "\"n\":3"));
  assert_non_null(strstr(restored, "user: remember me"));
  assert_int_not_equal(stat(snap, &sb), 0); /* read once, then deleted */
  char *t = mol_agent_transcript_json(F->agent, 0, 0);
  assert_non_null(strstr(t, "agent: done: remember me"));
  mol_free(t);
}

static void deleted_workspace_cancels_turns(void **st) {
  (void)st;
  mol_agent_params p = params(1);
  p.state_poll_ms = 20;
  start(&p);
  wait_for(registered);
  answer a = ask("hang", 1);
  assert_int_equal(a.err, 0);
  wait_for(hanging);
  F->s[R_STATE].dflt = (fake_resp){.status = 404, .body = "{\"deleted\":true}"};
  wait_for(ended);
  assert_int_equal(F->why, MOL_AGENT_DELETED);
  assert_int_equal(F->cancels, 1);
  assert_int_equal(F->closes_at_end, 1);
  assert_int_equal(F->ended_inside, 0);
}

static void refused_registration_fails(void **st) {
  (void)st;
  F->s[R_REG].dflt = (fake_resp){.status = 401, .body = "{\"error\":\"invalid token\"}"};
  mol_agent_params p = params(1);
  p.register_attempts = 1;
  start(&p);
  wait_for(ended);
  assert_int_equal(F->why, MOL_AGENT_FAILED);
  assert_int_equal(F->err, MOL_EHTTP);
  assert_int_equal(F->registered, 0);
  assert_int_equal(F->closes_at_end, 1);
  assert_int_equal(F->ended_inside, 0);
}

static void bad_params_are_refused(void **st) {
  (void)st;
  mol_agent *a = NULL;
  mol_agent_params p = params(0);
  p.name = NULL;
  assert_int_equal(mol_agent_new(&F->loop, &p, on_end, F, &a), MOL_EINVAL);
  p = params(0);
  p.name = "bad\nname";
  assert_int_equal(mol_agent_new(&F->loop, &p, on_end, F, &a), MOL_EINVAL);
  p = params(0);
  p.executor = NULL;
  assert_int_equal(mol_agent_new(&F->loop, &p, on_end, F, &a), MOL_EINVAL);
  p = params(0);
  assert_int_equal(mol_agent_new(&F->loop, &p, NULL, F, &a), MOL_EINVAL);
  p = params(0);
  p.listen_host = "0.0.0.0";
  assert_int_equal(mol_agent_new(&F->loop, &p, on_end, F, &a), MOL_EINVAL);
  p.public_url = "http://example.test/no-slash";
  assert_int_equal(mol_agent_new(&F->loop, &p, on_end, F, &a), MOL_EINVAL);
  p = params(0);
  p.platform_url = F->base; /* without a workspace id */
  assert_int_equal(mol_agent_new(&F->loop, &p, on_end, F, &a), MOL_EINVAL);
  p = params(0);
  p.listen_port = F->f.port; /* taken by the fake platform */
  assert_int_equal(mol_agent_new(&F->loop, &p, on_end, F, &a), MOL_EADDRINUSE);
  assert_null(a);
  for (int i = 0; i < 10; i++) uv_run(&F->loop, UV_RUN_NOWAIT); /* what was built closes */
  assert_int_equal(F->ended, 0);
  assert_int_equal(F->closes, 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
    T(registers_and_heartbeats),
    T(snapshot_on_stop_and_restore),
    T(deleted_workspace_cancels_turns),
    T(refused_registration_fails),
    T(bad_params_are_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
