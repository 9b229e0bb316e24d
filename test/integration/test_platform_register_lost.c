/* test_platform_register_lost.c - a registration whose answer is lost, and the waits that
 * lose answers, over real sockets.
 *
 *  - lost_answer_recovers: a real `molecule platform --dev` ($MOLECULE_BIN) is made slow to
 *    answer a first register by holding its SQLite write lock from another connection (a
 *    python3 sqlite3 process). The client's timeout fires; the lock is released; the platform
 *    commits the registration and mints the workspace's token for an answer nobody reads. The
 *    client's next register must recover (a fresh token, the lost one revoked), not be refused
 *    401 for ever; and another registrant without the token is still refused (hijack guard).
 *  - queue_wait_not_timed: a platform that takes 400 ms per answer, one connection, four calls
 *    with a 1 s timeout: the calls waiting for the connection time from when they are sent,
 *    so all four succeed (timed from when they were made, the third and fourth time out).
 *  - registrations_borrow_idle_slots: four clients sharing a pool of four connections register
 *    with a platform that never answers a register: with nothing else waiting they take three
 *    connections, not only their half (two), and the fourth stays free, so a heartbeat made
 *    meanwhile is sent and answered at once.
 *  - waiting_room_fits_every_client: a pool of one connection with room for two waiting
 *    requests, four clients making two state polls each: every client's own exchanges fit
 *    (four per client), so none is refused with MOL_ELIMIT. */
#include "devplatform_proc.h"
#include "platform_testutil.h"

#define LOST_WS "7d1c9a2e-5b3f-4e6a-8c0d-1f2e3a4b5c6d"

typedef struct {
  pid_t pid;
  FILE *to, *from;
} locker;

/* A python3 process holding db's write lock (BEGIN IMMEDIATE) until locker_release. Readiness:
 * it prints "locked" once it holds the lock. */
static void locker_start(locker *l, const char *db) {
  static const char prog[] =
      "import sqlite3, sys\n"
      "c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)\n"
      "c.execute('BEGIN IMMEDIATE')\n"
      "print('locked', flush=True)\n"
      "sys.stdin.readline()\n"
      "c.execute('COMMIT')\n"
      "print('released', flush=True)\n";
  int in[2], out[2];
  assert_int_equal(pipe(in), 0);
  assert_int_equal(pipe(out), 0);
  l->pid = fork();
  assert_true(l->pid >= 0);
  if (l->pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    close(in[0]), close(in[1]), close(out[0]), close(out[1]);
    execlp("python3", "python3", "-c", prog, db, (char *)NULL);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  l->to = fdopen(in[1], "w");
  l->from = fdopen(out[0], "r");
  char line[64] = "";
  assert_non_null(fgets(line, sizeof line, l->from));
  assert_string_equal(line, "locked\n");
}

static void locker_release(locker *l) {
  fputs("go\n", l->to);
  fflush(l->to);
  char line[64] = "";
  assert_non_null(fgets(line, sizeof line, l->from));
  assert_string_equal(line, "released\n");
  fclose(l->to);
  fclose(l->from);
  int st;
  assert_int_equal(waitpid(l->pid, &st, 0), l->pid);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* "<all> <live>": the workspace's tokens in the platform's database. */
static void token_counts(const char *db, const char *ws, int *all, int *live) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "python3 -c \"import sqlite3; c = sqlite3.connect('file:%s?mode=ro', uri=True); "
           "print(*c.execute('select count(*), count(*) - count(revoked_at) from tokens "
           "where workspace_id=?', ('%s',)).fetchone())\"",
           db, ws);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  assert_int_equal(fscanf(p, "%d %d", all, live), 2);
  assert_int_equal(pclose(p), 0);
}

static void register_now(mol_platform_client *c, capture *cap) {
  memset(cap, 0, sizeof *cap);
  uv_update_time(g_loop); /* the test blocked outside the loop: timeouts start from now */
  mol_platform_register_opts ro = {.reported_url = "remote://no-inbound"};
  assert_int_equal(mol_platform_register(c, &ro, NULL, on_capture, cap, NULL), 0);
  wait_done(cap, 10000);
}

static void lost_answer_recovers(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  g_loop = &loop;
  char *dir = make_tmpdir();
  char db[512];
  snprintf(db, sizeof db, "%s/p.db", dir);
  platform p;
  platform_start(&p, db, 0);

  mol_platform_opts o = base_opts(p.port, path_in(dir, "tok"));
  o.workspace_id = LOST_WS;
  o.timeout_ms = 300;
  mol_platform_client *c;
  assert_int_equal(mol_platform_client_new(&loop, &o, &c), 0);

  /* A first round trip: the platform is past its start-up and idle on its loop. */
  read_admin_token(db);
  int st = 0;
  json_decref(http_call(p.port, "GET", "/workspaces", NULL, &st));
  assert_int_equal(st, 200);

  /* The first register waits on the lock past the client's timeout: its answer is lost. */
  locker l;
  locker_start(&l, db);
  capture cap;
  register_now(c, &cap);
  assert_int_equal(cap.err, MOL_ETIMEDOUT);
  assert_false(mol_platform_has_token(c));
  locker_release(&l);

  /* The platform has committed it (it handles requests one at a time, so this register is
   * read after the first one's commit): the retry must get a token, not a 401. */
  register_now(c, &cap);
  assert_int_equal(cap.status, 200); /* 401 for good without the key */
  assert_int_equal(cap.err, 0);
  assert_true(cap.token_issued);
  assert_true(mol_platform_has_token(c));
  int all, live;
  token_counts(db, LOST_WS, &all, &live);
  assert_int_equal(all, 2);  /* the fault was real: the lost answer's token had been minted */
  assert_int_equal(live, 1); /* and it is revoked now */

  /* The token works, and re-registering with it needs no key. */
  capture hb = {0};
  mol_platform_heartbeat_payload pl = {0};
  uv_update_time(&loop);
  assert_int_equal(mol_platform_heartbeat(c, &pl, NULL, on_capture, &hb, NULL), 0);
  wait_done(&hb, 10000);
  assert_int_equal(hb.err, 0);
  register_now(c, &cap);
  assert_int_equal(cap.err, 0);
  assert_false(cap.token_issued);

  /* The hijack guard holds: another registrant without the token is refused. */
  mol_platform_opts o2 = base_opts(p.port, path_in(dir, "tok2"));
  o2.workspace_id = LOST_WS;
  mol_platform_client *other;
  assert_int_equal(mol_platform_client_new(&loop, &o2, &other), 0);
  register_now(other, &cap);
  assert_int_equal(cap.err, MOL_EHTTP);
  assert_int_equal(cap.status, 401);
  token_counts(db, LOST_WS, &all, &live);
  assert_int_equal(live, 1);

  close_client(other);
  close_client(c);
  loop_drain(&loop);
  assert_int_equal(uv_loop_close(&loop), 0);
  platform_stop(&p, SIGTERM);
  rm_tree(dir);
}

/* ---- waiting for a connection is not part of a call's timeout ----------------------------- */

static void slow_state(fake *f, const fake_req *r, fake_resp *out, void *arg) {
  (void)f;
  (void)r;
  (void)arg;
  *out = (fake_resp){.status = 200, .body = "{\"status\":\"online\"}", .delay_ms = 400};
}

static void queue_wait_not_timed(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  g_loop = &loop;
  char *dir = make_tmpdir();
  fake *f = calloc(1, sizeof *f); /* its request log is large */
  assert_non_null(f);
  fake_init(f, &loop, slow_state, NULL);
  assert_int_equal(fake_listen(f, 0), 0);
  mol_platform_opts o = base_opts(f->port, dir);
  o.timeout_ms = 1000;
  o.pool_max_conns = 1;
  mol_platform_client *c;
  assert_int_equal(mol_platform_client_new(&loop, &o, &c), 0);
  capture caps[4];
  memset(caps, 0, sizeof caps);
  uv_update_time(&loop);
  for (int i = 0; i < 4; i++)
    assert_int_equal(mol_platform_poll_state(c, NULL, on_capture, &caps[i], NULL), 0);
  for (int i = 0; i < 4; i++) {
    wait_done(&caps[i], 10000);
    assert_int_equal(caps[i].err, 0);
    assert_string_equal(caps[i].state, "online");
  }
  pt_teardown(&loop, f, c, dir);
  free(f);
}

/* ---- registrations borrow idle connections; heartbeats keep one ---------------------------- */

#define NCLIENTS 4

static void hang_registers(fake *f, const fake_req *r, fake_resp *out, void *arg) {
  (void)f;
  (void)arg;
  if (!strncmp(r->path, "/registry/register", 18)) *out = (fake_resp){.action = FAKE_HANG};
  else *out = (fake_resp){.status = 200, .body = "{\"status\":\"online\"}"};
}

/* Runs the loop until the fake has logged n requests to path, or 10 s pass. */
static int run_until_logged(fake *f, const char *method, const char *path, int n) {
  for (int i = 0; i < 1000 && fake_count(f, method, path) < n; i++) run_for(g_loop, 10);
  return fake_count(f, method, path);
}

static void clients_new(uv_loop_t *loop, mol_platform_opts *o, mol_platform_client **c) {
  for (int i = 0; i < NCLIENTS; i++) assert_int_equal(mol_platform_client_new(loop, o, &c[i]), 0);
}

static void clients_teardown(uv_loop_t *loop, fake *f, mol_platform_client **c, char *dir) {
  for (int i = 1; i < NCLIENTS; i++) close_client(c[i]);
  pt_teardown(loop, f, c[0], dir);
}

static void registrations_borrow_idle_slots(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  g_loop = &loop;
  char *dir = make_tmpdir();
  fake *f = calloc(1, sizeof *f);
  assert_non_null(f);
  fake_init(f, &loop, hang_registers, NULL);
  assert_int_equal(fake_listen(f, 0), 0);
  mol_platform_opts o = base_opts(f->port, dir);
  o.pool_max_conns = NCLIENTS; /* registrations are sure of two */
  mol_platform_client *c[NCLIENTS];
  clients_new(&loop, &o, c);
  capture reg[NCLIENTS];
  memset(reg, 0, sizeof reg);
  mol_platform_register_opts ro = {.reported_url = "remote://no-inbound"};
  for (int i = 0; i < NCLIENTS; i++)
    assert_int_equal(mol_platform_register(c[i], &ro, NULL, on_capture, &reg[i], NULL), 0);
  /* Nothing else waits: three go (two were the limit), one connection stays free. */
  assert_int_equal(run_until_logged(f, "POST", "/registry/register", 3), 3);
  run_for(&loop, 100);
  assert_int_equal(fake_count(f, "POST", "/registry/register"), 3);
  /* ... for a heartbeat, sent and answered while the registrations hang. */
  capture hb = {0};
  mol_platform_heartbeat_payload pl = {0};
  assert_int_equal(mol_platform_heartbeat(c[0], &pl, NULL, on_capture, &hb, NULL), 0);
  wait_done(&hb, 10000);
  assert_int_equal(hb.err, 0);
  assert_int_equal(hb.status, 200);
  for (int i = 0; i < NCLIENTS; i++) assert_int_equal(reg[i].calls, 0);
  clients_teardown(&loop, f, c, dir);
  for (int i = 0; i < NCLIENTS; i++) assert_int_equal(reg[i].calls, 1); /* canceled */
  free(f);
}

/* ---- the waiting room holds every client's own exchanges ----------------------------------- */

static void waiting_room_fits_every_client(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  g_loop = &loop;
  char *dir = make_tmpdir();
  fake *f = calloc(1, sizeof *f);
  assert_non_null(f);
  fake_init(f, &loop, hang_registers, NULL);
  assert_int_equal(fake_listen(f, 0), 0);
  mol_platform_opts o = base_opts(f->port, dir);
  o.pool_max_conns = 1;
  o.pool_max_queued = 2;
  mol_platform_client *c[NCLIENTS];
  clients_new(&loop, &o, c);
  capture caps[2 * NCLIENTS];
  memset(caps, 0, sizeof caps);
  for (int i = 0; i < 2 * NCLIENTS; i++)
    assert_int_equal(mol_platform_poll_state(c[i % NCLIENTS], NULL, on_capture, &caps[i], NULL), 0);
  for (int i = 0; i < 2 * NCLIENTS; i++) {
    wait_done(&caps[i], 10000);
    assert_int_equal(caps[i].err, 0); /* MOL_ELIMIT past two waiting without the rule */
    assert_string_equal(caps[i].state, "online");
  }
  clients_teardown(&loop, f, c, dir);
  free(f);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(lost_answer_recovers),
    cmocka_unit_test(queue_wait_not_timed),
    cmocka_unit_test(registrations_borrow_idle_slots),
    cmocka_unit_test(waiting_room_fits_every_client),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
