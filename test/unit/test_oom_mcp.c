/* test_oom_mcp.c - an MCP session when an allocation fails (failalloc.h): opening it,
 * initialize, tools/list, a tools/call run on the loop, and close, with the 1st, 2nd, ...
 * allocation failing. Every message gets its answer exactly once (or the feed says
 * MOL_ENOMEM and none comes); an answer is either right or an internal error (-32603, or a
 * tool result marked isError), never a partial list or a wrong text; nothing leaks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "failalloc.h"
#include "mcp/session.h"
#include "mcp/toolset.h"
#include "molecule.h"

static const int nomem[] = {MOL_ENOMEM, 0};
static uv_loop_t loop;
static mol_tool_env env;
static mol_tools *reg;

/* The answers, kept as text in a fixed buffer: parsing them here would allocate inside the
 * sweep, and jansson's reader does not fail cleanly (below). */
typedef struct {
  int n;          /* answers so far */
  int none;       /* the last one came without a body */
  char last[8192];
} answers;

static void on_answer(void *ctx, const char *json, size_t len, void *arg) {
  (void)ctx;
  answers *a = arg;
  a->n++;
  a->none = !json;
  a->last[0] = '\0';
  if (!json) return;
  assert_int_equal(strlen(json), len);
  assert_true(len < sizeof(a->last));
  memcpy(a->last, json, len + 1);
}

static int count(const char *s, const char *what) {
  int n = 0;
  for (const char *p = s; (p = strstr(p, what)); p++) n++;
  return n;
}

static void on_closed(void *arg) { (*(int *)arg)++; }

/* The messages, parsed before the sweep: jansson 2.14's reader cuts a string short when its
 * buffer cannot grow (its lexer ignores the failure), so a text read while memory runs out
 * may be a different message; the session is tested on the values it is given. */
enum { M_INIT, M_INITIALIZED, M_LIST, M_CALL, M_N };
static json_t *msgs[M_N];

/* Feeds msg; 1 when its answer came and is a result, 0 when it is an internal error or the
 * feed ran out of memory (then no answer came). */
static int exchange(mol_mcp_session *s, answers *a, int msg, int run_loop) {
  mol_mcp_feed_info info;
  int before = a->n;
  int rc = mol_mcp_session_feed_json(s, msgs[msg], NULL, &info);
  if (rc) {
    assert_int_equal(rc, MOL_ENOMEM);
    assert_int_equal(a->n, before);
    return 0;
  }
  assert_int_equal(info.answer, 1);
  if (run_loop) uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(a->n, before + 1); /* exactly once */
  assert_false(a->none);
  if (strstr(a->last, "\"error\":")) { /* compact JSON, as the session writes it */
    if (!strstr(a->last, "\"code\":-32603")) fail_msg("answered %s", a->last);
    return 0;
  }
  assert_non_null(strstr(a->last, "\"result\":"));
  return 1;
}

typedef struct {
  size_t ntools, page; /* page 0: all in one */
} life_case;

static int session_life(void *arg) {
  const life_case *c = arg;
  static answers a; /* 8 KiB: not on the stack of every run */
  memset(&a, 0, sizeof(a));
  mol_mcp_session_opts o = {.tools = reg, .title = "OOM", .instructions = "test",
                            .page_size = c->page};
  mol_mcp_session *s = NULL;
  int rc = mol_mcp_session_new(&o, on_answer, &a, &s);
  if (rc) return rc;
  int ok = exchange(s, &a, M_INIT, 0);
  if (ok) {
    assert_non_null(strstr(a.last, "\"protocolVersion\":\"" MCP_LATEST_VERSION "\""));
    assert_non_null(strstr(a.last, "\"instructions\":\"test\""));
    mol_mcp_feed_info info;
    int nrc = mol_mcp_session_feed_json(s, msgs[M_INITIALIZED], NULL, &info);
    ok = nrc == 0;
    if (nrc) assert_int_equal(nrc, MOL_ENOMEM);
  }
  if (ok && (ok = exchange(s, &a, M_LIST, 0))) {
    size_t want = c->page ? c->page : c->ntools; /* never a shorter page */
    if (count(a.last, "\"inputSchema\":") != (int)want) fail_msg("listed: %s", a.last);
    if (c->page) /* nor one without the cursor to the next */
      assert_non_null(strstr(a.last, "\"nextCursor\":\"3\""));
  }
  if (ok && (ok = exchange(s, &a, M_CALL, 1))) {
    if (strstr(a.last, "\"isError\":true")) ok = 0; /* the tool could not run */
    else assert_non_null(strstr(a.last, "\"text\":\"hi there\""));
  }
  int closed = 0;
  mol_mcp_session_close(s, 1, on_closed, &closed);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(closed, 1);
  return ok ? 0 : MOL_ENOMEM;
}

static void session(void **st) {
  (void)st;
  life_case c = {mol_tools_count(reg), 0};
  assert_true(c.ntools > 3);
  assert_true(failalloc_sweep("mcp session", session_life, &c, nomem) > 10);
  c.page = 3;
  assert_true(failalloc_sweep("mcp session, pages of 3", session_life, &c, nomem) > 10);
}

int main(void) {
  failalloc_init();
  uv_loop_init(&loop);
  env.loop = &loop;
  reg = mol_tools_new(&env);
  if (!reg || mol_mcp_test_tools_add(reg)) return 1;
  static const char *const texts[M_N] = {
      ("{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
       "\"" MCP_LATEST_VERSION "\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}"),
      "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}",
      ("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\","
       "\"arguments\":{\"text\":\"hi there\"}}}"),
  };
  for (int i = 0; i < M_N; i++)
    if (!(msgs[i] = json_loads(texts[i], 0, NULL))) return 1;
  const struct CMUnitTest tests[] = {cmocka_unit_test(session)};
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  for (int i = 0; i < M_N; i++) json_decref(msgs[i]);
  mol_tools_free(reg);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return rc;
}
