/* exec_chat_tools.c - the tool calls of one model reply: collected from a plain message or
 * from streamed delta.tool_calls fragments, run concurrently through the registry, and answered
 * with one role:"tool" message each, in call order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "molecule.h"
#include "runtime/exec_chat_int.h"

/* ---- collecting the calls ----------------------------------------------------------------- */

const char mol_chat__too_many_calls[] = "the model asked for more than 128 tool calls in one reply";

mol_chat__call *mol_chat__call_add(mol_chat__turn *ct, long index) {
  if (ct->ncalls == CHAT_MAX_CALLS_PER_REPLY) return NULL;
  if (ct->ncalls == ct->cap_calls) {
    size_t cap = ct->cap_calls ? ct->cap_calls * 2 : 4;
    mol_chat__call *grown = realloc(ct->calls, cap * sizeof *grown);
    if (!grown) return NULL;
    ct->calls = grown;
    ct->cap_calls = cap;
  }
  mol_chat__call *k = &ct->calls[ct->ncalls++];
  memset(k, 0, sizeof *k);
  k->ct = ct;
  k->index = index;
  return k;
}

/* Servers that repeat id or name in later fragments: the first non-empty value stays. */
static int set_once(char **dst, const char *v) {
  if (*dst || !v || !*v) return 0;
  *dst = strdup(v);
  return *dst ? 0 : -1;
}

int mol_chat__call_args(mol_chat__call *k, const char *s, size_t n, const char **why) {
  mol_chat__turn *ct = k->ct;
  if (n > CHAT_MAX_ARGS_BYTES - ct->args_bytes) {
    *why = "the tool call arguments of one reply are over 1 MiB";
    return -1;
  }
  ct->args_bytes += n;
  if (mol_buf_append(&k->args, s, n)) {
    *why = "out of memory";
    return -1;
  }
  return 0;
}

/* OpenAI sends the arguments as a JSON string; a lenient server's object is taken as its text. */
static int take_args(mol_chat__call *k, const json_t *a, const char **why) {
  if (json_is_string(a))
    return mol_chat__call_args(k, json_string_value(a), json_string_length(a), why);
  if (!a || json_is_null(a)) return 0;
  char *s = mol_json_dump(a);
  int rc = s ? mol_chat__call_args(k, s, strlen(s), why) : -1;
  if (!s) *why = "out of memory";
  free(s);
  return rc;
}

static int take_fragment(mol_chat__call *k, const json_t *tc, const char **why) {
  const json_t *fn = json_object_get(tc, "function");
  if (set_once(&k->id, json_string_value(json_object_get(tc, "id"))) ||
      set_once(&k->name, json_string_value(json_object_get(fn, "name")))) {
    *why = "out of memory";
    return -1;
  }
  return take_args(k, json_object_get(fn, "arguments"), why);
}

int mol_chat__calls_from_message(mol_chat__turn *ct, const json_t *message, const char **why) {
  size_t i;
  json_t *tc;
  json_array_foreach(json_object_get(message, "tool_calls"), i, tc) {
    mol_chat__call *k = mol_chat__call_add(ct, (long)i);
    if (!k) {
      *why = mol_chat__too_many_calls;
      return -1;
    }
    if (take_fragment(k, tc, why)) return -1;
  }
  return 0;
}

static mol_chat__call *call_at(mol_chat__turn *ct, long index) {
  for (size_t i = 0; i < ct->ncalls; i++)
    if (ct->calls[i].index == index) return &ct->calls[i];
  return mol_chat__call_add(ct, index);
}

/* Fragments are keyed by their index, not their place in the array nor their id; the
 * arguments pieces are concatenated in arrival order. */
int mol_chat__calls_feed(mol_chat__turn *ct, const json_t *fragments, const char **why) {
  size_t i;
  json_t *f;
  json_array_foreach(fragments, i, f) {
    const json_t *ix = json_object_get(f, "index");
    mol_chat__call *k = call_at(ct, json_is_integer(ix) ? (long)json_integer_value(ix) : (long)i);
    if (!k) {
      *why = mol_chat__too_many_calls;
      return -1;
    }
    if (take_fragment(k, f, why)) return -1;
  }
  return 0;
}

void mol_chat__calls_clear(mol_chat__turn *ct) {
  for (size_t i = 0; i < ct->ncalls; i++) {
    mol_chat__call *k = &ct->calls[i];
    free(k->id);
    free(k->name);
    mol_buf_free(&k->args);
    free(k->result);
  }
  free(ct->calls);
  ct->calls = NULL;
  ct->ncalls = ct->cap_calls = 0;
  ct->args_bytes = 0;
}

/* ---- the conversation --------------------------------------------------------------------- */

/* Bytes of the valid UTF-8 sequence at s (n > 0 bytes left), 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  size_t len = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
             : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
  if (len == 0 || len > n) return 0;
  for (size_t i = 1; i < len; i++)
    if ((s[i] & 0xC0) != 0x80) return 0;
  if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) || (c == 0xF0 && s[1] < 0x90) ||
      (c == 0xF4 && s[1] > 0x8F))
    return 0; /* overlong, surrogate, past U+10FFFF */
  return len;
}

/* A tool's text as a JSON string; bytes that are not UTF-8 (a process's raw output) become
 * U+FFFD rather than making the request invalid. */
static int write_text(mol_buf *b, const char *s, size_t n) {
  size_t i = 0;
  while (i < n && utf8_seq((const unsigned char *)s + i, n - i)) i += utf8_seq((const unsigned char *)s + i, n - i);
  if (i == n) return mol_json_write_string(b, s, n);
  mol_buf clean = MOL_BUF_INIT;
  int err = mol_buf_append(&clean, s, i);
  while (i < n) {
    size_t len = utf8_seq((const unsigned char *)s + i, n - i);
    err |= mol_buf_append(&clean, len ? s + i : "\xEF\xBF\xBD", len ? len : 3);
    i += len ? len : 1;
  }
  err |= mol_json_write_string(b, clean.data ? clean.data : "", clean.len);
  mol_buf_free(&clean);
  return err;
}

static int write_call(mol_buf *b, const mol_chat__call *k) {
  int err = mol_buf_append_str(b, "{\"id\":");
  err |= mol_json_write_string(b, k->id ? k->id : "", k->id ? strlen(k->id) : 0);
  err |= mol_buf_append_str(b, ",\"type\":\"function\",\"function\":{\"name\":");
  err |= mol_json_write_string(b, k->name ? k->name : "", k->name ? strlen(k->name) : 0);
  err |= mol_buf_append_str(b, ",\"arguments\":");
  err |= mol_json_write_string(b, k->args.data ? k->args.data : "", k->args.len);
  return err | mol_buf_append_str(b, "}}");
}

/* {"role":"assistant","content":…,"tool_calls":[…]}: what the model asked, as it asked it. */
static void append_assistant(mol_chat__turn *ct, const char *content) {
  mol_buf *b = &ct->msgs;
  size_t mark = b->len;
  int err = b->len ? mol_buf_append(b, ",", 1) : 0;
  err |= mol_buf_append_str(b, "{\"role\":\"assistant\",\"content\":");
  err |= content ? mol_json_write_string(b, content, strlen(content)) : mol_buf_append_str(b, "null");
  err |= mol_buf_append_str(b, ",\"tool_calls\":[");
  for (size_t i = 0; i < ct->ncalls; i++)
    err |= (i ? mol_buf_append(b, ",", 1) : 0) | write_call(b, &ct->calls[i]);
  if (err | mol_buf_append_str(b, "]}")) mol_chat__msgs_truncate(b, mark);
}

static void append_results(mol_chat__turn *ct) {
  mol_buf *b = &ct->msgs;
  for (size_t i = 0; i < ct->ncalls; i++) {
    const mol_chat__call *k = &ct->calls[i];
    size_t mark = b->len;
    int err = mol_buf_append_str(b, ",{\"role\":\"tool\",\"tool_call_id\":");
    err |= mol_json_write_string(b, k->id ? k->id : "", k->id ? strlen(k->id) : 0);
    err |= mol_buf_append_str(b, ",\"content\":");
    err |= k->result ? write_text(b, k->result, k->result_len)
                     : mol_buf_append_str(b, "\"Error: out of memory\"");
    if (err | mol_buf_append(b, "}", 1)) mol_chat__msgs_truncate(b, mark);
  }
}

/* ---- running the calls -------------------------------------------------------------------- */

/* Errors read "Error: …" so the model sees a failure, not data. */
static void set_result(mol_chat__call *k, int error, const char *text, size_t len) {
  mol_buf b = MOL_BUF_INIT;
  if (error && strncmp(text, "Error", 5) != 0) mol_buf_append_str(&b, "Error: ");
  /* Every later request carries the result again: a huge one is cut, and says so. A sequence
   * cut in the middle becomes U+FFFD on the way out. */
  mol_buf_append(&b, text, len > CHAT_MAX_RESULT_BYTES ? CHAT_MAX_RESULT_BYTES : len);
  if (len > CHAT_MAX_RESULT_BYTES)
    mol_buf_printf(&b, "\n[cut here: the result was %zu bytes]", len);
  free(k->result);
  k->result_len = b.len;
  k->result = mol_buf_steal(&b);
}

static void set_unknown_tool(mol_chat__call *k) {
  mol_tools *reg = k->ct->c->tools;
  mol_buf b = MOL_BUF_INIT;
  mol_buf_printf(&b, "Error: %s is not a valid tool, try one of [", k->name ? k->name : "");
  for (size_t i = 0; i < mol_tools_count(reg); i++)
    mol_buf_printf(&b, "%s%s", i ? ", " : "", mol_tools_at(reg, i)->name);
  mol_buf_append_str(&b, "].");
  set_result(k, 1, b.data ? b.data : "", b.len);
  mol_buf_free(&b);
}

static void all_results_in(mol_chat__turn *ct) {
  if (!ct->canceled) append_results(ct);
  mol_chat__calls_clear(ct);
  mol_chat__next_round(ct);
}

static void on_tool_result(const mol_tool_result *r, void *arg) {
  mol_chat__call *k = arg;
  mol_chat__turn *ct = k->ct;
  k->call = NULL;
  set_result(k, r->status != MOL_TOOL_OK, r->text, r->len);
  if (--ct->running == 0) all_results_in(ct);
}

static void start_call(mol_chat__turn *ct, mol_chat__call *k) {
  chat *c = ct->c;
  if (ct->calls_made >= c->max_tool_calls) {
    char text[160];
    int n = snprintf(text, sizeof text, "Error: the limit of %u tool calls per request is "
                                        "reached; answer with what you have.", c->max_tool_calls);
    set_result(k, 1, text, (size_t)n < sizeof text ? (size_t)n : sizeof text - 1);
    return;
  }
  ct->calls_made++;
  mol_tool_call_opts o = {.timeout_ms = c->tool_timeout_ms, .cb = on_tool_result, .arg = k};
  int rc = mol_tools_call(c->tools, k->name ? k->name : "", k->args.data, &o, &k->call);
  if (rc == MOL_ENOENT) set_unknown_tool(k);
  else if (rc) set_result(k, 1, mol_strerror(rc), strlen(mol_strerror(rc)));
  else ct->running++;
}

/* "calling tool add", "calling 3 tools: add, add, slow" (a status for a streaming caller). */
static void show_progress(mol_chat__turn *ct) {
  mol_buf b = MOL_BUF_INIT;
  if (ct->ncalls == 1) mol_buf_printf(&b, "calling tool %s", ct->calls[0].name ? ct->calls[0].name : "");
  else mol_buf_printf(&b, "calling %zu tools: ", ct->ncalls);
  for (size_t i = 0; ct->ncalls > 1 && i < ct->ncalls; i++) {
    if (b.len > 200) {
      mol_buf_append_str(&b, ", …");
      break;
    }
    mol_buf_printf(&b, "%s%s", i ? ", " : "", ct->calls[i].name ? ct->calls[i].name : "");
  }
  if (b.data) mol_a2a_turn_working(ct->turn, b.data);
  mol_buf_free(&b);
}

static int by_index(const void *a, const void *b) {
  long x = ((const mol_chat__call *)a)->index, y = ((const mol_chat__call *)b)->index;
  return x < y ? -1 : x > y;
}

/* Calls without an id (some local servers) get one, so every result can name its call. */
static void name_calls(mol_chat__turn *ct) {
  for (size_t i = 0; i < ct->ncalls; i++) {
    mol_chat__call *k = &ct->calls[i];
    if (k->id) continue;
    char id[48];
    snprintf(id, sizeof id, "call_%u_%zu", ct->rounds, i);
    k->id = strdup(id);
  }
}

void mol_chat__tools_run(mol_chat__turn *ct, const char *content) {
  qsort(ct->calls, ct->ncalls, sizeof *ct->calls, by_index);
  name_calls(ct);
  append_assistant(ct, content);
  ct->rounds++;
  if (ct->streaming) show_progress(ct);
  /* Results arrive on later loop turns, never inside mol_tools_call: counting as they start
   * is safe. */
  for (size_t i = 0; i < ct->ncalls; i++) start_call(ct, &ct->calls[i]);
  if (ct->running == 0) all_results_in(ct);
}

void mol_chat__tools_cancel(mol_chat__turn *ct) {
  for (size_t i = 0; i < ct->ncalls; i++)
    if (ct->calls[i].call) mol_tool_call_cancel(ct->calls[i].call);
}
