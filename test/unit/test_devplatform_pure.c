/* Pure parts of the dev platform, no sockets: SSRF classification, the rate limiter, tokens,
 * times, bearer and query parsing, the SQLite store's migrations. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "devplatform/dp_int.h"
#include "molecule.h"

static int addr_ok(const char *ip, int dev) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  if (strchr(ip, ':')) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    s6->sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
  } else {
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    s4->sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
  }
  return mol_dp__ssrf_addr_ok((struct sockaddr *)&ss, dev);
}

static void test_ssrf_addresses(void **state) {
  (void)state;
  static const char *const always_blocked[] = {
      "169.254.169.254", "0.0.0.0", "100.64.0.1", "192.0.2.5", "198.51.100.7", "203.0.113.9",
      "224.0.0.1", "255.255.255.255", "10.0.0.1", "172.16.5.4", "172.31.255.255", "192.168.0.1",
      "::", "fe80::1", "fc00::1", "fd00::1", "ff02::1", "2001:db8::1", "::ffff:10.0.0.1",
      "::ffff:169.254.169.254", "192.0.0.8", "198.18.0.1", "198.19.255.255", "100::1", NULL};
  for (int i = 0; always_blocked[i]; i++) {
    assert_false(addr_ok(always_blocked[i], 0));
    assert_false(addr_ok(always_blocked[i], 1));
  }
  static const char *const loopback[] = {"127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1", NULL};
  for (int i = 0; loopback[i]; i++) {
    assert_false(addr_ok(loopback[i], 0));
    assert_true(addr_ok(loopback[i], 1));
  }
  static const char *const public_ok[] = {"8.8.8.8", "172.32.0.1", "192.0.1.1", "198.20.0.1",
                                             "2606:4700::1111", NULL};
  for (int i = 0; public_ok[i]; i++) assert_true(addr_ok(public_ok[i], 0));
}

/* IPv6 forms that carry an IPv4 address are judged by that address. A loopback IPv4 reached
 * through a translator or tunnel is the translator's loopback, not ours: refused even in dev.
 * Only the mapped form (::ffff:a.b.c.d) is this host's own IPv4 stack. */
typedef struct {
  const char *addr;
  int ok_prod, ok_dev;
} embed_case;

static const embed_case embedded_v4[] = {
    /* IPv4-compatible ::/96 (deprecated, RFC 4291) */
    {"::10.0.0.1", 0, 0},
    {"::169.254.169.254", 0, 0},
    {"::127.0.0.1", 0, 0},
    {"::192.168.1.1", 0, 0},
    {"::8.8.8.8", 1, 1},
    /* IPv4-mapped ::ffff:0:0/96: this host's own IPv4 */
    {"::ffff:10.0.0.1", 0, 0},
    {"::ffff:a9fe:a9fe", 0, 0},
    {"::ffff:127.0.0.1", 0, 1},
    {"::ffff:8.8.8.8", 1, 1},
    /* IPv4-translated ::ffff:0:0:0/96 (RFC 2765) */
    {"::ffff:0:10.0.0.1", 0, 0},
    {"::ffff:0:169.254.169.254", 0, 0},
    {"::ffff:0:8.8.8.8", 1, 1},
    /* NAT64 well-known prefix 64:ff9b::/96 (RFC 6052) */
    {"64:ff9b::a9fe:a9fe", 0, 0},
    {"64:ff9b::10.0.0.1", 0, 0},
    {"64:ff9b::127.0.0.1", 0, 0},
    {"64:ff9b::100.64.0.1", 0, 0},
    {"64:ff9b::8.8.8.8", 1, 1},
    /* local-use NAT64 64:ff9b:1::/48 (RFC 8215): not globally reachable, and where the IPv4
     * sits depends on the operator's prefix length, so the whole block is refused */
    {"64:ff9b:1::a9fe:a9fe", 0, 0},
    {"64:ff9b:1::10.0.0.1", 0, 0},
    {"64:ff9b:1:a:0:800::", 0, 0}, /* 10.0.0.8 under a /64 prefix */
    {"64:ff9b:1::8.8.8.8", 0, 0},
    /* other 64:ff9b::/32 addresses are unassigned */
    {"64:ff9b:0:1::8.8.8.8", 0, 0},
    /* 6to4 2002::/16: IPv4 in bits 16-47 */
    {"2002:a00:1::1", 0, 0},
    {"2002:a9fe:a9fe::", 0, 0},
    {"2002:7f00:1::1", 0, 0},
    {"2002:c0a8:101::1", 0, 0},
    {"2002:808:808::1", 1, 1},
    /* Teredo 2001::/32: server IPv4 in bits 32-63, client IPv4 = last 32 bits xor 0xffffffff */
    {"2001:0:4136:e378:8000:63bf:f5ff:fffe", 0, 0}, /* client 10.0.0.1 */
    {"2001:0:4136:e378:8000:63bf:5601:5601", 0, 0}, /* client 169.254.169.254 */
    {"2001:0:4136:e378:8000:63bf:80ff:fffe", 0, 0}, /* client 127.0.0.1 */
    {"2001:0:a00:1:8000:63bf:f7f7:f7f7", 0, 0},     /* server 10.0.0.1 */
    {"2001:0:a9fe:a9fe:8000:63bf:f7f7:f7f7", 0, 0}, /* server 169.254.169.254 */
    {"2001:0:4136:e378:8000:63bf:f7f7:f7f7", 1, 1}, /* both public (client 8.8.8.8) */
    /* neighbours of the forms above that are ordinary global unicast */
    {"2001:4860:4860::8888", 1, 1},
    {"2003:a00:1::1", 1, 1},
    /* outside global unicast 2000::/3: reserved, discard-only, ... */
    {"100::1", 0, 0},
    {"::2", 0, 0},
    {"4000::1", 0, 0},
    {NULL, 0, 0},
};

static void test_ssrf_embedded_ipv4(void **state) {
  (void)state;
  char url[128], host[256];
  int wrong = 0;
  for (const embed_case *t = embedded_v4; t->addr; t++) {
    for (int dev = 0; dev < 2; dev++) {
      int want = dev ? t->ok_dev : t->ok_prod;
      /* the address as resolved, and as a URL literal at register and at dispatch time */
      snprintf(url, sizeof url, "http://[%s]:8000/a2a", t->addr);
      int got_addr = addr_ok(t->addr, dev), got_reg = mol_dp__ssrf_register_ok(url, dev);
      int got_url = mol_dp__ssrf_url(url, dev, host) == MOL_DP__SSRF_OK;
      if (got_addr != want || got_reg != want || got_url != want) {
        print_error("%-40s dev=%d: want %s, got address %d register %d dispatch %d\n", t->addr,
                    dev, want ? "allowed" : "refused", got_addr, got_reg, got_url);
        wrong++;
      }
    }
  }
  assert_int_equal(wrong, 0);
}

static void test_ssrf_urls(void **state) {
  (void)state;
  char host[256];
  assert_int_equal(mol_dp__ssrf_url("http://127.0.0.1:9/", 0, host), MOL_DP__SSRF_BLOCKED);
  assert_int_equal(mol_dp__ssrf_url("http://127.0.0.1:9/", 1, host), MOL_DP__SSRF_OK);
  assert_int_equal(mol_dp__ssrf_url("http://localhost:9/", 0, host), MOL_DP__SSRF_BLOCKED);
  assert_int_equal(mol_dp__ssrf_url("http://localhost:9/", 1, host), MOL_DP__SSRF_OK);
  assert_int_equal(mol_dp__ssrf_url("http://[::1]:9/", 1, host), MOL_DP__SSRF_OK);
  assert_int_equal(mol_dp__ssrf_url("https://agent.example.com/a2a", 0, host),
                   MOL_DP__SSRF_RESOLVE);
  assert_string_equal(host, "agent.example.com");
  assert_int_equal(mol_dp__ssrf_url("ftp://x/", 1, host), MOL_DP__SSRF_BADURL);
  assert_int_equal(mol_dp__ssrf_url("http://user@x/", 1, host), MOL_DP__SSRF_BADURL);
  /* register time: loopback literals only in dev; names pass (resolved at dispatch) */
  assert_false(mol_dp__ssrf_register_ok("http://127.0.0.1:1/", 0));
  assert_true(mol_dp__ssrf_register_ok("http://127.0.0.1:1/", 1));
  assert_true(mol_dp__ssrf_register_ok("http://localhost:1/", 0));
  assert_false(mol_dp__ssrf_register_ok("http://10.0.0.1/", 1));
  assert_false(mol_dp__ssrf_register_ok("not a url", 1));
}

static void test_rate_limiter(void **state) {
  (void)state;
  mol_dp__ratelimit rl;
  mol_dp__rl_verdict v;
  mol_dp__rl_init(&rl, 2, 1000, 2);
  mol_dp__rl_check(&rl, "1.1.1.1", 10000, &v);
  assert_true(v.allowed);
  assert_int_equal(v.remaining, 1);
  assert_int_equal(v.reset_s, 1);
  mol_dp__rl_check(&rl, "1.1.1.1", 10100, &v);
  assert_true(v.allowed);
  assert_int_equal(v.remaining, 0);
  mol_dp__rl_check(&rl, "1.1.1.1", 10200, &v);
  assert_false(v.allowed);
  assert_int_equal(v.reset_s, 1);
  mol_dp__rl_check(&rl, "2.2.2.2", 10200, &v); /* other clients have their own bucket */
  assert_true(v.allowed);
  mol_dp__rl_check(&rl, "1.1.1.1", 11000, &v); /* window elapsed: full refill */
  assert_true(v.allowed);
  assert_int_equal(v.remaining, 1);
  /* bounded table: a third key evicts, never grows past max_buckets */
  mol_dp__rl_check(&rl, "3.3.3.3", 11000, &v);
  assert_true(v.allowed);
  assert_true(rl.nbuckets <= 2);
  mol_dp__rl_free(&rl);
  mol_dp__rl_init(&rl, -1, 0, 0);
  for (int i = 0; i < 1000; i++) mol_dp__rl_check(&rl, "x", (uint64_t)i, &v);
  assert_true(v.allowed);
  assert_int_equal(v.limit, -1);
  mol_dp__rl_free(&rl);
}

static void test_tokens_and_ids(void **state) {
  (void)state;
  char a[MOL_DP__TOKEN_LEN + 1], b[MOL_DP__TOKEN_LEN + 1];
  assert_int_equal(mol_dp__token_new(a), 0);
  assert_int_equal(mol_dp__token_new(b), 0);
  assert_int_equal(strlen(a), 43);
  assert_string_not_equal(a, b);
  for (const char *p = a; *p; p++)
    assert_true((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                (*p >= '0' && *p <= '9') || *p == '-' || *p == '_');
  assert_true(mol_dp__is_uuid("0a1b2c3d-0000-4000-8000-00000000abcd"));
  assert_false(mol_dp__is_uuid("0A1B2C3D-0000-4000-8000-00000000ABCD"));
  assert_false(mol_dp__is_uuid("0a1b2c3d00004000800000000000abcd"));
  assert_false(mol_dp__is_uuid(NULL));
  char tok[64];
  assert_true(mol_dp__bearer("Bearer  abc \t", tok, sizeof tok));
  assert_string_equal(tok, "abc");
  assert_false(mol_dp__bearer("bearer abc", tok, sizeof tok));
  assert_false(mol_dp__bearer("Bearer ", tok, sizeof tok));
  assert_false(mol_dp__bearer(NULL, tok, sizeof tok));
  char small[4];
  assert_true(mol_dp__bearer("Bearer abcdefgh", small, sizeof small)); /* present, truncated */
  assert_string_equal(small, "abc");
}

static void test_times(void **state) {
  (void)state;
  int64_t ms;
  char out[32];
  assert_int_equal(mol_dp__parse_rfc3339("2026-01-02T03:04:05Z", &ms), 0);
  assert_int_equal(ms, 1767323045000LL);
  assert_int_equal(mol_dp__parse_rfc3339("2026-01-02T03:04:05.250+01:00", &ms), 0);
  assert_int_equal(ms, 1767323045000LL - 3600000 + 250);
  mol_dp__rfc3339(1767323045123LL, out);
  assert_string_equal(out, "2026-01-02T03:04:05.123Z");
  assert_int_not_equal(mol_dp__parse_rfc3339("2026-13-02T03:04:05Z", &ms), 0);
  assert_int_not_equal(mol_dp__parse_rfc3339("yesterday", &ms), 0);
  assert_int_not_equal(mol_dp__parse_rfc3339("2026-01-02T03:04:05", &ms), 0);
}

static void test_query(void **state) {
  (void)state;
  mol_dp__call c;
  memset(&c, 0, sizeof c);
  c.query = "type=a2a_receive&since_id=ab%2Dcd&flag&bad=%zz&q=a+b";
  char v[64];
  assert_true(mol_dp__query_get(&c, "type", v, sizeof v));
  assert_string_equal(v, "a2a_receive");
  assert_true(mol_dp__query_get(&c, "since_id", v, sizeof v));
  assert_string_equal(v, "ab-cd");
  assert_true(mol_dp__query_get(&c, "flag", v, sizeof v));
  assert_string_equal(v, "");
  assert_int_equal(mol_dp__query_get(&c, "bad", v, sizeof v), -1);
  assert_true(mol_dp__query_get(&c, "q", v, sizeof v));
  assert_string_equal(v, "a b");
  assert_false(mol_dp__query_get(&c, "missing", v, sizeof v));
}

static void test_message_text(void **state) {
  (void)state;
  json_t *req = json_loads("{\"params\":{\"message\":{\"parts\":[{\"kind\":\"text\",\"text\":\"a\"},"
                           "{\"type\":\"text\",\"text\":\"b\"},{\"kind\":\"file\",\"text\":\"x\"},"
                           "{\"text\":\"c\"}]}}}", 0, NULL);
  char *t = mol_dp__message_text(req);
  assert_string_equal(t, "abc");
  free(t);
  json_decref(req);
  req = json_loads("{\"message\":\"note\"}", 0, NULL);
  t = mol_dp__message_text(req);
  assert_string_equal(t, "note");
  free(t);
  json_decref(req);
}

/* A database at schema v2 (as the previous release left it) walks up to v3 and keeps its rows. */
static void test_store_v2_to_v3(void **state) {
  (void)state;
  char dir[] = "/tmp/moldevp-unit-XXXXXX", path[128];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/s.db", dir);
  uv_loop_t loop;
  uv_loop_init(&loop);
  mol_dp__store s;
  assert_int_equal(mol_dp__store_open(&s, &loop, path), 0);
  assert_int_equal(mol_dp__store_close(&s, NULL), 1);
  uv_run(&loop, UV_RUN_DEFAULT);
  sqlite3 *db;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db,
                                "ALTER TABLE approvals DROP COLUMN decision_reason;"
                                "DROP TABLE platform_instructions;"
                                "INSERT INTO approvals(id,workspace_id,action,status,created_at)"
                                " VALUES('a1','w1','deploy','pending',1);"
                                "PRAGMA user_version=2;",
                                NULL, NULL, NULL),
                   SQLITE_OK);
  sqlite3_close(db);
  assert_int_equal(mol_dp__store_open(&s, &loop, path), 0);
  sqlite3_stmt *st = mol_dp__stmt(&s, MOL_DP__ST_APPR_LIST);
  assert_non_null(st);
  mol_dp__bind_text(st, 1, "w1");
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_string_equal(mol_dp__col_text(st, 0), "a1");
  assert_null(mol_dp__col_text(st, 8)); /* decision_reason, added by v3 */
  sqlite3_reset(st);
  assert_non_null(mol_dp__stmt(&s, MOL_DP__ST_INSTR_RESOLVE));
  assert_int_equal(mol_dp__store_close(&s, NULL), 1);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

static void test_store_migrations(void **state) {
  (void)state;
  char dir[] = "/tmp/moldevp-unit-XXXXXX", path[128];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/s.db", dir);
  uv_loop_t loop;
  uv_loop_init(&loop);
  for (int round = 0; round < 2; round++) { /* the second open finds the schema in place */
    mol_dp__store s;
    assert_int_equal(mol_dp__store_open(&s, &loop, path), 0);
    assert_int_equal(mol_dp__store_write_begin(&s), 0);
    sqlite3_stmt *st = mol_dp__stmt(&s, MOL_DP__ST_SEC_PUT);
    assert_non_null(st);
    mol_dp__bind_text(st, 1, "");
    mol_dp__bind_text(st, 2, round ? "K2" : "K1");
    mol_dp__bind_text(st, 3, "v");
    sqlite3_bind_int64(st, 4, 1);
    assert_int_equal(mol_dp__exec_stmt(&s, st), 0);
    mol_dp__store_commit(&s);
    st = mol_dp__stmt(&s, MOL_DP__ST_SEC_VALUES);
    mol_dp__bind_text(st, 1, "none");
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) n++;
    sqlite3_reset(st);
    assert_int_equal(n, round + 1);
    /* WAL is on */
    sqlite3_stmt *jm;
    sqlite3_prepare_v2(s.db, "PRAGMA journal_mode", -1, &jm, NULL);
    assert_int_equal(sqlite3_step(jm), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(jm, 0), "wal");
    sqlite3_finalize(jm);
    assert_int_equal(mol_dp__store_close(&s, NULL), 1);
    uv_run(&loop, UV_RUN_DEFAULT);
  }
  assert_int_equal(uv_loop_close(&loop), 0);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ssrf_addresses), cmocka_unit_test(test_ssrf_urls),
      cmocka_unit_test(test_ssrf_embedded_ipv4),
      cmocka_unit_test(test_rate_limiter),   cmocka_unit_test(test_tokens_and_ids),
      cmocka_unit_test(test_times),          cmocka_unit_test(test_query),
      cmocka_unit_test(test_message_text),   cmocka_unit_test(test_store_migrations),
      cmocka_unit_test(test_store_v2_to_v3),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
