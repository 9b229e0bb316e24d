/* test_a2a_durable_crash.c - `molecule serve --data-dir`: every task a client was told about
 * survives kill -9, ended, and nothing a reply reported is lost.
 *
 * A soak against the real binary ($MOLECULE_BIN), several rounds on one data directory. Each
 * round starts the agent (echo, task mode, a short delay so that tasks are in flight at any
 * moment), then checks every task of the earlier rounds: it must be there, terminal, and a
 * task a tasks/get had shown terminal must still be in that state (a restart fails only what
 * was in progress). Then WRITERS connections each keep DEPTH requests pipelined, non-blocking
 * message/send and tasks/get of their own earlier tasks in turn, and the agent is SIGKILLed at
 * a random moment. Answers already in the sockets when it died count: the rule is that no
 * reply leaves before the state it reports is committed.
 *
 * The same soak through `molecule host` with data_dir. A last test: a client streaming a task (tasks/resubscribe) when the agent dies comes back
 * after the restart and gets the task and its final event, failed, saying why. */
#include "devplatform_proc.h"

#define ROUNDS 5
#define WRITERS 8
#define DEPTH 16
#define KILL_WINDOW_MS 400

typedef struct {
  int fd;
  mol_buf out, in;
  unsigned sent, answered;
  json_t *kinds;  /* what each request in flight was: "send" or a task id (a get) */
  json_t *mine;   /* this writer's task ids, for its gets */
  int closed;
} writer;

static char g_dir[64], g_data[128];
static int g_host;               /* the agent is `molecule host` (else `molecule serve`) */
static const char *g_path = "/"; /* its A2A endpoint */
static json_t *g_tasks; /* id -> the terminal state a get showed, or "" (only acknowledged) */
static pid_t g_agent;

/* ---- the agent process ----------------------------------------------------------------------- */

/* `molecule host`: one echo agent in task mode; its store in <data_dir>/a. */
static void write_host_file(const char *path, const char *delay_ms) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "listen: 127.0.0.1:0\ndata_dir: %s\nagents:\n  - name: a\n    executor: echo\n"
             "    task_mode: true\n    delay_ms: %s\n", g_data, delay_ms);
  fclose(f);
}

/* Readiness: serve and host print "listening on HOST:PORT" on stdout once listening (and
 * loaded). */
static int agent_start(const char *delay_ms) {
  char conf[160];
  snprintf(conf, sizeof conf, "%s/host.yaml", g_dir);
  if (g_host) write_host_file(conf, delay_ms);
  const char *bin = getenv("MOLECULE_BIN");
  assert_non_null(bin);
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  g_agent = fork();
  assert_true(g_agent >= 0);
  if (g_agent == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    if (g_host) execl(bin, bin, "host", "-c", conf, (char *)NULL);
    execl(bin, bin, "serve", "--listen", "127.0.0.1:0", "--data-dir", g_data, "--task-mode",
          "--delay-ms", delay_ms, (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  char line[256];
  size_t len = 0;
  int port = 0;
  while (!port) {
    ssize_t n = read(fds[0], line + len, sizeof line - 1 - len);
    if (n <= 0) fail_msg("the agent exited before listening");
    len += (size_t)n;
    line[len] = '\0';
    char *at = strstr(line, "listening on 127.0.0.1:");
    if (at && strchr(at, '\n')) port = atoi(at + strlen("listening on 127.0.0.1:"));
  }
  close(fds[0]);
  return port;
}

static int agent_stop(int sig) {
  kill(g_agent, sig);
  int status = 0;
  assert_int_equal(waitpid(g_agent, &status, 0), g_agent);
  g_agent = 0;
  return status;
}

/* ---- JSON-RPC ------------------------------------------------------------------------------- */

static void append_rpc(mol_buf *b, int port, const char *method, const char *params) {
  char body[512];
  snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":%s}",
           method, params);
  append_request_as(b, port, "x", "POST", g_path, body);
}

static void append_send(mol_buf *b, int port) {
  append_rpc(b, port, "message/send",
             "{\"configuration\":{\"blocking\":false},\"message\":{\"kind\":\"message\","
             "\"messageId\":\"m\",\"role\":\"user\",\"parts\":[{\"kind\":\"text\",\"text\":\"hi\"}]}}");
}

static void append_get(mol_buf *b, int port, const char *id) {
  char params[128];
  snprintf(params, sizeof params, "{\"id\":\"%s\"}", id);
  append_rpc(b, port, "tasks/get", params);
}

/* A blocking JSON-RPC call; returns the result (NULL with *code set on an error). */
static json_t *rpc(int port, const char *method, const char *params, int *code) {
  char body[512];
  snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":%s}",
           method, params);
  int status = 0;
  json_t *j = http_call_as(port, "x", "POST", g_path, body, &status);
  assert_int_equal(status, 200);
  json_t *res = json_incref(json_object_get(j, "result"));
  *code = (int)json_integer_value(json_object_get(json_object_get(j, "error"), "code"));
  json_decref(j);
  return res;
}

static const char *task_state(const json_t *task) {
  return json_string_value(json_object_get(json_object_get(task, "status"), "state"));
}

static int terminal(const char *s) {
  return s && (!strcmp(s, "completed") || !strcmp(s, "failed") || !strcmp(s, "canceled") ||
               !strcmp(s, "rejected"));
}

/* ---- the writers ------------------------------------------------------------------------------ */

static void queue_requests(writer *wr, int port) {
  while (wr->sent - wr->answered < DEPTH) {
    size_t n = json_array_size(wr->mine);
    if (n && wr->sent % 2) { /* a get of one of its tasks, the newest half of the time */
      const char *id = json_string_value(json_array_get(wr->mine, rand() % 2 ? n - 1 : (size_t)rand() % n));
      append_get(&wr->out, port, id);
      json_array_append_new(wr->kinds, json_string(id));
    } else {
      append_send(&wr->out, port);
      json_array_append_new(wr->kinds, json_string("send"));
    }
    wr->sent++;
  }
}

static void flush_out(writer *wr) {
  while (wr->out.len) {
    ssize_t n = send(wr->fd, wr->out.data, wr->out.len, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR || errno == ENOTCONN)) return;
    if (n <= 0) {
      wr->out.len = 0;
      return;
    }
    mol_buf_consume(&wr->out, (size_t)n);
  }
}

/* A send's answer: a task id the client now holds. A get's: what state it showed. */
static void record(writer *wr, const char *kind, const json_t *task) {
  const char *id = json_string_value(json_object_get(task, "id"));
  const char *state = task_state(task);
  assert_non_null(id);
  assert_non_null(state);
  if (strcmp(kind, "send") == 0) {
    json_object_set_new(g_tasks, id, json_string(""));
    json_array_append_new(wr->mine, json_string(id));
  } else {
    assert_string_equal(id, kind);
    if (terminal(state)) json_object_set_new(g_tasks, id, json_string(state));
  }
}

static unsigned take_answers(writer *wr) {
  int status;
  const char *body;
  size_t blen, total;
  unsigned acks = 0;
  while (parse_response(&wr->in, &status, &body, &blen, &total)) {
    assert_int_equal(status, 200);
    const char *kind = json_string_value(json_array_get(wr->kinds, 0));
    json_t *j = json_loadb(body, blen, 0, NULL);
    json_t *res = json_object_get(j, "result");
    if (!res) fail_msg("%s answered %.*s", kind, (int)blen, body);
    record(wr, kind, res);
    json_decref(j);
    json_array_remove(wr->kinds, 0);
    wr->answered++;
    mol_buf_consume(&wr->in, total);
    acks++;
  }
  return acks;
}

static void read_in(writer *wr) {
  for (;;) {
    assert_int_equal(mol_buf_reserve(&wr->in, 65536), 0);
    ssize_t n = recv(wr->fd, wr->in.data + wr->in.len, 65536, 0);
    if (n > 0) {
      wr->in.len += (size_t)n;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    wr->closed = 1;
    return;
  }
}

static int poll_writers(writer *ws, int timeout_ms) {
  struct pollfd pf[WRITERS];
  for (int i = 0; i < WRITERS; i++)
    pf[i] = (struct pollfd){.fd = ws[i].closed ? -1 : ws[i].fd,
                            .events = POLLIN | (ws[i].out.len ? POLLOUT : 0)};
  int n = poll(pf, WRITERS, timeout_ms);
  assert_true(n >= 0 || errno == EINTR);
  int ready = 0;
  for (int i = 0; i < WRITERS; i++) ready |= pf[i].revents ? 1 << i : 0;
  return ready;
}

static unsigned soak_round(int port) {
  writer ws[WRITERS];
  memset(ws, 0, sizeof ws);
  for (int i = 0; i < WRITERS; i++) {
    ws[i].fd = connect_to(port, 1);
    ws[i].kinds = json_array();
    ws[i].mine = json_array();
  }
  uint64_t kill_at = 0;
  unsigned acks = 0;
  int killed = 0, open = WRITERS;
  while (open > 0) {
    uint64_t now = mol_mono_ms();
    if (!killed && kill_at && now >= kill_at) {
      kill(g_agent, SIGKILL);
      killed = 1;
    }
    for (int i = 0; i < WRITERS && !killed; i++)
      if (!ws[i].closed) queue_requests(&ws[i], port);
    int ready = poll_writers(ws, killed ? -1 : kill_at ? (int)(kill_at - now) : -1);
    for (int i = 0; i < WRITERS; i++) {
      if (!(ready & (1 << i)) || ws[i].closed) continue;
      flush_out(&ws[i]);
      read_in(&ws[i]);
      acks += take_answers(&ws[i]);
      if (!killed && ws[i].closed) fail_msg("writer %d lost its connection before the kill", i);
      if (ws[i].closed) open--;
      if (acks && !kill_at) kill_at = mol_mono_ms() + 20 + (uint64_t)(rand() % KILL_WINDOW_MS);
    }
  }
  for (int i = 0; i < WRITERS; i++) {
    close(ws[i].fd);
    mol_buf_free(&ws[i].out);
    mol_buf_free(&ws[i].in);
    json_decref(ws[i].kinds);
    json_decref(ws[i].mine);
  }
  return acks;
}

/* Every task a client holds is there and has ended; one seen ended is still as it was seen.
 * Returns how many are not (each reported). */
static size_t check_tasks(int port) {
  const char *id;
  json_t *seen;
  size_t bad = 0, failed_by_restart = 0;
  json_object_foreach(g_tasks, id, seen) {
    char params[128];
    snprintf(params, sizeof params, "{\"id\":\"%s\"}", id);
    int code = 0;
    json_t *t = rpc(port, "tasks/get", params, &code);
    const char *state = t ? task_state(t) : NULL;
    const char *want = json_string_value(seen);
    if (!t || !terminal(state) || (*want && strcmp(state, want) != 0)) {
      if (bad++ < 5)
        fprintf(stderr, "task %s: %s (seen %s)\n", id, t ? state : "missing (error)",
                *want ? want : "-");
    } else {
      failed_by_restart += !*want && strcmp(state, "failed") == 0;
      json_object_set_new(g_tasks, id, json_string(state)); /* it must stay so from now on */
    }
    json_decref(t);
  }
  fprintf(stderr, "restart: %zu tasks held by clients, %zu failed by a restart, %zu wrong\n",
          json_object_size(g_tasks), failed_by_restart, bad);
  return bad;
}

static void soak(void) {
  unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
  srand(seed);
  fprintf(stderr, "seed %u\n", seed);
  g_tasks = json_object();
  size_t wrong = 0;
  for (int round = 0; round <= ROUNDS; round++) {
    int port = agent_start("30");
    wrong += check_tasks(port);
    if (round == ROUNDS) {
      int st = agent_stop(SIGTERM);
      assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
      break;
    }
    unsigned acks = soak_round(port);
    int st = agent_stop(SIGKILL);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    fprintf(stderr, "round %d: %u answers before kill -9\n", round, acks);
    assert_true(acks > 0);
  }
  json_decref(g_tasks);
  if (wrong) fail_msg("%zu tasks lost or changed over %d kill -9 rounds", wrong, ROUNDS);
}

static void test_tasks_survive_kill9(void **state) {
  (void)state;
  soak();
}

/* The same through `molecule host` with data_dir: each agent its own store under it. */
static void test_host_tasks_survive_kill9(void **state) {
  (void)state;
  g_host = 1;
  g_path = "/agents/a/";
  snprintf(g_data, sizeof g_data, "%s/hostdata", g_dir);
  soak();
  char db[200];
  snprintf(db, sizeof db, "%s/a/a2a-tasks.db", g_data);
  assert_int_equal(access(db, F_OK), 0);
  g_host = 0;
  g_path = "/";
}

/* ---- a resubscriber across the restart ------------------------------------------------------ */

/* Reads an SSE response to its end (the server closes the stream after the final event);
 * returns the data of each event as a JSON array. */
static json_t *read_stream(int fd) {
  mol_buf b = MOL_BUF_INIT;
  for (;;) {
    assert_int_equal(mol_buf_reserve(&b, 4096), 0);
    ssize_t n = recv(fd, b.data + b.len, 4096, 0);
    if (n <= 0) break;
    b.len += (size_t)n;
    if (memmem(b.data, b.len, "\r\n0\r\n\r\n", 7)) break; /* the chunked end */
  }
  json_t *events = json_array();
  const char *p = b.data, *end = b.data + b.len;
  while ((p = memmem(p, (size_t)(end - p), "data: ", 6))) {
    p += 6;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    assert_non_null(nl);
    json_t *j = json_loadb(p, (size_t)(nl - p), 0, NULL);
    assert_non_null(j);
    json_array_append_new(events, j);
    p = nl;
  }
  mol_buf_free(&b);
  return events;
}

static int open_resubscribe(int port, const char *id) {
  int fd = connect_to(port, 0);
  mol_buf b = MOL_BUF_INIT;
  char params[128];
  snprintf(params, sizeof params, "{\"id\":\"%s\"}", id);
  append_rpc(&b, port, "tasks/resubscribe", params);
  assert_int_equal(send(fd, b.data, b.len, MSG_NOSIGNAL), (ssize_t)b.len);
  mol_buf_free(&b);
  return fd;
}

static void test_resubscriber_gets_the_restart_end(void **state) {
  (void)state;
  snprintf(g_data, sizeof g_data, "%s/resub", g_dir);
  int port = agent_start("600000"); /* the task is in progress when the agent dies */
  int code = 0;
  json_t *t = rpc(port, "message/send",
                  "{\"configuration\":{\"blocking\":false},\"message\":{\"kind\":\"message\","
                  "\"messageId\":\"m1\",\"role\":\"user\",\"parts\":[{\"kind\":\"text\","
                  "\"text\":\"hi\"}]}}", &code);
  assert_non_null(t);
  char id[64];
  snprintf(id, sizeof id, "%s", json_string_value(json_object_get(t, "id")));
  json_decref(t);
  int fd = open_resubscribe(port, id);
  char first[8];
  assert_true(recv(fd, first, sizeof first, MSG_PEEK) > 0); /* the stream is open */
  int st = agent_stop(SIGKILL);
  assert_true(WIFSIGNALED(st));
  json_t *cut = read_stream(fd); /* what it had; the stream ends with the process */
  close(fd);
  json_decref(cut);

  port = agent_start("0");
  fd = open_resubscribe(port, id);
  json_t *events = read_stream(fd);
  close(fd);
  assert_int_equal(json_array_size(events), 2);
  json_t *task = json_object_get(json_array_get(events, 0), "result");
  json_t *ev = json_object_get(json_array_get(events, 1), "result");
  assert_string_equal(task_state(task), "failed");
  assert_string_equal(json_string_value(json_object_get(ev, "kind")), "status-update");
  assert_true(json_is_true(json_object_get(ev, "final")));
  assert_string_equal(task_state(ev), "failed");
  const char *why = json_string_value(json_object_get(json_array_get(json_object_get(
      json_object_get(json_object_get(ev, "status"), "message"), "parts"), 0), "text"));
  assert_non_null(why);
  assert_non_null(strstr(why, "restarted"));
  json_decref(events);
  /* and tasks/get says the same */
  char params[128];
  snprintf(params, sizeof params, "{\"id\":\"%s\"}", id);
  t = rpc(port, "tasks/get", params, &code);
  assert_string_equal(task_state(t), "failed");
  json_decref(t);
  st = agent_stop(SIGTERM);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static int setup(void **state) {
  (void)state;
  snprintf(g_dir, sizeof g_dir, "/tmp/mola2acrash-XXXXXX");
  if (!mkdtemp(g_dir)) return -1;
  snprintf(g_data, sizeof g_data, "%s/data", g_dir);
  signal(SIGPIPE, SIG_IGN);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  if (g_agent > 0) {
    kill(g_agent, SIGKILL);
    waitpid(g_agent, NULL, 0);
  }
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
  return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tasks_survive_kill9),
      cmocka_unit_test(test_host_tasks_survive_kill9),
      cmocka_unit_test(test_resubscriber_gets_the_restart_end),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
