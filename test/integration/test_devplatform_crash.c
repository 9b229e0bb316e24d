/* test_devplatform_crash.c - an acknowledged write of the dev platform survives kill -9.
 *
 * A soak against the real `molecule platform --dev` binary ($MOLECULE_BIN). Each round starts
 * the platform on one database file, checks that every workspace acknowledged in the earlier
 * rounds is there with the name it was created with (the restart after the previous kill),
 * then lets WRITERS connections each keep DEPTH POST /workspaces pipelined, records every 2xx
 * (the id it names and the name that request sent), and SIGKILLs the platform at a random
 * moment while the writes stream. Answers already on their way when the process died (still
 * in the sockets) count as acknowledged too: the rule is that no success reply leaves the
 * platform before the write it acknowledges is committed. A last start checks the last round.
 *
 * Plain blocking-free POSIX sockets and poll(), not our HTTP client: the point is pipelining
 * many requests per connection, which is what put many answered-but-uncommitted writes in one
 * loop iteration. */
#include "devplatform_proc.h"

#define ROUNDS 5
#define WRITERS 8
#define DEPTH 32            /* requests outstanding per connection */
#define KILL_WINDOW_MS 300  /* the kill lands this long after the first answer, at most */

typedef struct {
  int fd;
  mol_buf out, in;
  unsigned sent, answered;
  int closed;
} writer;

static char g_dir[64], g_db[128];
static json_t *g_acks;      /* id -> name of every acknowledged create, all rounds */

/* ---- the writers ------------------------------------------------------------------------- */

static void ws_name(char *out, size_t cap, int round, int w, unsigned seq) {
  snprintf(out, cap, "soak-r%d-w%d-%u", round, w, seq);
}

static void queue_creates(writer *wr, int w, int round, int port) {
  while (wr->sent - wr->answered < DEPTH) {
    char name[64], body[96];
    ws_name(name, sizeof name, round, w, wr->sent++);
    snprintf(body, sizeof body, "{\"name\":\"%s\"}", name);
    append_request(&wr->out, port, "POST", "/workspaces", body);
  }
}

static void flush_out(writer *wr) {
  while (wr->out.len) {
    ssize_t n = send(wr->fd, wr->out.data, wr->out.len, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR || errno == ENOTCONN)) return;
    if (n <= 0) { /* the platform is gone (killed): nothing more to send */
      wr->out.len = 0;
      return;
    }
    mol_buf_consume(&wr->out, (size_t)n);
  }
}

/* Every complete answer in the buffer: a 2xx is an acknowledgement, recorded with its name. */
static unsigned take_answers(writer *wr, int w, int round) {
  int status;
  const char *body;
  size_t blen, total;
  unsigned acks = 0;
  while (parse_response(&wr->in, &status, &body, &blen, &total)) {
    char name[64];
    ws_name(name, sizeof name, round, w, wr->answered++);
    if (status < 200 || status > 299) {
      fail_msg("create %s answered %d: %.*s", name, status, (int)blen, body);
    }
    assert_int_equal(status, 201);
    json_t *j = json_loadb(body, blen, 0, NULL);
    const char *id = json_string_value(json_object_get(j, "id"));
    assert_non_null(id);
    json_object_set_new(g_acks, id, json_string(name));
    json_decref(j);
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
    wr->closed = 1; /* EOF or reset: the platform died */
    return;
  }
}

static int poll_writers(writer *ws, platform *p, int timeout_ms) {
  struct pollfd pf[WRITERS + 1];
  for (int i = 0; i < WRITERS; i++) {
    pf[i].fd = ws[i].closed ? -1 : ws[i].fd;
    pf[i].events = POLLIN | (ws[i].out.len ? POLLOUT : 0);
    pf[i].revents = 0;
  }
  pf[WRITERS] = (struct pollfd){.fd = p->err_open ? p->errfd : -1, .events = POLLIN};
  int n = poll(pf, WRITERS + 1, timeout_ms);
  assert_true(n >= 0 || errno == EINTR);
  if (n > 0 && pf[WRITERS].revents) p->err_open = forward_stderr(p);
  int ready = 0;
  for (int i = 0; i < WRITERS; i++) ready |= pf[i].revents ? 1 << i : 0;
  return ready;
}

/* Streams creates until the kill, then reads what the sockets still hold. Returns the number
 * of acknowledgements of this round. */
static unsigned soak_round(platform *p, int round) {
  writer ws[WRITERS];
  memset(ws, 0, sizeof ws);
  for (int i = 0; i < WRITERS; i++) ws[i].fd = connect_to(p->port, 1);
  uint64_t kill_at = 0;
  unsigned acks = 0;
  int killed = 0, open = WRITERS;
  while (open > 0) {
    uint64_t now = mol_mono_ms();
    if (!killed && kill_at && now >= kill_at) {
      kill(p->pid, SIGKILL);
      killed = 1;
    }
    for (int i = 0; i < WRITERS && !killed; i++) {
      if (!ws[i].closed) queue_creates(&ws[i], i, round, p->port);
    }
    int timeout = killed ? -1 : kill_at ? (int)(kill_at - now) : -1;
    int ready = poll_writers(ws, p, timeout);
    for (int i = 0; i < WRITERS; i++) {
      if (!(ready & (1 << i)) || ws[i].closed) continue;
      flush_out(&ws[i]);
      read_in(&ws[i]);
      acks += take_answers(&ws[i], i, round);
      if (!killed && ws[i].closed) fail_msg("writer %d lost its connection before the kill", i);
      if (ws[i].closed) open--;
      if (acks && !kill_at) kill_at = mol_mono_ms() + (uint64_t)(rand() % KILL_WINDOW_MS);
    }
  }
  for (int i = 0; i < WRITERS; i++) {
    close(ws[i].fd);
    mol_buf_free(&ws[i].out);
    mol_buf_free(&ws[i].in);
  }
  return acks;
}

/* Every acknowledged workspace must be listed with the name its create sent. Returns how many
 * are not (reported, and then forgotten so that a later restart does not count them again). */
static size_t check_acknowledged(platform *p) {
  int status = 0;
  json_t *list = http_call(p->port, "GET", "/workspaces", NULL, &status);
  assert_int_equal(status, 200);
  assert_true(json_is_array(list));
  json_t *have = json_object(), *row, *lost = json_array();
  size_t i;
  json_array_foreach(list, i, row) {
    json_object_set(have, json_string_value(json_object_get(row, "id")),
                    json_object_get(row, "name"));
  }
  const char *id;
  json_t *name;
  json_object_foreach(g_acks, id, name) {
    json_t *got = json_object_get(have, id);
    if (got && json_equal(got, name)) continue;
    if (json_array_size(lost) < 5)
      fprintf(stderr, "acknowledged but missing: %s (%s)\n", id, json_string_value(name));
    json_array_append_new(lost, json_string(id));
  }
  size_t missing = json_array_size(lost);
  fprintf(stderr, "restart: %zu acknowledged, %zu listed, %zu missing\n",
          json_object_size(g_acks), json_array_size(list), missing);
  json_array_foreach(lost, i, row) json_object_del(g_acks, json_string_value(row));
  json_decref(lost);
  json_decref(have);
  json_decref(list);
  return missing;
}

static void test_acknowledged_creates_survive_kill9(void **state) {
  (void)state;
  unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
  srand(seed);
  fprintf(stderr, "seed %u\n", seed);
  g_acks = json_object();
  platform p;
  size_t missing = 0;
  for (int round = 0; round <= ROUNDS; round++) {
    platform_start(&p, g_db, 0);
    if (round == 0) read_admin_token(g_db);
    missing += check_acknowledged(&p);
    if (round == ROUNDS) {
      int st = platform_stop(&p, SIGTERM);
      assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
      break;
    }
    unsigned acks = soak_round(&p, round);
    int st = platform_stop(&p, SIGKILL);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL); /* died of our kill, not before */
    fprintf(stderr, "round %d: %u creates acknowledged before kill -9\n", round, acks);
    assert_true(acks > 0);
  }
  json_decref(g_acks);
  if (missing) fail_msg("%zu acknowledged creates lost over %d kill -9 rounds", missing, ROUNDS);
}

/* 1 when the list holds a workspace with that name. */
static int listed(int port, const char *name) {
  int status = 0, found = 0;
  json_t *list = http_call(port, "GET", "/workspaces", NULL, &status), *row;
  assert_int_equal(status, 200);
  size_t i;
  json_array_foreach(list, i, row) {
    const char *n = json_string_value(json_object_get(row, "name"));
    found |= n && strcmp(n, name) == 0;
  }
  json_decref(list);
  return found;
}

/* A COMMIT that fails (here: the WAL cannot grow past the file size limit) rolls the write
 * back, and its reply is a 503, never the 201 of a workspace that does not exist. The next
 * write, small enough, goes through. */
static void test_failed_commit_answers_503(void **state) {
  (void)state;
  char db[160];
  snprintf(db, sizeof db, "%s/commit.db", g_dir);
  platform p;
  platform_start(&p, db, 512 * 1024);
  read_admin_token(db);
  /* ~900 KB of secrets in one create: the rows fit in SQLite's page cache, so the statements
   * succeed and the bytes reach the WAL only at COMMIT. */
  json_t *secrets = json_object();
  char *value = malloc(60001);
  memset(value, 'v', 60000);
  value[60000] = '\0';
  for (int i = 0; i < 15; i++) {
    char key[16];
    snprintf(key, sizeof key, "K%d", i);
    json_object_set_new(secrets, key, json_string(value));
  }
  free(value);
  json_t *req = json_pack("{s:s,s:o}", "name", "too-big-to-commit", "secrets", secrets);
  char *body = json_dumps(req, JSON_COMPACT);
  json_decref(req);
  int status = 0;
  json_t *resp = http_call(p.port, "POST", "/workspaces", body, &status);
  free(body);
  fprintf(stderr, "big create: %d %s\n", status, json_string_value(json_object_get(resp, "error")));
  json_decref(resp);
  assert_int_equal(status, 503);
  assert_false(listed(p.port, "too-big-to-commit"));
  resp = http_call(p.port, "POST", "/workspaces", "{\"name\":\"small\"}", &status);
  json_decref(resp);
  assert_int_equal(status, 201);
  assert_true(listed(p.port, "small"));
  int st = platform_stop(&p, SIGTERM);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static int setup(void **state) {
  (void)state;
  snprintf(g_dir, sizeof g_dir, "/tmp/moldpcrash-XXXXXX");
  if (!mkdtemp(g_dir)) return -1;
  snprintf(g_db, sizeof g_db, "%s/p.db", g_dir);
  signal(SIGPIPE, SIG_IGN);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  if (g_live > 0) { /* a test failed with its platform running: it must not outlive us */
    kill(g_live, SIGKILL);
    waitpid(g_live, NULL, 0);
  }
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
  return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_acknowledged_creates_survive_kill9),
      cmocka_unit_test(test_failed_commit_answers_503),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
