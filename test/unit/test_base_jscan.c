#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define JR_CHECK(c) assert_true(c)
#include "jscan_rebuild.h"

/* The one hard rule: whatever the scanner reads through to END, jansson accepts, with the same
 * value. Returns 1 when the scanner reached END. */
static int check_text(const char *data, size_t len) {
  json_t *got = jr_rebuild(data, len);
  if (!got) return 0;
  json_error_t err;
  json_t *want = json_loadb(data, len, JFLAGS, &err);
  if (!want) fail_msg("scanner accepted what jansson rejects (%s): %.*s", err.text, (int)len, data);
  if (!json_equal(got, want)) fail_msg("scanner and jansson disagree on: %.*s", (int)len, data);
  json_decref(got);
  json_decref(want);
  return 1;
}

enum { OK, BAD, STRICT }; /* both accept; both reject; jansson accepts, the scanner declines */

typedef struct {
  const char *text;
  size_t len;
  int want;
} jcase;

#define T(s, w) {s, sizeof(s) - 1, w}

static const jcase k_cases[] = {
    /* whitespace and the top level */
    T("", BAD), T(" ", BAD), T(" \t\n\r", BAD), T("1", OK), T(" 1 ", OK), T("\t[ ]\r\n", OK),
    T("1 2", BAD), T("[] x", BAD), T("{}\0", BAD), T("\f1", BAD), T("\v1", BAD),
    T("1\xc2\xa0", BAD), T("\xef\xbb\xbf{}", BAD), T("\"a\"\"b\"", BAD),
    /* jansson loses a NUL byte that ends a number or a literal; the scanner does not */
    T("1\0", STRICT), T("true\0", STRICT), T("[1\0]", STRICT), T("[null\0,2]", STRICT),
    /* literals */
    T("true", OK), T("false", OK), T("null", OK), T("[true,false,null]", OK), T("tru", BAD),
    T("nulls", BAD), T("True", BAD), T("nul", BAD), T("truefalse", BAD), T("[null1]", BAD),
    T("[true\"x\"]", BAD),
    /* numbers */
    T("0", OK), T("-0", OK), T("-0.0", OK), T("01", BAD), T("-01", BAD), T("00", BAD),
    T("+1", BAD), T("1.", BAD), T(".5", BAD), T("-", BAD), T("-x", BAD), T("1e", BAD),
    T("1e+", BAD), T("1E-2", OK), T("1e+2", OK), T("0.5e10", OK), T("1x", BAD), T("1.5.3", BAD),
    T("0x10", BAD), T("[1.]", BAD), T("[-]", BAD), T("1.e5", BAD), T("-.5", BAD),
    T("9223372036854775807", OK), T("9223372036854775808", BAD), T("-9223372036854775808", OK),
    T("-9223372036854775809", BAD), T("18446744073709551616", BAD),
    T("99999999999999999999999", BAD), T("[1e400]", BAD), T("-1e400", BAD), T("1e-400", OK),
    T("1.7976931348623157e308", OK), T("1.7976931348623158e308", OK),
    T("1.7976931348623159e308", BAD), T("-1.7976931348623159e308", BAD), T("0.001e311", OK),
    T("0.01e311", BAD), T("10e307", OK), T("100e307", BAD), T("1.5e308", OK), T("1.8e308", BAD),
    T("0e999999999999", OK), T("0.0e400", OK), T("1e-99999999999999999999", OK),
    T("1e99999999999999999999", BAD),
    T("1000000000000000000000000000000000000000000000000e260", OK), /* trailing zeros are free */
    T("1234567890123456789012345678901234567890123456789e260", STRICT),
    T("1797693134862315807937289714053034150799341327100378269361737789804449682927647509466490"
      "1797758720709633028641669288791094655554785194040263065748867150582068190890200070838367"
      "6273854845817711531764475730270069855571366959622842914819860834936475292719074168444365"
      "510704342711559699508093042880177904174497791.0",
      STRICT),
    T("1797693134862315807937289714053034150799341327100378269361737789804449682927647509466490"
      "1797758720709633028641669288791094655554785194040263065748867150582068190890200070838367"
      "6273854845817711531764475730270069855571366959622842914819860834936475292719074168444365"
      "510704342711559699508093042880177904174497792.0",
      BAD),
    /* strings and escapes */
    T("\"\"", OK), T("\"abc\"", OK), T("\"a\x01\"", BAD), T("\"\x1f\"", BAD), T("\"\x7f\"", OK),
    T("\"a\nb\"", BAD), T("\"a\tb\"", BAD), T("\"a\0b\"", BAD), T("\"abc", BAD), T("\"\\\"", BAD),
    T("\"\\", BAD), T("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", OK), T("\"\\a\"", BAD), T("\"\\x41\"", BAD),
    T("\"\\'\"", BAD), T("\"\\U0041\"", BAD), T("\"\\u004\"", BAD), T("\"\\u00G1\"", BAD),
    T("\"\\u00e9\\u00E9\\uaBcD\"", OK), T("\"\\u0000\"", OK), T("\"\\uD83D\\uDE00\"", OK),
    T("\"\\ud83d\\ude00\"", OK), T("\"\\uDBFF\\uDFFF\"", OK), T("\"\\uD83D\"", BAD),
    T("\"\\uD83Dx\"", BAD), T("\"\\uD83D\\u0041\"", BAD), T("\"\\uD83D\\uD83D\"", BAD),
    T("\"\\uDE00\"", BAD), T("\"\\uDE00\\uD83D\"", BAD), T("\"\\uD83D\\n\"", BAD),
    T("\"\\uD83D\\uDE0\"", BAD), T("\"\\u", BAD), T("\"\\u12", BAD),
    /* UTF-8 */
    T("\"\xc3\xa9\"", OK), T("\"\xe2\x82\xac\"", OK), T("\"\xf0\x9f\x98\x80\"", OK),
    T("\"\xf4\x8f\xbf\xbf\"", OK), T("\"\xf4\x90\x80\x80\"", BAD), T("\"\xc0\xaf\"", BAD),
    T("\"\xc1\xbf\"", BAD), T("\"\xe0\x80\xaf\"", BAD), T("\"\xe0\x9f\xbf\"", BAD),
    T("\"\xe0\xa0\x80\"", OK), T("\"\xf0\x8f\xbf\xbf\"", BAD), T("\"\xf0\x90\x80\x80\"", OK),
    T("\"\xed\xa0\x80\"", BAD), T("\"\xed\xbf\xbf\"", BAD), T("\"\xed\x9f\xbf\"", OK),
    T("\"\xee\x80\x80\"", OK), T("\"\x80\"", BAD), T("\"\xbf\"", BAD), T("\"\xc3\"", BAD),
    T("\"\xe2\x82\"", BAD), T("\"\xf5\x80\x80\x80\"", BAD), T("\"\xff\"", BAD),
    T("\"\xc3\xa9", BAD), T("\"\xf0\x9f\x98", BAD), T("\"\xe2\x28\xa1\"", BAD),
    T("\"\xf0\x9f\x98\x80\xf0\x9f\"", BAD), T("\xc3\xa9", BAD),
    /* keys */
    T("{\"\\u0000\":1}", BAD), T("{\"a\\u0000\":1}", BAD), T("{\"a\\u0000b\":1}", BAD),
    T("{\"a\":\"\\u0000\"}", OK), T("{\"\":1}", OK), T("{\"a\":1,\"a\":2}", OK),
    T("{\"\\u0001\":1}", OK), T("{\"\\ud83d\\ude00\":{\"\\u00e9\":[]}}", OK),
    /* structure */
    T("[1,]", BAD), T("[,1]", BAD), T("[1,,2]", BAD), T("{\"a\":1,}", BAD), T("{,}", BAD),
    T("{\"a\"}", BAD), T("{\"a\":}", BAD), T("{\"a\" 1}", BAD), T("{1:2}", BAD), T("{a:1}", BAD),
    T("[1 2]", BAD), T("[", BAD), T("]", BAD), T("[}", BAD), T("{]", BAD), T("[[]", BAD),
    T("[]]", BAD), T("{\"a\":1}}", BAD), T("[1:2]", BAD), T("{\"a\":1:2}", BAD),
    T("{\"a\"::1}", BAD), T("{\"a\":1 \"b\":2}", BAD), T("{\"a\":1,,\"b\":2}", BAD), T("{", BAD),
    T("{\"a\":[1,{\"b\":null}],\"c\":{}}", OK), T(" [ 1 , { \"k\" : [ ] } ] ", OK),
    T("[[[[[]]]],[[]],{}]", OK), T("{\"a\":{\"b\":{\"c\":[0,-1,2.5e-3]}}}", OK),
    /* from fuzz_jscan's corpus */
    T("0.66e-40000000002161809557490", OK), T("5e-35475114", OK), T("[11e-3,2e-87]", OK),
    T("1.44444440000000000000013691888923201345275e308", STRICT), T("2\0", STRICT),
    T("\"\\u10e9\\u83dd\"", OK), T("{\"jot\":\"h\\u0000=\\u83dd\"}", OK),
    T("\"\\u0000\\n\xe0\xa0\x80\\t\\\"\\/fr\"", OK), T("0.0001e312", OK),
    /* more edges */
    T("[0,-0E0]", OK), T("[\"\\/\",\"\\uFFFF\"]", OK), T("{\"\":{\"\":{}}}", OK),
    T("0.000000000000000000000000000000000000000000000000000000000001e369", BAD), /* 1e309 */
    T("0.0000000000000000000000000000000000000000000000000000000000001e369", OK), /* 1e308 */
};

static void table_matches_jansson(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(k_cases) / sizeof(k_cases[0]); i++) {
    const jcase *c = &k_cases[i];
    json_error_t err;
    json_t *j = json_loadb(c->text, c->len, JFLAGS, &err);
    if ((j != NULL) != (c->want != BAD))
      fail_msg("case %zu: jansson %s: %.*s", i, j ? "accepts" : "rejects", (int)c->len, c->text);
    json_decref(j);
    int read = check_text(c->text, c->len);
    if (read != (c->want == OK))
      fail_msg("case %zu: scanner %s: %.*s", i, read ? "reads" : "fails", (int)c->len, c->text);
  }
}

/* A string whose one unusual piece sits at every position of every length up to 48 bytes, at
 * the end of the text and with more text after it: wherever the scanner's 16- and 8-byte steps
 * fall, it reads exactly what jansson reads and refuses what jansson refuses. */
static void strings_every_position(void **state) {
  (void)state;
  static const char *const pieces[] = {"", "\\\"", "\\\\", "\\n", "\\u00e9", "\\ud83d\\ude00",
                                       "\x01", "\x1f", "\x7f", "\xc3\xa9", "\xe2\x9a\xa1",
                                       "\xf0\x9f\x98\x80", "\xc3", "\x80", "\xed\xa0\x80", "\"", "\\"};
  char text[128];
  for (size_t len = 0; len <= 48; len++) {
    for (size_t at = 0; at <= len; at++) {
      for (size_t k = 0; k < sizeof(pieces) / sizeof(*pieces); k++) {
        for (int tail = 0; tail < 2; tail++) {
          size_t n = 0, pl = strlen(pieces[k]);
          text[n++] = '[';
          text[n++] = '"';
          memset(text + n, 'a', at), n += at;
          memcpy(text + n, pieces[k], pl), n += pl;
          memset(text + n, 'b', len - at), n += len - at;
          text[n++] = '"';
          if (tail) memcpy(text + n, ",0,0,0,0,0,0,0,0,0,0", 20), n += 20;
          text[n++] = ']';
          json_error_t err;
          json_t *want = json_loadb(text, n, JFLAGS, &err);
          int read = check_text(text, n);
          if (read != (want != NULL))
            fail_msg("scanner %s, jansson %s: %.*s", read ? "reads" : "fails",
                     want ? "reads" : "fails", (int)n, text);
          json_decref(want);
        }
      }
    }
  }
}

static void nesting_limit(void **state) {
  (void)state;
  char buf[512];
  size_t n = 0;
  for (int depth = 63; depth <= 66; depth++) {
    n = 0;
    for (int i = 0; i < depth; i++) buf[n++] = '[';
    for (int i = 0; i < depth; i++) buf[n++] = ']';
    assert_int_equal(check_text(buf, n), depth <= MOL_JSCAN_MAX_DEPTH);
    n = 0;
    for (int i = 0; i < depth; i++) n += (size_t)sprintf(buf + n, "{\"a\":");
    buf[n++] = '1';
    for (int i = 0; i < depth; i++) buf[n++] = '}';
    assert_int_equal(check_text(buf, n), depth <= MOL_JSCAN_MAX_DEPTH);
  }
  /* jansson goes deeper: declining is the scanner's choice, its caller falls back */
  json_t *v = json_loadb(buf, n, JFLAGS, NULL);
  assert_non_null(v);
  json_decref(v);
}

static void tokens(void **state) {
  (void)state;
  const char *doc =
      " {\"id\":7,\"m\\u0065thod\":\"message/send\",\"params\":{\"a\":[1,2.5,-3e2,true,false,null,"
      "\"x\"]},\"s\":\"\\u00e9\\ud83d\\ude00\\n\\u0000z\",\"min\":-9223372036854775808} ";
  mol_jscan s;
  mol_jtok t;
  char out[64];
  mol_jscan_init(&s, doc, strlen(doc));
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_OBJECT);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_KEY);
  assert_true(mol_jscan_eq(&t, "id"));
  assert_false(mol_jscan_eq(&t, "i"));
  assert_false(mol_jscan_eq(&t, "idx"));
  assert_false(t.escaped);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_INT);
  assert_int_equal(t.ival, 7);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_KEY);
  assert_true(t.escaped);
  assert_int_equal(t.len, 11);
  assert_true(mol_jscan_eq(&t, "method"));
  assert_false(mol_jscan_eq(&t, "metho"));
  assert_false(mol_jscan_eq(&t, "methods"));
  assert_false(mol_jscan_eq(&t, "m\\u0065thod"));
  assert_int_equal(mol_jscan_string(&t, out), 6);
  assert_string_equal(out, "method");
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_STRING);
  assert_false(t.escaped);
  assert_int_equal(t.len, 12);
  assert_memory_equal(t.start, "message/send", 12);
  assert_true(mol_jscan_eq(&t, "message/send"));
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_KEY);
  assert_true(mol_jscan_eq(&t, "params"));
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_OBJECT);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_KEY);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_ARRAY);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_INT);
  assert_int_equal(t.ival, 1);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_REAL);
  assert_int_equal(t.len, 3);
  assert_memory_equal(t.start, "2.5", 3);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_REAL);
  assert_memory_equal(t.start, "-3e2", 4);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_TRUE);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_FALSE);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_NULL);
  assert_int_equal(t.len, 4);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_STRING);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_ARRAY_END);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_OBJECT_END);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_KEY);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_STRING);
  assert_true(t.escaped);
  /* é (2 bytes), U+1F600 from a surrogate pair (4 bytes), \n, NUL, z */
  assert_int_equal(mol_jscan_string(&t, out), 9);
  assert_memory_equal(out, "\xc3\xa9\xf0\x9f\x98\x80\n\0z", 10);
  assert_false(mol_jscan_eq(&t, "\xc3\xa9\xf0\x9f\x98\x80\n"));
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_KEY);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_INT);
  assert_true(t.ival == LLONG_MIN);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_OBJECT_END);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_END);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_END);
  assert_int_equal(mol_jscan_skip(&s), 0);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_END);

  const char *lit = "[\"\\u20AC\\/\\\"\",\"\\ud800\\udc00\"]";
  mol_jscan_init(&s, lit, strlen(lit));
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_ARRAY);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_STRING);
  assert_true(mol_jscan_eq(&t, "\xe2\x82\xac/\""));
  assert_int_equal(mol_jscan_string(&t, out), 5);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_STRING);
  assert_true(mol_jscan_eq(&t, "\xf0\x90\x80\x80")); /* U+10000 */

  mol_jscan_init(&s, NULL, 0);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_FAIL);
  assert_int_equal(mol_jscan_skip(&s), -1);
  mol_jscan_init(&s, "[1,x]", 5);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_ARRAY);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_INT);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_FAIL);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_FAIL);

  /* a number or literal must end at a delimiter: the token itself fails, not the next one */
  const char *glued[] = {"[1x]", "[-0a]", "[2.5e3.1]", "[truex]", "[nulls]", "[0\"a\"]", "[1:]"};
  for (size_t i = 0; i < sizeof(glued) / sizeof(glued[0]); i++) {
    mol_jscan_init(&s, glued[i], strlen(glued[i]));
    assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_ARRAY);
    assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_FAIL);
  }
  mol_jscan_init(&s, "[1\t,\r\n2 ]", 9);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_ARRAY);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_INT);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_INT);
  assert_int_equal(t.ival, 2);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_ARRAY_END);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_END);
}

/* Opt-in: numbers jansson cannot load come back as BIGNUM with their text; by default they
 * fail, and the grammar is the same either way. */
static void bignum_mode(void **state) {
  (void)state;
  static const char *const big[] = {"18446744073709551616", "-9223372036854775809", "1e400",
                                    "-1.5e309", "123456789012345678901234567890.5e300"};
  static const char *const ok[] = {"9223372036854775807", "-9223372036854775808", "1e308",
                                   "-1e-400", "0"};
  static const char *const bad[] = {"01", "1.", "-", "1e", "+1", ".5", "1e400x"};
  mol_jscan s;
  mol_jtok t;
  char doc[96];
  for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
    snprintf(doc, sizeof(doc), "[%s, 1]", big[i]);
    mol_jscan_init(&s, doc, strlen(doc));
    assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_ARRAY);
    assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_FAIL);
    assert_null(json_loadb(doc, strlen(doc), JFLAGS, NULL)); /* what jansson does too */
    mol_jscan_init(&s, doc, strlen(doc));
    mol_jscan_allow_bignum(&s);
    assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_ARRAY);
    assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_BIGNUM);
    assert_int_equal(t.len, strlen(big[i]));
    assert_memory_equal(t.start, big[i], t.len);
    assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_INT);
    assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_ARRAY_END);
    assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_END);
  }
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    mol_jscan_init(&s, ok[i], strlen(ok[i]));
    mol_jscan_allow_bignum(&s);
    mol_jtype ty = mol_jscan_next(&s, &t);
    assert_true(ty == MOL_JT_INT || ty == MOL_JT_REAL);
  }
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    mol_jscan_init(&s, bad[i], strlen(bad[i]));
    mol_jscan_allow_bignum(&s);
    assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_FAIL);
  }
  /* skipped containers take them too */
  const char *nested = "{\"a\":[1e999,{\"b\":99999999999999999999}],\"c\":2}";
  mol_jscan_init(&s, nested, strlen(nested));
  mol_jscan_allow_bignum(&s);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_OBJECT);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_KEY);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_ARRAY);
  assert_int_equal(mol_jscan_skip(&s), 0);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_KEY);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_INT);
}

/* saw_nul: set by a STRING decoding to a NUL byte, wherever it is (skipped values included). */
static void nul_strings_are_noticed(void **state) {
  (void)state;
  static const struct {
    const char *doc;
    int nul;
  } cases[] = {
      {"{\"a\":\"x\\u0000\"}", 1},
      {"{\"a\":[{\"b\":[\"\\u0000\"]}]}", 1},
      {"[\"\\\\u0000\"]", 0}, /* an escaped backslash, then "u0000" */
      {"[\"\\u0001\\u0100\"]", 0},
      {"{\"a\":\"\\u00000\"}", 1},
  };
  mol_jscan s;
  mol_jtok t;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    mol_jscan_init(&s, cases[i].doc, strlen(cases[i].doc));
    assert_int_equal(mol_jscan_saw_nul(&s), 0);
    assert_int_equal(mol_jscan_next(&s, &t) == MOL_JT_OBJECT || t.type == MOL_JT_ARRAY, 1);
    assert_int_equal(mol_jscan_skip(&s), 0);
    assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_END);
    if (mol_jscan_saw_nul(&s) != cases[i].nul) fail_msg("%s", cases[i].doc);
  }
}

/* mol_jscan_skip_value: the value after a key, whatever it is, and no value at all. */
static void skip_values_after_keys(void **state) {
  (void)state;
  const char *doc = "{\"a\":{\"x\":[1,{}]},\"b\":7,\"c\":[],\"d\":\"}\"}";
  mol_jscan s;
  mol_jtok t;
  mol_jscan_init(&s, doc, strlen(doc));
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_OBJECT);
  const char *keys = "abcd";
  for (const char *k = keys; *k; k++) {
    char lit[2] = {*k, 0};
    assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_KEY);
    assert_true(mol_jscan_eq(&t, lit));
    assert_int_equal(mol_jscan_skip_value(&s), 0);
  }
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_OBJECT_END);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_END);

  const char *bad[] = {"{\"a\":}", "{\"a\":[1,}", "{\"a\":"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
    mol_jscan_init(&s, bad[i], strlen(bad[i]));
    assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_OBJECT);
    assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_KEY);
    assert_int_equal(mol_jscan_skip_value(&s), -1);
  }
}

static void skip_members(void **state) {
  (void)state;
  const char *doc = "{\"a\":{\"x\":[1,{\"y\":[]},\"}\"],\"z\":{}},\"b\":[[],[[2]]],\"c\":3,"
                    "\"d\":\"q\",\"e\":[]}";
  mol_jscan s;
  mol_jtok t;
  mol_jscan_init(&s, doc, strlen(doc));
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_OBJECT);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_KEY);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_OBJECT);
  assert_int_equal(mol_jscan_skip(&s), 0);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_KEY);
  assert_true(mol_jscan_eq(&t, "b"));
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_ARRAY);
  assert_int_equal(mol_jscan_skip(&s), 0);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_KEY);
  assert_true(mol_jscan_eq(&t, "c"));
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_INT);
  assert_int_equal(mol_jscan_skip(&s), 0); /* a scalar: nothing to do */
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_KEY);
  assert_true(mol_jscan_eq(&t, "d"));
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_STRING);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_KEY);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_ARRAY);
  assert_int_equal(mol_jscan_skip(&s), 0); /* empty container */
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_OBJECT_END);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_END);

  /* the whole text at once */
  mol_jscan_init(&s, doc, strlen(doc));
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_OBJECT);
  assert_int_equal(mol_jscan_skip(&s), 0);
  assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_END);

  /* skipped text is validated */
  const char *bad[] = {"{\"a\":[1,{\"b\":tru}],\"c\":1}", "{\"a\":[1,2,],\"c\":1}",
                       "{\"a\":[1,\"\\uDC00\"],\"c\":1}", "{\"a\":[1,2}", "{\"a\":[1,2"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    mol_jscan_init(&s, bad[i], strlen(bad[i]));
    assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_OBJECT);
    assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_KEY);
    assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_ARRAY);
    assert_int_equal(mol_jscan_skip(&s), -1);
    assert_int_equal(mol_jscan_next(&s, &t), MOL_JT_FAIL);
  }
}

static unsigned long long rnd_state = 0x9e3779b97f4a7c15ull;
static unsigned rnd(unsigned n) {
  rnd_state ^= rnd_state << 13;
  rnd_state ^= rnd_state >> 7;
  rnd_state ^= rnd_state << 17;
  return (unsigned)(rnd_state % n);
}

static json_t *random_string(void) {
  static const char *const pieces[] = {"a", "\"", "\\", "\n", "\t", "\x01", "\x1f", "/", "\x7f",
                                       "\xc3\xa9", "\xe2\x9a\xa1", "\xf0\x9f\x98\x80", "key",
                                       " ", "\xf4\x8f\xbf\xbf", "\xed\x9f\xbf"};
  char buf[256];
  size_t n = 0;
  for (unsigned i = rnd(10); i > 0; i--) {
    const char *p = pieces[rnd(sizeof(pieces) / sizeof(pieces[0]))];
    memcpy(buf + n, p, strlen(p));
    n += strlen(p);
  }
  if (rnd(10) == 0) buf[n++] = '\0'; /* jansson allows NUL inside string values */
  return json_stringn(buf, n);
}

static json_t *random_value(int depth) {
  switch (depth > 5 ? rnd(7) : rnd(9)) {
    case 0: return json_integer((json_int_t)rnd(2000001) - 1000000);
    case 1: return json_integer(rnd(2) ? LLONG_MAX : LLONG_MIN);
    case 2: return json_real((rnd(2000) - 1000.0) / 7.0);
    case 3: return json_real(rnd(2) ? 1.7976931348623157e308 : -4.9e-324);
    case 4: return random_string();
    case 5: return rnd(2) ? json_true() : json_false();
    case 6: return json_null();
    case 7: {
      json_t *a = json_array();
      for (unsigned i = rnd(5); i > 0; i--) json_array_append_new(a, random_value(depth + 1));
      return a;
    }
    default: {
      json_t *o = json_object();
      for (unsigned i = rnd(5); i > 0; i--) {
        json_t *k = random_string();
        json_object_set_new(o, json_string_value(k), random_value(depth + 1));
        json_decref(k);
      }
      return o;
    }
  }
}

/* Whatever jansson writes (compact, indented, ASCII-only with surrogate pairs) the scanner must
 * read in full, to the same value; the mutated texts exercise the invariant on near misses. */
static void roundtrip_and_mutations(void **state) {
  (void)state;
  static const size_t flags[] = {JSON_COMPACT, 0, JSON_INDENT(2), JSON_ENSURE_ASCII,
                                 JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ESCAPE_SLASH};
  static const char junk[] = "\"\\{}[],:0-+.eEu\x01\x80\xc3\xed\xf4 \n";
  int read = 0;
  for (int i = 0; i < 3000; i++) {
    json_t *v = random_value(0);
    char *text = json_dumps(v, flags[i % 5] | JSON_ENCODE_ANY);
    size_t len = strlen(text);
    json_t *got = jr_rebuild(text, len);
    if (!got || !json_equal(got, v)) fail_msg("scanner failed on jansson's output: %s", text);
    json_decref(got);
    for (int m = 0; m < 8 && len > 0; m++) {
      char *mut = malloc(len + 1);
      memcpy(mut, text, len + 1);
      for (unsigned k = rnd(3) + 1; k > 0; k--)
        mut[rnd((unsigned)len)] = junk[rnd(sizeof(junk) - 1)];
      read += check_text(mut, rnd(4) ? len : rnd((unsigned)len + 1));
      free(mut);
    }
    free(text);
    json_decref(v);
  }
  assert_true(read > 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(table_matches_jansson),
    cmocka_unit_test(strings_every_position),
    cmocka_unit_test(nesting_limit),
    cmocka_unit_test(tokens),
    cmocka_unit_test(bignum_mode),
    cmocka_unit_test(nul_strings_are_noticed),
    cmocka_unit_test(skip_members),
    cmocka_unit_test(skip_values_after_keys),
    cmocka_unit_test(roundtrip_and_mutations),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
