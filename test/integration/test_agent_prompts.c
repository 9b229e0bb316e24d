/* test_agent_prompts.c - initial_prompt's retry and back-off over real sockets. The agent sends
 * its initial prompt to its own A2A endpoint; that endpoint answers 2xx even when the executor
 * fails, so what can fail a send and be worth retrying is the listener refusing it: the test
 * fills the agent's HTTP server to its max_connections with connections of its own (each with a
 * request answered, so they are known to be accepted), and the agent's send gets the server's
 * 503 until they close:
 *  - two refused attempts, then the connections close: the prompt is retried after 1 s, then
 *    2 s (the log says so, and the gaps between attempts are at least that), and the executor
 *    receives it exactly once; the marker is written; the agent counts one prompt delivered;
 *  - refused for good: five attempts in all (1, 2, 4, 8 s apart), then a warning that it
 *    failed, the executor never receives it, and no attempt follows (watched for longer than
 *    the longest back-off). */
#include "platform_testutil.h"

#include "http/client.h"
#include "http/server.h"
#include "runtime/agent.h"

#define PROMPT "hello from initial_prompt"
#define HELD 2 /* the server's max_connections, all taken by the test */
#define MAX_ATTEMPTS 8

typedef struct {
  uv_tcp_t tcp;
  uv_connect_t conn;
  uv_write_t wr;
  char rx[1024];
  size_t rxlen;
  int answered, closed;
} held_conn;

typedef struct {
  uv_loop_t loop;
  char *dir;
  mol_http_server *http;
  mol_http_client *client;
  mol_agent *agent;
  int ended, closed;
  held_conn held[HELD];
  int nanswered;
  /* What the log said, and when (loop time). */
  int failed_attempts;
  uint64_t failed_at[MAX_ATTEMPTS];
  unsigned long long retry_ms[MAX_ATTEMPTS];
  int completed, gave_up;
  char gave_up_line[512];
  /* What the executor received. */
  int executed;
  char text[256];
} fx;

static fx *F;

/* ---- an executor that counts its turns ------------------------------------------------------ */

static int count_execute(void *self, mol_a2a_turn *t) {
  (void)self;
  F->executed++;
  snprintf(F->text, sizeof(F->text), "%s", mol_a2a_turn_text(t));
  return mol_a2a_turn_reply_text(t, "noted");
}

static const mol_a2a_executor count_exec = {.name = "count", .execute = count_execute};

/* ---- the log: each attempt's outcome -------------------------------------------------------- */

static void sink(mol_log_level level, const char *line, void *arg) {
  (void)arg;
  const char *p = strstr(line, "prompter: Initial prompt: ");
  if (!p) return;
  p += strlen("prompter: Initial prompt: ");
  unsigned n;
  unsigned long long ms;
  const char *retry = strstr(p, "; retrying in ");
  /* The refusal is the server's 503, or a reset when it closes on the unread body. */
  if (sscanf(p, "attempt %u failed (", &n) == 1 && retry &&
      sscanf(retry, "; retrying in %llu ms", &ms) == 1) {
    assert_int_equal(level, MOL_LOG_WARN);
    assert_int_equal(n, (unsigned)F->failed_attempts + 1);
    assert_true(F->failed_attempts < MAX_ATTEMPTS);
    uv_update_time(&F->loop);
    F->failed_at[F->failed_attempts] = uv_now(&F->loop);
    F->retry_ms[F->failed_attempts++] = ms;
  } else if (!strncmp(p, "completed", 9)) {
    F->completed++;
  } else if (!strncmp(p, "failed after", 12)) {
    assert_int_equal(level, MOL_LOG_WARN);
    F->gave_up++;
    snprintf(F->gave_up_line, sizeof(F->gave_up_line), "%s", p);
  }
}

/* ---- connections that fill the server ------------------------------------------------------- */

static void held_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  held_conn *c = h->data;
  *buf = uv_buf_init(c->rx + c->rxlen, (unsigned)(sizeof(c->rx) - 1 - c->rxlen));
}

/* The server answered its request (404 for a path nobody serves): it has accepted it. */
static void held_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  (void)buf;
  held_conn *c = s->data;
  assert_true(n > 0); /* the server never closes it while the test holds it */
  c->rxlen += (size_t)n;
  c->rx[c->rxlen] = '\0';
  const char *end = strstr(c->rx, "\r\n\r\n");
  const char *len = strstr(c->rx, "Content-Length: ");
  if (!c->answered && end && len &&
      c->rxlen >= (size_t)(end + 4 - c->rx) + strtoul(len + 16, NULL, 10)) {
    assert_memory_equal(c->rx, "HTTP/1.1 404", 12);
    c->answered = 1;
    F->nanswered++;
  }
}

static void held_written(uv_write_t *w, int status) {
  (void)w;
  assert_int_equal(status, 0);
}

static void held_connected(uv_connect_t *req, int status) {
  held_conn *c = req->data;
  assert_int_equal(status, 0);
  static const char get[] = "GET /hold HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  uv_buf_t b = uv_buf_init((char *)get, sizeof(get) - 1);
  assert_int_equal(uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, held_written), 0);
  assert_int_equal(uv_read_start((uv_stream_t *)&c->tcp, held_alloc, held_read), 0);
}

static void fill_server(void) {
  struct sockaddr_in sa;
  uv_ip4_addr("127.0.0.1", mol_http_server_port(F->http), &sa);
  for (int i = 0; i < HELD; i++) {
    held_conn *c = &F->held[i];
    uv_tcp_init(&F->loop, &c->tcp);
    c->tcp.data = c->conn.data = c;
    assert_int_equal(uv_tcp_connect(&c->conn, &c->tcp, (const struct sockaddr *)&sa,
                                    held_connected), 0);
  }
  volatile int *n = &F->nanswered;
  uint64_t end = uv_now(&F->loop) + 5000;
  while (*n < HELD && uv_now(&F->loop) < end) run_for(&F->loop, 10);
  assert_int_equal(F->nanswered, HELD);
}

static void held_closed(uv_handle_t *h) { ((held_conn *)h->data)->closed = 1; }

static void release_server(void) {
  for (int i = 0; i < HELD; i++)
    if (!uv_is_closing((uv_handle_t *)&F->held[i].tcp))
      uv_close((uv_handle_t *)&F->held[i].tcp, held_closed);
}

/* ---- fixture ---------------------------------------------------------------------------- */

static void count_closed(void *arg) {
  (void)arg;
  F->closed++;
}

static void on_agent_end(mol_agent *a, mol_agent_end why, int err, void *arg) {
  (void)a, (void)why, (void)err, (void)arg;
  F->ended = 1;
}

static int setup(void **st) {
  (void)st;
  F = calloc(1, sizeof(*F));
  uv_loop_init(&F->loop);
  g_loop = &F->loop;
  F->dir = make_tmpdir();
  /* Connections held for the whole test: no timeout may close them. */
  mol_http_server_opts so = {.max_connections = HELD, .header_timeout_ms = 120000,
                             .idle_timeout_ms = 120000, .request_timeout_ms = 120000};
  assert_int_equal(mol_http_server_new(g_loop, &so, &F->http), 0);
  assert_int_equal(mol_http_server_listen(F->http, "127.0.0.1", 0), 0);
  assert_int_equal(mol_http_client_new(g_loop, NULL, &F->client), 0);
  mol_log_set_sink(sink, NULL);
  return 0;
}

static int teardown(void **st) {
  (void)st;
  if (F->agent && !F->ended) {
    mol_agent_stop(F->agent);
    assert_true(run_until(g_loop, &F->ended, 5000));
  }
  mol_log_set_sink(NULL, NULL);
  release_server();
  mol_http_server_close(F->http, 100, count_closed, NULL);
  mol_http_client_close(F->client, count_closed, NULL);
  volatile int *closed = &F->closed;
  uint64_t end = uv_now(g_loop) + 5000;
  while (*closed < 2 && uv_now(g_loop) < end) run_for(g_loop, 10);
  assert_int_equal(F->closed, 2);
  for (int i = 0; i < HELD; i++) assert_true(F->held[i].closed);
  loop_drain(g_loop);
  assert_int_equal(uv_loop_close(g_loop), 0);
  rm_tree(F->dir);
  free(F);
  return 0;
}

static void start_agent(void) {
  mol_agent_opts ao = {.name = "prompter", .exec = MOL_AGENT_EXEC_CUSTOM, .custom = &count_exec,
                       .state_dir = F->dir, .initial_prompt = PROMPT};
  assert_int_equal(mol_agent_start(g_loop, F->http, F->client, &ao, on_agent_end, NULL,
                                   &F->agent), 0);
}

static int wait_for(volatile int *n, int want, unsigned ms) {
  uint64_t end = uv_now(g_loop) + ms;
  while (*n < want && uv_now(g_loop) < end) run_for(g_loop, 10);
  return *n >= want;
}

static void assert_marker(void) {
  const char *marker = path_in(F->dir, ".initial_prompt_done");
  const char *s = read_file(marker);
  assert_non_null(s);
  assert_string_equal(s, "attempted");
}

static mol_agent_stats stats(void) {
  mol_agent_stats s;
  mol_agent_stats_get(F->agent, &s);
  return s;
}

/* ---- tests ---------------------------------------------------------------------------------- */

/* Refused twice, then let through: retried after 1 s and 2 s, delivered exactly once. */
static void refused_then_retried_delivered_once(void **st) {
  (void)st;
  fill_server();
  start_agent();
  assert_true(wait_for(&F->failed_attempts, 2, 10000));
  release_server();
  assert_true(wait_for(&F->completed, 1, 10000));
  assert_int_equal(F->failed_attempts, 2);
  assert_int_equal(F->retry_ms[0], 1000);
  assert_int_equal(F->retry_ms[1], 2000);
  /* The back-off is waited out: the second refusal came at least 1 s after the first. */
  assert_true(F->failed_at[1] - F->failed_at[0] >= 1000);
  assert_int_equal(F->executed, 1);
  assert_string_equal(F->text, PROMPT);
  assert_int_equal(stats().initial_prompts, 1);
  assert_int_equal(F->gave_up, 0);
  assert_marker();
  /* Longer than the next back-off (4 s): had another attempt been armed, it would have run. */
  run_for(g_loop, 4500);
  assert_int_equal(F->failed_attempts, 2);
  assert_int_equal(F->executed, 1);
  assert_int_equal(F->completed, 1);
}

/* Refused for good: five attempts, a warning, never delivered, no sixth attempt. */
static void refused_for_good_gives_up(void **st) {
  (void)st;
  fill_server();
  start_agent();
  assert_true(wait_for(&F->gave_up, 1, 30000));
  assert_int_equal(F->failed_attempts, 4);
  const unsigned long long want[4] = {1000, 2000, 4000, 8000};
  for (int i = 0; i < 4; i++) assert_int_equal(F->retry_ms[i], want[i]);
  for (int i = 1; i < 4; i++) assert_true(F->failed_at[i] - F->failed_at[i - 1] >= want[i - 1]);
  assert_memory_equal(F->gave_up_line, "failed after 5 attempts - ", 26);
  assert_int_equal(stats().initial_prompts, 0);
  assert_marker();
  /* Longer than the longest back-off: had another attempt been armed, it would have run. */
  run_for(g_loop, 9000);
  assert_int_equal(F->failed_attempts, 4);
  assert_int_equal(F->gave_up, 1);
  assert_int_equal(F->executed, 0);
  assert_int_equal(F->completed, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(refused_then_retried_delivered_once, setup, teardown),
      cmocka_unit_test_setup_teardown(refused_for_good_gives_up, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
