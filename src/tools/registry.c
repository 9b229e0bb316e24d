/* registry.c - the tool registry and the life of one call (see registry.h): lookup, the
 * arguments checked against the schema, the deadline, cancel and the one deferred result. */
#include "tools/registry.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/holds.h"
#include "tools/args.h"
#include "tools/schema.h"

#define DEFAULT_TIMEOUT_MS 120000u

typedef struct {
  mol_tool_def def;          /* strings owned */
  json_t *schema;
} tool;

struct mol_tools {
  const mol_tool_env *env;
  tool *tools;
  size_t n, cap;
  unsigned long changes;     /* tools added or removed, ever */
};

/* A call lives while its caller waits for the result (one hold, dropped after the callback
 * returned) and while its tool runs (one hold, dropped by the tool's ending). The timer is the
 * deadline first, then the deferred delivery of the result, and the holds' last handle. */
struct mol_tool_call {
  mol_holds holds;
  uv_timer_t timer;
  const mol_tool_env *env;
  void (*cancel)(mol_tool_call *call);
  void *self;
  char *name;
  void *data;
  mol_tool_cb cb;
  void *arg;
  unsigned timeout_ms;
  int tool_running;
  int stopping;
  int has_result;            /* the result below is fixed; delivered by the timer */
  mol_tool_status status;
  char *text;
  size_t len;
};

/* ---- the registry ------------------------------------------------------------------------- */

mol_tools *mol_tools_new(const mol_tool_env *env) {
  mol_tools *reg = calloc(1, sizeof *reg);
  if (reg) reg->env = env;
  return reg;
}

static int valid_name(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n > 64) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          *s == '_' || *s == '-'))
      return 0;
  return 1;
}

static void tool_clear(tool *t) {
  free((char *)t->def.name);
  free((char *)t->def.description);
  free((char *)t->def.input_schema);
  json_decref(t->schema);
}

int mol_tools_add(mol_tools *reg, const mol_tool_def *def) {
  if (!def || !valid_name(def->name) || !def->start || !def->input_schema) return MOL_EINVAL;
  if (mol_tools_find(reg, def->name)) return MOL_EEXIST;
  json_t *schema = json_loads(def->input_schema, 0, NULL);
  if (!json_is_object(schema)) {
    json_decref(schema);
    return MOL_EINVAL;
  }
  if (reg->n == reg->cap) {
    size_t cap = reg->cap ? reg->cap * 2 : 16;
    tool *grown = realloc(reg->tools, cap * sizeof *grown);
    if (!grown) {
      json_decref(schema);
      return MOL_ENOMEM;
    }
    reg->tools = grown;
    reg->cap = cap;
  }
  tool *t = &reg->tools[reg->n];
  t->def = *def;
  t->def.name = strdup(def->name);
  t->def.description = strdup(def->description ? def->description : "");
  t->def.input_schema = strdup(def->input_schema);
  t->schema = schema;
  if (!t->def.name || !t->def.description || !t->def.input_schema) {
    tool_clear(t);
    return MOL_ENOMEM;
  }
  reg->n++;
  reg->changes++;
  return 0;
}

static tool *find(const mol_tools *reg, const char *name) {
  for (size_t i = 0; name && i < reg->n; i++)
    if (strcmp(reg->tools[i].def.name, name) == 0) return &reg->tools[i];
  return NULL;
}

int mol_tools_remove(mol_tools *reg, const char *name) {
  tool *t = find(reg, name);
  if (!t) return MOL_ENOENT;
  tool_clear(t);
  size_t i = (size_t)(t - reg->tools);
  memmove(t, t + 1, (reg->n - i - 1) * sizeof *t);
  reg->n--;
  reg->changes++;
  return 0;
}

void mol_tools_free(mol_tools *reg) {
  if (!reg) return;
  for (size_t i = 0; i < reg->n; i++) tool_clear(&reg->tools[i]);
  free(reg->tools);
  free(reg);
}

size_t mol_tools_count(const mol_tools *reg) { return reg->n; }
unsigned long mol_tools_changes(const mol_tools *reg) { return reg->changes; }

const mol_tool_def *mol_tools_at(const mol_tools *reg, size_t i) {
  return i < reg->n ? &reg->tools[i].def : NULL;
}

const mol_tool_def *mol_tools_find(const mol_tools *reg, const char *name) {
  tool *t = find(reg, name);
  return t ? &t->def : NULL;
}

const mol_tool_env *mol_tools_env(const mol_tools *reg) { return reg->env; }

static json_t *list(const mol_tools *reg, int openai) {
  json_t *arr = json_array();
  for (size_t i = 0; arr && i < reg->n; i++) {
    const tool *t = &reg->tools[i];
    json_t *fn = json_pack("{s:s, s:s, s:O}", "name", t->def.name, "description",
                           t->def.description, openai ? "parameters" : "inputSchema", t->schema);
    if (fn && openai) fn = json_pack("{s:s, s:o}", "type", "function", "function", fn);
    if (!fn || json_array_append_new(arr, fn) < 0) {
      json_decref(arr);
      return NULL;
    }
  }
  return arr;
}

json_t *mol_tools_openai(const mol_tools *reg) { return list(reg, 1); }
json_t *mol_tools_mcp(const mol_tools *reg) { return list(reg, 0); }

/* ---- one call ----------------------------------------------------------------------------- */

static void call_finish(void *data) {
  mol_tool_call *call = data;
  free(call->name);
  free(call->text);
  free(call);
}

static void on_timer(uv_timer_t *timer);

/* Fixes the caller's result (the first one wins) and has the timer deliver it. */
static void set_result(mol_tool_call *call, mol_tool_status status, const char *text, size_t len) {
  if (call->has_result) return;
  call->has_result = 1;
  call->status = status;
  call->text = malloc(len + 1);
  if (call->text) {
    memcpy(call->text, text, len);
    call->text[len] = '\0';
    call->len = len;
  }
  uv_timer_stop(&call->timer);
  uv_timer_start(&call->timer, on_timer, 0, 0);
}

static void set_resultf(mol_tool_call *call, mol_tool_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_resultf(mol_tool_call *call, mol_tool_status status, const char *fmt, ...) {
  char text[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  set_result(call, status, text, n < 0 ? 0 : (size_t)n < sizeof text ? (size_t)n : sizeof text - 1);
}

static void ask_tool_to_stop(mol_tool_call *call) {
  if (call->stopping || !call->tool_running) return;
  call->stopping = 1;
  if (call->cancel) call->cancel(call); /* may end the call (and drop the tool's hold) */
}

static void deliver(mol_tool_call *call) {
  mol_tool_result r = {
    .status = call->text ? call->status : MOL_TOOL_ERROR,
    .name = call->name,
    .text = call->text ? call->text : "out of memory",
  };
  r.len = strlen(r.text);
  if (call->text) r.len = call->len;
  mol_tool_cb cb = call->cb;
  call->cb = NULL;
  uv_timer_stop(&call->timer);
  cb(&r, call->arg);
  mol_holds_drop(&call->holds); /* the caller's hold */
}

static void on_timer(uv_timer_t *timer) {
  mol_tool_call *call = timer->data;
  if (!call->cb) return;
  if (!call->has_result) {
    set_resultf(call, MOL_TOOL_TIMED_OUT, "%s timed out after %u ms", call->name,
                call->timeout_ms);
    ask_tool_to_stop(call);
  }
  deliver(call);
}

static void tool_ended(mol_tool_call *call) {
  assert(call->tool_running && "a tool call ended twice");
  call->tool_running = 0;
  mol_holds_drop(&call->holds); /* the tool's hold */
}

static int start_tool(mol_tool_call *call, tool *t, const char *args_json) {
  char err[256];
  json_t *args = args_json && *args_json ? mol_tools__args_parse(args_json, strlen(args_json))
                                         : json_object();
  if (!args) {
    set_resultf(call, MOL_TOOL_ERROR, "%s: the arguments are not valid JSON", t->def.name);
    return 0;
  }
  if (mol_tool_schema_check(t->schema, args, err, sizeof err) < 0) {
    set_resultf(call, MOL_TOOL_ERROR, "%s: %s", t->def.name, err);
    json_decref(args);
    return 0;
  }
  call->tool_running = 1;
  mol_holds_take(&call->holds);
  int rc = t->def.start(call, args);
  json_decref(args);
  if (rc < 0) {
    set_resultf(call, MOL_TOOL_ERROR, "%s: %s", t->def.name, mol_strerror(rc));
    tool_ended(call);
  }
  return 0;
}

int mol_tools_call(mol_tools *reg, const char *name, const char *args_json,
                   const mol_tool_call_opts *o, mol_tool_call **out) {
  if (!o || !o->cb) return MOL_EINVAL;
  tool *t = find(reg, name);
  if (!t) return MOL_ENOENT;
  mol_tool_call *call = calloc(1, sizeof *call);
  if (!call || !(call->name = strdup(t->def.name))) {
    free(call);
    return MOL_ENOMEM;
  }
  call->env = reg->env;
  call->cancel = t->def.cancel;
  call->self = t->def.self;
  call->cb = o->cb;
  call->arg = o->arg;
  uv_timer_init(reg->env->loop, &call->timer);
  call->timer.data = call;
  mol_holds_init(&call->holds, (uv_handle_t *)&call->timer, call_finish, call);
  call->timeout_ms = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
  if (out) *out = call;
  start_tool(call, t, args_json);
  if (!call->has_result) uv_timer_start(&call->timer, on_timer, call->timeout_ms, 0);
  return 0;
}

void mol_tool_call_cancel(mol_tool_call *call) {
  if (!call->cb || call->has_result) return;
  set_resultf(call, MOL_TOOL_CANCELED, "%s canceled", call->name);
  ask_tool_to_stop(call);
}

/* ---- for tool implementations --------------------------------------------------------------- */

const mol_tool_env *mol_tool_call_env(const mol_tool_call *call) { return call->env; }
void *mol_tool_call_self(const mol_tool_call *call) { return call->self; }
const char *mol_tool_call_name(const mol_tool_call *call) { return call->name; }
void mol_tool_call_set_data(mol_tool_call *call, void *data) { call->data = data; }
void *mol_tool_call_data(const mol_tool_call *call) { return call->data; }
int mol_tool_call_stopping(const mol_tool_call *call) { return call->stopping; }

void mol_tool_call_done(mol_tool_call *call, const char *text, size_t len) {
  if (!text) text = "";
  if (len == (size_t)-1) len = strlen(text);
  if (!call->has_result) set_result(call, MOL_TOOL_OK, text, len);
  tool_ended(call);
}

void mol_tool_call_fail(mol_tool_call *call, const char *fmt, ...) {
  if (!call->has_result) {
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    set_result(call, MOL_TOOL_ERROR, text,
               n < 0 ? 0 : (size_t)n < sizeof text ? (size_t)n : sizeof text - 1);
  }
  tool_ended(call);
}
