/* test_bench_pure.c - the pure parts of the load generator (src/bench): the histogram's
 * buckets and percentiles, the open-loop schedule, the workload mix, the request bodies (read
 * back by the server's own codec), the card endpoints, and the reply checks - the DOM-free one
 * agreeing with the codec wherever it accepts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a2a/codec.h"
#include "bench/check.h"
#include "bench/hist.h"
#include "bench/schedule.h"
#include "bench/stats.h"
#include "bench/wire.h"
#include "molecule.h"

/* ---- histogram ------------------------------------------------------------------------------ */

static void buckets_hold_their_values(void **state) {
  (void)state;
  uint64_t probes[] = {0, 1, 255, 256, 257, 511, 512, 1000, 65535, 65536, 999999937ull,
                       (1ull << 40) + 12345, UINT64_MAX - 1, UINT64_MAX};
  for (size_t i = 0; i < sizeof(probes) / sizeof(*probes); i++) {
    uint64_t v = probes[i];
    size_t b = mol_bench_hist_index(v);
    assert_true(b < MOL_BENCH_HIST_BUCKETS);
    assert_true(mol_bench_hist_bucket_low(b) <= v);
    assert_true(mol_bench_hist_bucket_high(b) >= v);
    /* never wider than 1/128 of what it holds */
    uint64_t width = mol_bench_hist_bucket_high(b) - mol_bench_hist_bucket_low(b);
    assert_true(width <= mol_bench_hist_bucket_low(b) / 128);
  }
  /* consecutive buckets tile the line: each starts one past the previous end */
  for (size_t b = 1; b < MOL_BENCH_HIST_BUCKETS; b++)
    assert_true(mol_bench_hist_bucket_low(b) == mol_bench_hist_bucket_high(b - 1) + 1);
  assert_int_equal(mol_bench_hist_index(UINT64_MAX), MOL_BENCH_HIST_BUCKETS - 1);
}

static void percentiles_of_a_known_spread(void **state) {
  (void)state;
  mol_bench_hist *h = malloc(sizeof(*h));
  mol_bench_hist_init(h);
  assert_int_equal(mol_bench_hist_percentile(h, 99), 0);
  /* 1..100000 us, in ns */
  for (uint64_t i = 100000; i >= 1; i--) mol_bench_hist_record(h, i * 1000);
  struct { double p; uint64_t exact; } want[] = {{50, 50000000}, {90, 90000000}, {99, 99000000},
                                                 {99.9, 99900000}, {100, 100000000}};
  for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++) {
    uint64_t got = mol_bench_hist_percentile(h, want[i].p);
    assert_true(got >= want[i].exact);                            /* never under-states */
    assert_true((double)got <= (double)want[i].exact * 1.008 + 1); /* within a bucket */
  }
  assert_int_equal(h->min, 1000);
  assert_int_equal(h->max, 100000000);
  assert_int_equal(h->count, 100000);
  free(h);
}

static void a_tail_shows_in_p99(void **state) {
  (void)state;
  mol_bench_hist *h = malloc(sizeof(*h)), *a = malloc(sizeof(*a));
  mol_bench_hist_init(h);
  mol_bench_hist_init(a);
  for (int i = 0; i < 980; i++) mol_bench_hist_record(h, 1000000);   /* 1 ms */
  for (int i = 0; i < 20; i++) mol_bench_hist_record(a, 200000000);  /* 200 ms: 2 % */
  mol_bench_hist_merge(h, a);
  assert_int_equal(h->count, 1000);
  assert_true(mol_bench_hist_percentile(h, 50) < 1010000);
  assert_true(mol_bench_hist_percentile(h, 97.9) < 1010000);
  assert_true(mol_bench_hist_percentile(h, 99) >= 200000000);
  assert_int_equal(mol_bench_hist_percentile(h, 100), 200000000);
  free(h);
  free(a);
}

/* ---- schedule and mix ----------------------------------------------------------------------- */

static void open_loop_schedule(void **state) {
  (void)state;
  mol_bench_sched s = {.start_ns = 5000000000ull, .rate = 1000};
  assert_int_equal(mol_bench_sched_at(&s, 0), 5000000000ull);
  assert_int_equal(mol_bench_sched_at(&s, 1), 5001000000ull);
  assert_int_equal(mol_bench_sched_at(&s, 1000), 6000000000ull);
  assert_int_equal(mol_bench_sched_due(&s, 4999999999ull), 0);
  assert_int_equal(mol_bench_sched_due(&s, 5000000000ull), 1);
  assert_int_equal(mol_bench_sched_due(&s, 5000999999ull), 1);
  assert_int_equal(mol_bench_sched_due(&s, 5001000000ull), 2);
  /* a late loop catches up: every slot that fell due is counted, none twice */
  assert_int_equal(mol_bench_sched_due(&s, 5250500000ull), 251);
  s.limit = 100;
  assert_int_equal(mol_bench_sched_due(&s, 9000000000ull), 100);
  /* a fractional rate; due and at always agree */
  mol_bench_sched f = {.start_ns = 0, .rate = 3};
  assert_int_equal(mol_bench_sched_at(&f, 3), 1000000000ull);
  for (uint64_t t = 0; t < 5000000000ull; t += 33333331) {
    uint64_t n = mol_bench_sched_due(&f, t);
    assert_true(n >= 1 && mol_bench_sched_at(&f, n - 1) <= t && mol_bench_sched_at(&f, n) > t);
  }
}

static void weighted_mix(void **state) {
  (void)state;
  mol_bench_mix m;
  int w[4] = {3, 0, 1, 0}, count[4] = {0};
  assert_int_equal(mol_bench_mix_init(&m, w, 4), 0);
  for (int i = 0; i < 400; i++) count[mol_bench_mix_next(&m)]++;
  assert_int_equal(count[0], 300);
  assert_int_equal(count[1], 0);
  assert_int_equal(count[2], 100);
  /* smooth: never more than 3 of the heavy one in a row */
  mol_bench_mix_init(&m, w, 4);
  int run = 0, longest = 0;
  for (int i = 0; i < 40; i++) {
    run = mol_bench_mix_next(&m) == 0 ? run + 1 : 0;
    if (run > longest) longest = run;
  }
  assert_int_equal(longest, 3);
  int none[2] = {0, 0}, neg[2] = {1, -1};
  assert_int_equal(mol_bench_mix_init(&m, none, 2), MOL_EINVAL);
  assert_int_equal(mol_bench_mix_init(&m, neg, 2), MOL_EINVAL);
}

/* ---- request bodies, read back by the server's codec ---------------------------------------- */

static void bodies_parse_on_the_server(void **state) {
  (void)state;
  mol_buf b = MOL_BUF_INIT;
  char *text = mol_bench_json_string("say \"hi\"\n", 9);
  assert_string_equal(text, "\"say \\\"hi\\\"\\n\"");
  for (int v = 0; v < 2; v++) {
    mol_bench_binding bind = v ? MOL_BENCH_JSONRPC_V10 : MOL_BENCH_JSONRPC_V03;
    for (int variant = 0; variant < 3; variant++) {
      mol_bench_send s = {.rpc_id = "r-1", .message_id = "m-1", .text_json = text,
                          .context_id = variant ? "ctx-9" : NULL, .stream = variant == 2,
                          .return_immediately = variant == 1};
      assert_int_equal(mol_bench_body_send(&b, bind, &s), 0);
      mol_a2a_request req;
      assert_int_equal(mol_a2a_request_parse(b.data, b.len, v ? "1.0" : NULL, &req), 0);
      assert_int_equal(req.method, variant == 2 ? MOL_A2A_M_STREAM : MOL_A2A_M_SEND);
      assert_int_equal(req.config.blocking, variant != 1);
      size_t idlen;
      assert_memory_equal(mol_a2a_request_id(&req, &idlen), "\"r-1\"", 5);
      char *got = mol_a2a_cmsg_text(req.message);
      assert_string_equal(got, "say \"hi\"\n");
      free(got);
      mol_a2a_request_free(&req);
    }
    assert_int_equal(mol_bench_body_get(&b, bind, "r-2", "task \"7\""), 0);
    mol_a2a_request req;
    assert_int_equal(mol_a2a_request_parse(b.data, b.len, v ? "1.0" : NULL, &req), 0);
    assert_int_equal(req.method, MOL_A2A_M_GET);
    assert_string_equal(req.task_id, "task \"7\"");
    mol_a2a_request_free(&req);
  }
  /* HTTP+JSON: the params alone, to /message:send, /message:stream, GET /tasks/<id> */
  mol_bench_send s = {.message_id = "m-1", .text_json = text};
  assert_int_equal(mol_bench_body_send(&b, MOL_BENCH_HTTP_JSON, &s), 0);
  assert_string_equal(b.data, "{\"message\":{\"messageId\":\"m-1\",\"role\":\"ROLE_USER\",\"parts\":[{\"text\":\"say \\\"hi\\\"\\n\"}]}}");
  assert_int_equal(mol_bench_url(&b, MOL_BENCH_HTTP_JSON, "http://h/a2a/", 1, NULL), 0);
  assert_string_equal(b.data, "http://h/a2a/message:stream");
  assert_int_equal(mol_bench_url(&b, MOL_BENCH_HTTP_JSON, "http://h", 0, "a/b c"), 0);
  assert_string_equal(b.data, "http://h/tasks/a%2Fb%20c");
  assert_string_equal(mol_bench_method(MOL_BENCH_HTTP_JSON, "t"), "GET");
  assert_string_equal(mol_bench_method(MOL_BENCH_JSONRPC_V03, "t"), "POST");
  assert_null(mol_bench_json_string("\xff", 1)); /* not UTF-8 */
  free(text);
  mol_buf_free(&b);
}

static void card_endpoints(void **state) {
  (void)state;
  json_t *ours = json_loads("{\"name\":\"echo\",\"url\":\"http://a/\",\"supportedInterfaces\":["
                            "{\"url\":\"http://a/\",\"protocolBinding\":\"JSONRPC\",\"protocolVersion\":\"1.0\"}]}", 0, NULL);
  json_t *js = json_loads("{\"name\":\"js\",\"supportedInterfaces\":["
                          "{\"url\":\"http://j/v1\",\"protocolBinding\":\"JSONRPC\",\"protocolVersion\":\"1.0\"},"
                          "{\"url\":\"http://j/rest\",\"protocolBinding\":\"HTTP+JSON\",\"protocolVersion\":\"1.0\"},"
                          "{\"url\":\"http://j/v03\",\"protocolBinding\":\"JSONRPC\",\"protocolVersion\":\"0.3\"}]}", 0, NULL);
  json_t *grpc = json_loads("{\"url\":\"http://g/\",\"preferredTransport\":\"GRPC\",\"additionalInterfaces\":["
                            "{\"url\":\"http://g/rpc\",\"transport\":\"JSONRPC\"}]}", 0, NULL);
  assert_string_equal(mol_bench_card_endpoint(ours, MOL_BENCH_JSONRPC_V03), "http://a/");
  assert_string_equal(mol_bench_card_endpoint(ours, MOL_BENCH_JSONRPC_V10), "http://a/");
  assert_null(mol_bench_card_endpoint(ours, MOL_BENCH_HTTP_JSON));
  assert_string_equal(mol_bench_card_endpoint(js, MOL_BENCH_JSONRPC_V03), "http://j/v03");
  assert_string_equal(mol_bench_card_endpoint(js, MOL_BENCH_JSONRPC_V10), "http://j/v1");
  assert_string_equal(mol_bench_card_endpoint(js, MOL_BENCH_HTTP_JSON), "http://j/rest");
  assert_string_equal(mol_bench_card_endpoint(grpc, MOL_BENCH_JSONRPC_V03), "http://g/rpc");
  assert_null(mol_bench_card_endpoint(NULL, MOL_BENCH_JSONRPC_V03));
  json_decref(ours);
  json_decref(js);
  json_decref(grpc);
}

/* ---- reply checks --------------------------------------------------------------------------- */

#define ANY_REPLY (MOL_BENCH_ACCEPT(MOL_A2A_RESULT_MESSAGE) | MOL_BENCH_ACCEPT(MOL_A2A_RESULT_TASK))
#define MSG(id, body) "{\"jsonrpc\":\"2.0\",\"id\":" id ",\"result\":" body "}"
#define AGENT_MSG "{\"kind\":\"message\",\"messageId\":\"x\",\"role\":\"agent\",\"parts\":[{\"kind\":\"text\",\"text\":\"echo: hi\"}],\"contextId\":\"c1\",\"taskId\":\"t1\"}"

static mol_bench_outcome check(const char *body, mol_bench_binding b, unsigned accept, mol_bench_reply *r) {
  return mol_bench_check_body(body, strlen(body), b, "r-1", accept, r);
}

static void replies_are_checked(void **state) {
  (void)state;
  mol_bench_reply r;
  assert_int_equal(check(MSG("\"r-1\"", AGENT_MSG), MOL_BENCH_JSONRPC_V03, ANY_REPLY, &r), MOL_BENCH_OK);
  assert_string_equal(r.context_id, "c1");
  assert_string_equal(r.task_id, "t1");
  /* a fast wrong answer is an error */
  assert_int_equal(check(MSG("\"r-2\"", AGENT_MSG), MOL_BENCH_JSONRPC_V03, ANY_REPLY, &r), MOL_BENCH_E_INVALID);
  assert_non_null(strstr(r.detail, "id"));
  assert_int_equal(check(MSG("7", AGENT_MSG), MOL_BENCH_JSONRPC_V03, ANY_REPLY, &r), MOL_BENCH_E_INVALID);
  assert_int_equal(check("not json", MOL_BENCH_JSONRPC_V03, ANY_REPLY, &r), MOL_BENCH_E_INVALID);
  assert_int_equal(check("{\"ok\":true}", MOL_BENCH_JSONRPC_V03, ANY_REPLY, &r), MOL_BENCH_E_INVALID);
  assert_int_equal(check(MSG("\"r-1\"", "{\"kind\":\"message\",\"messageId\":\"x\",\"role\":\"user\",\"parts\":[]}"),
                         MOL_BENCH_JSONRPC_V03, ANY_REPLY, &r), MOL_BENCH_E_INVALID);
  assert_int_equal(check(MSG("\"r-1\"", "{\"kind\":\"message\"}"), MOL_BENCH_JSONRPC_V03, ANY_REPLY, &r), MOL_BENCH_E_INVALID);
  /* a message where only a task may be */
  assert_int_equal(check(MSG("\"r-1\"", AGENT_MSG), MOL_BENCH_JSONRPC_V03, MOL_BENCH_ACCEPT(MOL_A2A_RESULT_TASK), &r),
                   MOL_BENCH_E_INVALID);
  assert_int_equal(check("{\"jsonrpc\":\"2.0\",\"id\":\"r-1\",\"error\":{\"code\":-32603,\"message\":\"boom\"}}",
                         MOL_BENCH_JSONRPC_V03, ANY_REPLY, &r), MOL_BENCH_E_RPC);
  assert_int_equal(r.code, -32603);
  const char *task = MSG("\"r-1\"", "{\"kind\":\"task\",\"id\":\"t9\",\"contextId\":\"c9\",\"status\":{\"state\":\"working\"}}");
  assert_int_equal(check(task, MOL_BENCH_JSONRPC_V03, ANY_REPLY, &r), MOL_BENCH_OK);
  assert_int_equal(r.kind, MOL_A2A_RESULT_TASK);
  assert_int_equal(r.state, MOL_A2A_STATE_WORKING);
  assert_int_equal(r.final, 0);
  assert_string_equal(r.task_id, "t9");
  /* v1.0 shapes, and HTTP+JSON's bare result */
  const char *v1 = MSG("\"r-1\"", "{\"task\":{\"id\":\"t2\",\"contextId\":\"c2\",\"status\":{\"state\":\"TASK_STATE_COMPLETED\"}}}");
  assert_int_equal(check(v1, MOL_BENCH_JSONRPC_V10, ANY_REPLY, &r), MOL_BENCH_OK);
  assert_int_equal(r.state, MOL_A2A_STATE_COMPLETED);
  assert_int_equal(r.final, 1);
  assert_int_equal(check("{\"message\":{\"messageId\":\"m\",\"role\":\"ROLE_AGENT\",\"parts\":[{\"text\":\"x\"}]}}",
                         MOL_BENCH_HTTP_JSON, ANY_REPLY, &r), MOL_BENCH_OK);
  assert_int_equal(check("{\"message\":{}} {}", MOL_BENCH_HTTP_JSON, ANY_REPLY, &r), MOL_BENCH_E_INVALID);
  /* an HTTP error, unless its body is our JSON-RPC error */
  assert_int_equal(mol_bench_check_http(503, "busy", 4, MOL_BENCH_JSONRPC_V03, "r-1", ANY_REPLY, &r), MOL_BENCH_E_HTTP);
  assert_int_equal(r.code, 503);
  const char *rpc = "{\"jsonrpc\":\"2.0\",\"id\":\"r-1\",\"error\":{\"code\":-32001,\"message\":\"no\"}}";
  assert_int_equal(mol_bench_check_http(404, rpc, strlen(rpc), MOL_BENCH_JSONRPC_V03, "r-1", ANY_REPLY, &r), MOL_BENCH_E_RPC);
  assert_int_equal(mol_bench_check_transport(MOL_ETIMEDOUT, &r), MOL_BENCH_E_TIMEOUT);
  assert_int_equal(mol_bench_check_transport(MOL_ECONNREFUSED, &r), MOL_BENCH_E_TRANSPORT);
}

/* Wherever the DOM-free check accepts, the codec accepts too, with the same ids; the shapes it
 * does not know it declines. */
static void fast_check_agrees_with_the_codec(void **state) {
  (void)state;
  static const char *const bodies[] = {
    MSG("\"r-1\"", AGENT_MSG),
    MSG("\"r-1\"", "{\"role\":\"agent\",\"parts\":[{\"text\":\"a\\u00e9\",\"kind\":\"text\"},{\"kind\":\"text\",\"text\":\"\"}],\"messageId\":\"y\",\"kind\":\"message\"}"),
    "{\"result\":" AGENT_MSG ",\"id\":\"r-1\",\"jsonrpc\":\"2.0\"}",
    MSG("\"r-\\u0031\"", AGENT_MSG), /* the id escaped: still ours */
  };
  static const char *const declined[] = {
    MSG("\"r-1\"", "{\"kind\":\"message\",\"kind\":\"message\",\"messageId\":\"x\",\"role\":\"agent\",\"parts\":[{\"kind\":\"text\",\"text\":\"a\"}]}"),
    MSG("\"r-1\"", "{\"kind\":\"message\",\"messageId\":\"x\",\"role\":\"agent\",\"parts\":[{\"kind\":\"text\",\"text\":\"a\"}],\"metadata\":{}}"),
    MSG("\"r-1\"", "{\"kind\":\"message\",\"messageId\":\"x\",\"role\":\"agent\",\"parts\":[]}"),
    MSG("\"r-1\"", "{\"kind\":\"message\",\"messageId\":\"x\",\"role\":\"agent\",\"parts\":[{\"kind\":\"text\",\"text\":\"a\\u0000\"}]}"),
    MSG("\"r-1\"", "{\"kind\":\"message\",\"messageId\":\"x\",\"role\":\"agent\",\"contextId\":\"c\\/1\",\"parts\":[{\"kind\":\"text\",\"text\":\"a\"}]}"),
    MSG("\"r-1\"", AGENT_MSG) " x",
    "{\"jsonrpc\":\"2.0\",\"id\":\"r-1\",\"result\":" AGENT_MSG ",\"extra\":1}",
  };
  mol_bench_reply fast, full;
  for (size_t i = 0; i < sizeof(bodies) / sizeof(*bodies); i++) {
    assert_int_equal(mol_bench__check_fast(bodies[i], strlen(bodies[i]), "r-1", &fast), 1);
    mol_a2a_response r;
    assert_int_equal(mol_a2a_response_parse(bodies[i], strlen(bodies[i]), MOL_A2A_V03, &r), 0);
    assert_false(r.is_error);
    assert_int_equal(r.kind, MOL_A2A_RESULT_MESSAGE);
    const char *ctx = mol_a2a_msg_context_id(r.result), *task = mol_a2a_msg_task_id(r.result);
    assert_string_equal(fast.context_id, ctx ? ctx : "");
    assert_string_equal(fast.task_id, task ? task : "");
    mol_a2a_response_free(&r);
  }
  for (size_t i = 0; i < sizeof(declined) / sizeof(*declined); i++) {
    assert_int_equal(mol_bench__check_fast(declined[i], strlen(declined[i]), "r-1", &fast), 0);
    /* and the full check still decides: these are errors or plain messages, never a crash */
    check(declined[i], MOL_BENCH_JSONRPC_V03, ANY_REPLY, &full);
  }
}

static void errors_by_kind(void **state) {
  (void)state;
  mol_bench_stats *s = malloc(sizeof(*s)), *t = malloc(sizeof(*t));
  mol_bench_stats_init(s);
  mol_bench_stats_init(t);
  mol_bench_reply r;
  memset(&r, 0, sizeof(r));
  mol_bench_reply_fail(&r, MOL_BENCH_E_HTTP, 503, "busy");
  mol_bench_stats_error(s, &r);
  mol_bench_stats_error(s, &r);
  mol_bench_reply_fail(&r, MOL_BENCH_E_TASK, MOL_A2A_STATE_FAILED, "the task ended failed");
  mol_bench_stats_error(s, &r);
  for (int i = 0; i < 40; i++) { /* more kinds than the table: the rest are counted together */
    mol_bench_reply_fail(&r, MOL_BENCH_E_RPC, -32000 - i, "x");
    mol_bench_stats_error(s, &r);
  }
  mol_bench_stats_ok(s, 1000);
  assert_string_equal(s->errs[0].key, "HTTP 503");
  assert_int_equal(s->errs[0].count, 2);
  assert_string_equal(s->errs[0].example, "busy");
  assert_string_equal(s->errs[1].key, "task failed");
  assert_int_equal(s->errors, 43);
  assert_int_equal(s->errs_other, 40 - (MOL_BENCH_ERR_KINDS - 2));
  mol_bench_stats_merge(t, s);
  mol_bench_stats_merge(t, s);
  assert_int_equal(t->errors, 86);
  assert_int_equal(t->ok, 2);
  assert_int_equal(t->errs[0].count, 4);
  free(s);
  free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(buckets_hold_their_values),
    cmocka_unit_test(percentiles_of_a_known_spread),
    cmocka_unit_test(a_tail_shows_in_p99),
    cmocka_unit_test(open_loop_schedule),
    cmocka_unit_test(weighted_mix),
    cmocka_unit_test(bodies_parse_on_the_server),
    cmocka_unit_test(card_endpoints),
    cmocka_unit_test(replies_are_checked),
    cmocka_unit_test(fast_check_agrees_with_the_codec),
    cmocka_unit_test(errors_by_kind),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
