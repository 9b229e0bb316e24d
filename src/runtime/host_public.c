/* host_public.c - mol_host_new and mol_host_new_from_file (molecule/host.h). A host from plain
 * structs becomes the host file's document, field for field, and goes through the same
 * checks (host_config.c): one set of rules, defaults and error messages for both ways of
 * describing a host. The lifecycle itself is host.c's. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "molecule.h"
#include "molecule/uv.h"
#include "runtime/host.h"

typedef struct {
  char *err;
  size_t errlen;
  size_t agent;              /* index of the entry being built */
} ctx;

static int fail(ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(ctx *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->err, c->errlen, fmt, ap);
  va_end(ap);
  return MOL_EINVAL;
}

/* Sets key unless v is NULL. A string that is not UTF-8 cannot be a YAML string either. */
static int put_str(ctx *c, json_t *o, const char *where, const char *k, const char *v) {
  if (!v) return 0;
  json_t *s = json_string(v);
  if (!s) return fail(c, "%s.%s: not valid UTF-8", where, k);
  return json_object_set_new(o, k, s) ? MOL_ENOMEM : 0;
}

/* Sets key unless v is 0 (the default). */
static int put_int(json_t *o, const char *k, long long v) {
  return v && json_object_set_new(o, k, json_integer(v)) ? MOL_ENOMEM : 0;
}

static const char *const cap_names[] = {"heartbeat", "scheduler", "session", "status_mgmt",
                                        "retry", "activity_decoration", "channel_dispatch"};
enum { N_CAPS = sizeof(cap_names) / sizeof(*cap_names) };

static int put_caps(ctx *c, json_t *o, const char *where, unsigned caps) {
  if (!caps) return 0;
  if (caps >> N_CAPS) return fail(c, "%s.capabilities: unknown flag 0x%x", where, caps);
  json_t *m = json_object();
  if (!m || json_object_set_new(o, "capabilities", m)) return MOL_ENOMEM;
  for (unsigned i = 0; i < N_CAPS; i++)
    if (json_object_set_new(m, cap_names[i], json_boolean(caps & (1u << i)))) return MOL_ENOMEM;
  return 0;
}

/* The extra fields, which may not repeat one the struct sets. */
static int put_extra(ctx *c, json_t *o, const char *where, const char *text) {
  if (!text) return 0;
  char jerr[160];
  json_t *extra = mol_json_parse(text, strlen(text), jerr, sizeof(jerr));
  if (!extra) return fail(c, "%s.extra_json: %s", where, jerr);
  int rc = json_is_object(extra) ? 0 : fail(c, "%s.extra_json: must be a JSON object", where);
  const char *k;
  json_t *v;
  json_object_foreach(extra, k, v) {
    if (rc) break;
    if (json_object_get(o, k))
      rc = fail(c, "%s.extra_json: '%s' is also set by a field of the struct", where, k);
    else if (json_object_set(o, k, v)) rc = MOL_ENOMEM;
  }
  json_decref(extra);
  return rc;
}

static int agent_entry(ctx *c, const mol_host_agent_spec *a, json_t *e) {
  char w[32];
  snprintf(w, sizeof(w), "agents[%zu]", c->agent);
  const char *strs[][2] = {
      {"name", a->name}, {"description", a->description}, {"config_dir", a->config_dir},
      {"workspace_id", a->workspace_id}, {"token_dir", a->token_dir},
      {"public_url", a->public_url}, {"executor", a->executor}, {"model", a->model},
      {"api_base", a->api_base}, {"system_prompt", a->system_prompt},
      {"handler", a->handler}, {"snapshot_path", a->snapshot_path}};
  const struct { const char *k; long long v; } nums[] = {
      {"delay_ms", a->delay_ms}, {"hermes_plugin_port", a->hermes_plugin_port},
      {"hermes_reply_port", a->hermes_reply_port},
      {"handler_timeout_seconds", a->handler_timeout_seconds},
      {"max_handlers", a->max_handlers}, {"max_queued", a->max_queued},
      {"max_output_bytes", (long long)a->max_output_bytes},
      {"idle_timeout_seconds", a->idle_timeout_seconds},
      {"heartbeat_seconds", a->heartbeat_seconds},
      {"state_poll_seconds", a->state_poll_seconds}, {"grace_seconds", a->grace_seconds}};
  int rc = 0;
  for (size_t i = 0; !rc && i < sizeof(strs) / sizeof(*strs); i++)
    rc = put_str(c, e, w, strs[i][0], strs[i][1]);
  for (size_t i = 0; !rc && i < sizeof(nums) / sizeof(*nums); i++)
    rc = put_int(e, nums[i].k, nums[i].v);
  if (!rc && a->task_mode && json_object_set_new(e, "task_mode", json_true())) rc = MOL_ENOMEM;
  if (!rc) rc = put_caps(c, e, w, a->capabilities);
  return rc ? rc : put_extra(c, e, w, a->extra_json);
}

/* The host file's document for o. */
static int host_doc(ctx *c, const mol_host_opts *o, json_t *doc) {
  int rc = put_str(c, doc, "host", "listen", o->listen);
  if (!rc) rc = put_str(c, doc, "host", "platform_url", o->platform_url);
  if (!rc) rc = put_str(c, doc, "host", "public_url", o->public_url);
  if (!rc) rc = put_int(doc, "grace_seconds", o->grace_seconds);
  if (rc) return rc;
  if (o->n_agents && !o->agents) return fail(c, "agents: NULL with n_agents %zu", o->n_agents);
  json_t *list = json_array();
  if (!list || json_object_set_new(doc, "agents", list)) return MOL_ENOMEM;
  for (c->agent = 0; c->agent < o->n_agents; c->agent++) {
    json_t *e = json_object();
    if (!e || json_array_append_new(list, e)) return MOL_ENOMEM;
    if ((rc = agent_entry(c, &o->agents[c->agent], e)) != 0) return rc;
  }
  return 0;
}

int mol_host_new(mol_loop *loop, const mol_host_opts *opts, mol_host **out, char *err,
                 size_t errlen) {
  char scratch[8];
  ctx c = {.err = err ? err : scratch, .errlen = err ? errlen : sizeof(scratch)};
  if (!loop || !opts || !out) return fail(&c, "mol_host_new: loop, opts and out are required");
  json_t *doc = json_object();
  int rc = doc ? host_doc(&c, opts, doc) : MOL_ENOMEM;
  mol_host_config cfg;
  if (!rc) rc = mol_host_config_from_json(doc, opts->base_dir ? opts->base_dir : ".", &cfg,
                                          c.err, c.errlen);
  json_decref(doc);
  if (rc == MOL_ENOMEM) (void)fail(&c, "out of memory");
  return rc ? rc : mol_host_create(mol_loop_uv(loop), &cfg, out);
}

int mol_host_new_from_file(mol_loop *loop, const char *path, mol_host **out, char *err,
                           size_t errlen) {
  char scratch[8];
  ctx c = {.err = err ? err : scratch, .errlen = err ? errlen : sizeof(scratch)};
  if (!loop || !path || !out)
    return fail(&c, "mol_host_new_from_file: loop, path and out are required");
  mol_host_config cfg;
  int rc = mol_host_config_load(path, &cfg, c.err, c.errlen);
  return rc ? rc : mol_host_create(mol_loop_uv(loop), &cfg, out);
}
