/* test_devplatform_crash_tools.c - what the agent tools write to the dev platform survives
 * kill -9: scoped memories, key/value memory, recorded delegations, approvals and their
 * decisions. Each round writes a stream of them to a real `molecule platform --dev`
 * ($MOLECULE_BIN) while a forked killer SIGKILLs it at a random moment; after the restart every
 * write that was answered with success is there, as answered. A delegation the platform was
 * running (to a target that never answers) when it died is reported failed with a reason after
 * the restart, never left "dispatched". */
#include "devplatform_proc.h"

#define ROUNDS 3
#define PER_ROUND 40        /* iterations of the four writes; rows read back <= 50 per list */
#define KILL_WINDOW_MS 120

static char g_dir[64], g_db[128];
static char A[64], TA[128], B[64];
static json_t *g_mem;       /* memory id -> content, all rounds */
static json_t *g_kv;        /* key -> version */
static json_t *g_del;       /* delegation id -> 1, this round */
static json_t *g_appr;      /* approval id -> "pending" | "approved", this round */

/* A request that may meet a dead platform: 0 with *status and *out, or -1. */
static int try_call(int port, const char *bearer, const char *method, const char *path,
                    const char *body_in, int *status, json_t **out) {
  *out = NULL;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
    close(fd);
    return -1;
  }
  mol_buf b = MOL_BUF_INIT;
  append_request_as(&b, port, bearer, method, path, body_in);
  int rc = send(fd, b.data, b.len, MSG_NOSIGNAL) == (ssize_t)b.len ? 0 : -1;
  b.len = 0;
  const char *body;
  size_t blen, total;
  while (!rc && !parse_response(&b, status, &body, &blen, &total)) {
    assert_int_equal(mol_buf_reserve(&b, 65536), 0);
    ssize_t n = recv(fd, b.data + b.len, 65536, 0);
    if (n <= 0) rc = -1;
    else b.len += (size_t)n;
  }
  if (!rc) *out = json_loadb(body, blen, 0, NULL);
  mol_buf_free(&b);
  close(fd);
  return rc;
}

static json_t *must(int port, const char *bearer, const char *method, const char *path,
                    const char *body, int want) {
  int status = 0;
  json_t *j = http_call_as(port, bearer, method, path, body, &status);
  if (status != want) fail_msg("%s %s: want %d, got %d", method, path, want, status);
  return j;
}

static void make_world(platform *p, int hang_port) {
  json_t *j = must(p->port, g_token, "POST", "/workspaces",
                   "{\"name\":\"coord\",\"external\":true}", 201);
  snprintf(A, sizeof A, "%s", json_string_value(json_object_get(j, "id")));
  snprintf(TA, sizeof TA, "%s",
           json_string_value(json_object_get(json_object_get(j, "connection"), "auth_token")));
  json_decref(j);
  j = must(p->port, g_token, "POST", "/workspaces", "{\"name\":\"hang\",\"external\":true}", 201);
  snprintf(B, sizeof B, "%s", json_string_value(json_object_get(j, "id")));
  char tb[128], body[512];
  snprintf(tb, sizeof tb, "%s",
           json_string_value(json_object_get(json_object_get(j, "connection"), "auth_token")));
  json_decref(j);
  /* B's URL accepts connections and never answers */
  snprintf(body, sizeof body, "{\"id\":\"%s\",\"url\":\"http://127.0.0.1:%d/\",\"agent_card\":{}}",
           B, hang_port);
  json_decref(must(p->port, tb, "POST", "/registry/register", body, 200));
  snprintf(body, sizeof body, "{\"id\":\"%s\",\"url\":\"remote://no-inbound\",\"agent_card\":{}}",
           A);
  json_decref(must(p->port, TA, "POST", "/registry/register", body, 200));
}

/* One iteration of the four kinds of writes; records each success. -1 once the platform is
 * gone. */
static int write_once(int port, int round, int i) {
  char path[256], body[512], key[64];
  int status;
  json_t *j;
  snprintf(path, sizeof path, "/workspaces/%s/memories", A);
  snprintf(body, sizeof body, "{\"content\":\"memo r%dx%d\",\"scope\":\"LOCAL\"}", round, i);
  if (try_call(port, TA, "POST", path, body, &status, &j)) return -1;
  if (status == 201) {
    char content[64];
    snprintf(content, sizeof content, "memo r%dx%d", round, i);
    json_object_set_new(g_mem, json_string_value(json_object_get(j, "id")), json_string(content));
  }
  json_decref(j);
  snprintf(path, sizeof path, "/workspaces/%s/memory", A);
  snprintf(key, sizeof key, "k%d", i % 7);
  snprintf(body, sizeof body, "{\"key\":\"%s\",\"value\":{\"r\":%d,\"i\":%d}}", key, round, i);
  if (try_call(port, TA, "POST", path, body, &status, &j)) return -1;
  if (status == 200) json_object_set(g_kv, key, json_object_get(j, "version"));
  json_decref(j);
  char did[40];
  snprintf(did, sizeof did, "00000000-0000-4000-8%03d-%012d", round, i);
  snprintf(path, sizeof path, "/workspaces/%s/delegations/record", A);
  snprintf(body, sizeof body, "{\"target_id\":\"%s\",\"task\":\"t%d\",\"delegation_id\":\"%s\"}", B,
           i, did);
  if (try_call(port, TA, "POST", path, body, &status, &j)) return -1;
  if (status == 202) json_object_set_new(g_del, did, json_true());
  json_decref(j);
  snprintf(path, sizeof path, "/workspaces/%s/approvals", A);
  snprintf(body, sizeof body, "{\"action\":\"act r%d i%d\"}", round, i);
  if (try_call(port, TA, "POST", path, body, &status, &j)) return -1;
  char appr[64] = "";
  if (status == 201) {
    snprintf(appr, sizeof appr, "%s", json_string_value(json_object_get(j, "approval_id")));
    json_object_set_new(g_appr, appr, json_string("pending"));
  }
  json_decref(j);
  if (appr[0] && i % 2 == 0) {
    snprintf(path, sizeof path, "/approvals/%s/decide", appr);
    if (try_call(port, g_token, "POST", path, "{\"decision\":\"approved\"}", &status, &j)) return -1;
    if (status == 200) json_object_set_new(g_appr, appr, json_string("approved"));
    json_decref(j);
  }
  return 0;
}

static pid_t killer(pid_t target) {
  unsigned delay = (unsigned)(rand() % KILL_WINDOW_MS);
  pid_t k = fork();
  assert_true(k >= 0);
  if (k == 0) {
    usleep(delay * 1000);
    kill(target, SIGKILL);
    _exit(0);
  }
  return k;
}

static json_t *rows(platform *p, const char *what) {
  char path[256];
  snprintf(path, sizeof path, "/workspaces/%s/%s", A, what);
  return must(p->port, TA, "GET", path, NULL, 200);
}

static json_t *row_by(json_t *list, const char *field, const char *id) {
  size_t i;
  json_t *row;
  json_array_foreach(list, i, row) {
    const char *v = json_string_value(json_object_get(row, field));
    if (v && !strcmp(v, id)) return row;
  }
  return NULL;
}

static size_t check_all(platform *p, const char *inflight) {
  size_t missing = 0;
  const char *id;
  json_t *v;
  json_object_foreach(g_mem, id, v) {
    char path[256];
    snprintf(path, sizeof path, "/workspaces/%s/memories?q=%.20s&limit=50", A,
             strchr(json_string_value(v), ' ') + 1);
    json_t *list = must(p->port, TA, "GET", path, NULL, 200);
    if (!row_by(list, "id", id)) missing++, fprintf(stderr, "memory %s missing\n", id);
    json_decref(list);
  }
  json_object_foreach(g_kv, id, v) {
    char path[256];
    snprintf(path, sizeof path, "/workspaces/%s/memory/%s", A, id);
    json_t *e = must(p->port, TA, "GET", path, NULL, 200);
    if (json_integer_value(json_object_get(e, "version")) < json_integer_value(v))
      missing++, fprintf(stderr, "key %s lost its version\n", id);
    json_decref(e);
  }
  json_t *dels = rows(p, "delegations");
  json_object_foreach(g_del, id, v) if (!row_by(dels, "delegation_id", id))
      missing++, fprintf(stderr, "delegation %s missing\n", id);
  json_t *row = inflight[0] ? row_by(dels, "delegation_id", inflight) : NULL;
  if (inflight[0]) {
    assert_non_null(row);
    assert_string_equal(json_string_value(json_object_get(row, "status")), "failed");
    assert_non_null(strstr(json_string_value(json_object_get(row, "error")), "platform stopped"));
  }
  json_decref(dels);
  json_t *apprs = rows(p, "approvals");
  json_object_foreach(g_appr, id, v) {
    json_t *a = row_by(apprs, "id", id);
    if (!a) missing++, fprintf(stderr, "approval %s missing\n", id);
    else if (!strcmp(json_string_value(v), "approved") &&
             strcmp(json_string_value(json_object_get(a, "status")), "approved"))
      missing++, fprintf(stderr, "approval %s lost its decision\n", id);
  }
  json_decref(apprs);
  return missing;
}

static void test_tool_tables_survive_kill9(void **state) {
  (void)state;
  unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
  srand(seed);
  fprintf(stderr, "seed %u\n", seed);
  int hang = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in ha = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(hang, (struct sockaddr *)&ha, sizeof ha), 0);
  assert_int_equal(listen(hang, 64), 0); /* never accepted: the dispatch hangs */
  socklen_t hl = sizeof ha;
  getsockname(hang, (struct sockaddr *)&ha, &hl);
  g_mem = json_object();
  g_kv = json_object();
  platform p;
  size_t missing = 0;
  char inflight[64] = "";
  for (int round = 0; round <= ROUNDS; round++) {
    platform_start(&p, g_db, 0);
    if (round == 0) {
      read_admin_token(g_db);
      make_world(&p, ntohs(ha.sin_port));
    } else {
      missing += check_all(&p, inflight);
      json_decref(g_del);
      json_decref(g_appr);
    }
    if (round == ROUNDS) {
      int st = platform_stop(&p, SIGTERM);
      assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
      break;
    }
    g_del = json_object();
    g_appr = json_object();
    /* a delegation the platform runs, to the target that never answers */
    char path[256], body[256];
    snprintf(path, sizeof path, "/workspaces/%s/delegate", A);
    snprintf(body, sizeof body, "{\"target_id\":\"%s\",\"task\":\"hang r%d\"}", B, round);
    json_t *j = must(p.port, TA, "POST", path, body, 202);
    snprintf(inflight, sizeof inflight, "%s",
             json_string_value(json_object_get(j, "delegation_id")));
    json_decref(j);
    pid_t k = killer(p.pid);
    int i = 0;
    while (i < PER_ROUND && write_once(p.port, round, i) == 0) i++;
    int st = platform_stop(&p, SIGKILL);
    waitpid(k, NULL, 0);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    fprintf(stderr, "round %d: %d iterations before kill -9\n", round, i);
  }
  json_decref(g_mem);
  json_decref(g_kv);
  close(hang);
  if (missing) fail_msg("%zu acknowledged writes lost over %d kill -9 rounds", missing, ROUNDS);
}

static int setup(void **state) {
  (void)state;
  snprintf(g_dir, sizeof g_dir, "/tmp/moldpcrasht-XXXXXX");
  if (!mkdtemp(g_dir)) return -1;
  snprintf(g_db, sizeof g_db, "%s/p.db", g_dir);
  signal(SIGPIPE, SIG_IGN);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
  return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tool_tables_survive_kill9),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
