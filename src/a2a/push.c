/* push.c - push-notification configs: wire shapes of both versions, and their place on the
 * task (push.h). */
#include <stdlib.h>
#include <string.h>

#include "a2a/task_int.h"
#include "molecule.h"

#define INVALID(err, ...) mol_a2a_error_set((err), MOL_A2A_INVALID_PARAMS, __VA_ARGS__)

/* ---- reading ------------------------------------------------------------------------------- */

/* An optional string member: absent, null or "" -> NULL; else a copy. Strings with U+0000 or
 * longer than max are refused: they end in headers and URLs. */
static int opt_str(const json_t *o, const char *key, size_t max, char **out, mol_a2a_error *err) {
  json_t *v = json_object_get(o, key);
  *out = NULL;
  if (!v || json_is_null(v)) return 0;
  if (!json_is_string(v)) return INVALID(err, "pushNotificationConfig.%s must be a string", key);
  size_t n = json_string_length(v);
  if (n == 0) return 0;
  if (n > max || strlen(json_string_value(v)) != n)
    return INVALID(err, "pushNotificationConfig.%s is too long or holds U+0000", key);
  for (const char *p = json_string_value(v); *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f) /* header values: no CR, LF or controls */
      return INVALID(err, "pushNotificationConfig.%s holds a control character", key);
  return (*out = strdup(json_string_value(v))) ? 0 : MOL_ENOMEM;
}

/* v0.3 {schemes:[..], credentials?}; v1.0 {scheme, credentials?}: either, in either version. */
static int read_auth(const json_t *auth, mol_a2a_push_config *c, mol_a2a_error *err) {
  if (!auth || json_is_null(auth)) return 0;
  if (!json_is_object(auth))
    return INVALID(err, "pushNotificationConfig.authentication must be an object");
  int rc = opt_str(auth, "scheme", MOL_A2A_PUSH_FIELD_MAX, &c->auth_scheme, err);
  json_t *schemes = json_object_get(auth, "schemes");
  if (rc == 0 && !c->auth_scheme && schemes && !json_is_null(schemes)) {
    if (!json_is_array(schemes))
      return INVALID(err, "pushNotificationConfig.authentication.schemes must be an array");
    json_t *first = json_array_get(schemes, 0);
    if (first && !json_is_string(first))
      return INVALID(err, "pushNotificationConfig.authentication.schemes must hold strings");
    json_t *wrap = json_pack("{s:O?}", "scheme", first);
    rc = wrap ? opt_str(wrap, "scheme", MOL_A2A_PUSH_FIELD_MAX, &c->auth_scheme, err) : MOL_ENOMEM;
    json_decref(wrap);
  }
  if (rc == 0) rc = opt_str(auth, "credentials", MOL_A2A_PUSH_FIELD_MAX, &c->auth_credentials, err);
  if (rc == 0 && c->auth_scheme && strpbrk(c->auth_scheme, " \t"))
    return INVALID(err, "pushNotificationConfig.authentication scheme must be one word");
  return rc;
}

int mol_a2a_push_config_from_wire(const json_t *cfg, mol_a2a_version v, mol_a2a_push_config *out,
                                  mol_a2a_error *err) {
  memset(out, 0, sizeof(*out));
  out->version = v;
  if (!json_is_object(cfg)) return INVALID(err, "pushNotificationConfig must be an object");
  int rc = opt_str(cfg, "url", MOL_A2A_PUSH_URL_MAX, &out->url, err);
  if (rc == 0 && !out->url) rc = INVALID(err, "pushNotificationConfig.url is required");
  if (rc == 0) rc = opt_str(cfg, "id", MOL_A2A_PUSH_FIELD_MAX, &out->id, err);
  if (rc == 0) rc = opt_str(cfg, "token", MOL_A2A_PUSH_FIELD_MAX, &out->token, err);
  if (rc == 0) rc = read_auth(json_object_get(cfg, "authentication"), out, err);
  if (rc == MOL_ENOMEM) mol_a2a_error_set(err, MOL_A2A_INTERNAL_ERROR, "out of memory");
  if (rc != 0) mol_a2a_push_config_clear(out);
  return rc;
}

void mol_a2a_push_config_clear(mol_a2a_push_config *c) {
  free(c->id);
  free(c->url);
  free(c->token);
  free(c->auth_scheme);
  free(c->auth_credentials);
  memset(c, 0, sizeof(*c));
}

/* ---- writing ------------------------------------------------------------------------------- */

static int set_opt(json_t *o, const char *key, const char *v) {
  return v ? json_object_set_new(o, key, json_string(v)) : 0;
}

static json_t *auth_to_wire(const mol_a2a_push_config *c, mol_a2a_version v) {
  json_t *a = json_object();
  int rc = !a;
  if (!rc && v == MOL_A2A_V10) rc = set_opt(a, "scheme", c->auth_scheme);
  else if (!rc) rc = json_object_set_new(a, "schemes", c->auth_scheme ? json_pack("[s]", c->auth_scheme)
                                                                      : json_array());
  if (!rc) rc = set_opt(a, "credentials", c->auth_credentials);
  if (rc) {
    json_decref(a);
    return NULL;
  }
  return a;
}

/* {id, url, token?, authentication?} */
static json_t *config_body(const mol_a2a_push_config *c, mol_a2a_version v, json_t *into) {
  int rc = !into || set_opt(into, "id", c->id) || set_opt(into, "url", c->url) ||
           set_opt(into, "token", c->token);
  if (!rc && (c->auth_scheme || c->auth_credentials)) {
    json_t *a = auth_to_wire(c, v);
    rc = !a || json_object_set_new(into, "authentication", a);
  }
  if (rc) {
    json_decref(into);
    return NULL;
  }
  return into;
}

json_t *mol_a2a_push_config_to_wire(const char *task_id, const mol_a2a_push_config *c,
                                    mol_a2a_version v) {
  if (v == MOL_A2A_V10) return config_body(c, v, json_pack("{s:s}", "taskId", task_id));
  json_t *inner = config_body(c, v, json_object());
  return inner ? json_pack("{s:s, s:o}", "taskId", task_id, "pushNotificationConfig", inner) : NULL;
}

/* ---- on a task ----------------------------------------------------------------------------- */

struct mol_a2a__push_entry {
  UT_hash_handle hh;
  mol_a2a_task *task; /* the key is its id */
  mol_a2a_push_config *push;
  size_t n;
};
typedef struct mol_a2a__push_entry push_entry;

static push_entry *entry_of(const mol_a2a_task *t) {
  push_entry *e = NULL;
  if (t->store->push_count) HASH_FIND_STR(t->store->push_by_task, t->id, e);
  return e;
}

static int same_id(const mol_a2a_push_config *c, const char *id) { return strcmp(c->id, id) == 0; }

static int find_exact(const push_entry *e, const char *id) {
  for (size_t k = 0; e && k < e->n; k++)
    if (same_id(&e->push[k], id)) return (int)k;
  return -1;
}

/* No id: the config named after the task, else the first. */
static int index_of(const mol_a2a_task *t, const push_entry *e, const char *id) {
  int i = find_exact(e, id ? id : t->id);
  return i >= 0 || id || !e || !e->n ? i : 0;
}

int mol_a2a__task_has_push(const mol_a2a_task *t) { return entry_of(t) != NULL; }

int mol_a2a_store_push_room(const mol_a2a_store *s, const mol_a2a_task *t, const char *id,
                            mol_a2a_error *err) {
  const push_entry *e = t ? entry_of(t) : NULL;
  if (t && find_exact(e, id ? id : t->id) >= 0) return 0; /* a replacement */
  if (e && e->n >= s->o.max_push_per_task) {
    mol_a2a_error_set(err, MOL_A2A_INVALID_PARAMS,
                      "a task holds at most %zu push notification configs", s->o.max_push_per_task);
    return MOL_ELIMIT;
  }
  if (s->push_count >= s->o.max_push_configs) {
    mol_a2a_error_set(err, MOL_A2A_INTERNAL_ERROR, "push notification configs are full; retry later");
    return MOL_ELIMIT;
  }
  return 0;
}

static push_entry *entry_get(mol_a2a_task *t) {
  push_entry *e = entry_of(t);
  if (e || !(e = calloc(1, sizeof(*e)))) return e;
  e->task = t;
  HASH_ADD_KEYPTR(hh, t->store->push_by_task, t->id, strlen(t->id), e);
  if (!MOL_HASH_ADDED(e, hh)) {
    free(e);
    return NULL;
  }
  return e;
}

static void entry_drop(mol_a2a_store *s, push_entry *e) {
  HASH_DEL(s->push_by_task, e);
  free(e->push);
  free(e);
}

int mol_a2a_task_push_put(mol_a2a_task *t, mol_a2a_push_config *cfg,
                          const mol_a2a_push_config **stored, mol_a2a_error *err) {
  mol_a2a_store *s = t->store;
  if (!cfg->id && !(cfg->id = strdup(t->id)))
    return mol_a2a_error_set(err, MOL_A2A_INTERNAL_ERROR, "out of memory");
  int rc = mol_a2a_store_push_room(s, t, cfg->id, err);
  if (rc != 0) return rc;
  push_entry *e = entry_get(t);
  if (!e) return mol_a2a_error_set(err, MOL_A2A_INTERNAL_ERROR, "out of memory");
  int i = find_exact(e, cfg->id);
  if (i < 0) {
    mol_a2a_push_config *grown = realloc(e->push, (e->n + 1) * sizeof(*grown));
    if (!grown) {
      if (!e->n) entry_drop(s, e);
      return mol_a2a_error_set(err, MOL_A2A_INTERNAL_ERROR, "out of memory");
    }
    e->push = grown;
    i = (int)e->n++;
    s->push_count++;
  } else {
    mol_a2a_push_config_clear(&e->push[i]);
  }
  e->push[i] = *cfg;
  memset(cfg, 0, sizeof(*cfg));
  mol_a2a__store_recharge(s, t);
  *stored = &e->push[i];
  return 0;
}

const mol_a2a_push_config *mol_a2a_task_push_find(const mol_a2a_task *t, const char *id) {
  push_entry *e = entry_of(t);
  int i = index_of(t, e, id);
  return i < 0 ? NULL : &e->push[i];
}

size_t mol_a2a_task_push_count(const mol_a2a_task *t) {
  const push_entry *e = entry_of(t);
  return e ? e->n : 0;
}

const mol_a2a_push_config *mol_a2a_task_push_at(const mol_a2a_task *t, size_t i) {
  push_entry *e = entry_of(t);
  return e && i < e->n ? &e->push[i] : NULL;
}

int mol_a2a_task_push_remove(mol_a2a_task *t, const char *id) {
  push_entry *e = entry_of(t);
  int i = index_of(t, e, id);
  if (i < 0) return MOL_ENOENT;
  mol_a2a_push_config_clear(&e->push[i]);
  memmove(&e->push[i], &e->push[i + 1], (e->n - (size_t)i - 1) * sizeof(*e->push));
  e->n--;
  t->store->push_count--;
  if (!e->n) entry_drop(t->store, e);
  mol_a2a__store_recharge(t->store, t);
  return 0;
}

size_t mol_a2a_store_push_count(const mol_a2a_store *s) { return s->push_count; }

void mol_a2a__task_push_free(mol_a2a_task *t) {
  push_entry *e = t->store && t->id ? entry_of(t) : NULL;
  if (!e) return;
  for (size_t i = 0; i < e->n; i++) mol_a2a_push_config_clear(&e->push[i]);
  t->store->push_count -= e->n;
  entry_drop(t->store, e);
}

static size_t heap(size_t n) { return (n + 8 + 15) & ~(size_t)15; }
static size_t str_heap(const char *s) { return s ? heap(strlen(s) + 1) : 0; }

size_t mol_a2a__task_push_size(const mol_a2a_task *t) {
  const push_entry *e = entry_of(t);
  if (!e) return 0;
  size_t n = heap(sizeof(*e)) + heap(e->n * sizeof(*e->push)) + 32; /* + its hash bucket */
  for (size_t i = 0; i < e->n; i++) {
    const mol_a2a_push_config *c = &e->push[i];
    n += str_heap(c->id) + str_heap(c->url) + str_heap(c->token) + str_heap(c->auth_scheme) +
         str_heap(c->auth_credentials);
  }
  return n;
}
