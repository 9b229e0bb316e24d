/* api_turn.c - reading a public turn (molecule/a2a.h): the ids and the text come straight from
 * the internal turn; the JSON texts and the parts are built on first use and kept with the
 * handle until its ending call. An ended turn still inside execute() reads as empty. */
#include <stdlib.h>
#include <string.h>

#include "a2a_uv/api_exec_int.h"
#include "base/json.h"
#include "molecule/uv.h"

void mol_a2a__api_turn_cache_free(api_turn_cache *c) {
  free(c->message_json);
  free(c->message_meta);
  free(c->request_meta);
  for (size_t i = 0; i < c->nstrings; i++) free(c->strings[i]);
  free(c->strings);
  free(c->parts);
}

/* The cache is the handle's own memory: filling it does not change what the turn says. */
static api_turn_cache *cache_of(const mol_turn *t) { return &((mol_turn *)t)->cache; }

static const char *dumped(char **slot, const json_t *v) {
  if (!*slot && v) *slot = mol_json_dump(v);
  return *slot;
}

uv_loop_t *mol_turn_loop(const mol_turn *t) { return t && t->it ? mol_a2a_turn_loop(t->it) : NULL; }

const char *mol_turn_text(const mol_turn *t) { return t && t->it ? mol_a2a_turn_text(t->it) : ""; }

const char *mol_turn_message_id(const mol_turn *t) {
  const char *s = t && t->it ? mol_a2a_turn_message_id(t->it) : NULL;
  return s ? s : "";
}

const char *mol_turn_task_id(const mol_turn *t) {
  return t && t->it ? mol_a2a_turn_task_id(t->it) : "";
}

const char *mol_turn_context_id(const mol_turn *t) {
  const char *s = t && t->it ? mol_a2a_turn_context_id(t->it) : NULL;
  return s ? s : "";
}

const char *mol_turn_message_metadata(const mol_turn *t) {
  if (!t || !t->it) return NULL;
  return dumped(&cache_of(t)->message_meta, mol_a2a_turn_message_metadata(t->it));
}

const char *mol_turn_request_metadata(const mol_turn *t) {
  if (!t || !t->it) return NULL;
  return dumped(&cache_of(t)->request_meta, mol_a2a_turn_request_metadata(t->it));
}

const char *mol_turn_message_json(const mol_turn *t) {
  if (!t || !t->it) return NULL;
  return dumped(&cache_of(t)->message_json, mol_a2a_turn_message(t->it));
}

int mol_turn_streaming(const mol_turn *t) { return t && t->it ? mol_a2a_turn_streaming(t->it) : 0; }

int mol_turn_cancel_requested(const mol_turn *t) {
  return t && t->it ? mol_a2a_turn_cancel_requested(t->it) : 0;
}

void mol_turn_set_data(mol_turn *t, void *data) {
  if (t) t->data = data;
}

void *mol_turn_data(const mol_turn *t) { return t ? t->data : NULL; }

/* ---- parts --------------------------------------------------------------------------------- */

static const json_t *parts_of(const mol_turn *t) {
  return t && t->it ? json_object_get(mol_a2a_turn_message(t->it), "parts") : NULL;
}

size_t mol_turn_part_count(const mol_turn *t) { return json_array_size(parts_of(t)); }

/* A value as JSON text, kept by the cache. */
static const char *keep(api_turn_cache *c, const json_t *v, int *oom) {
  if (!v) return NULL;
  char *s = mol_json_dump(v);
  if (!s) {
    *oom = 1;
    return NULL;
  }
  c->strings[c->nstrings++] = s;
  return s;
}

static void read_part(api_turn_cache *c, const json_t *p, mol_part *out, int *oom) {
  const char *kind = json_string_value(json_object_get(p, "kind"));
  const json_t *file = json_object_get(p, "file");
  memset(out, 0, sizeof(*out));
  if (kind && strcmp(kind, "file") == 0) {
    out->kind = MOL_PART_FILE;
    out->file_name = json_string_value(json_object_get(file, "name"));
    out->file_mime_type = json_string_value(json_object_get(file, "mimeType"));
    out->file_uri = json_string_value(json_object_get(file, "uri"));
    out->file_bytes = json_string_value(json_object_get(file, "bytes"));
  } else if (kind && strcmp(kind, "data") == 0) {
    out->kind = MOL_PART_DATA;
    out->data_json = keep(c, json_object_get(p, "data"), oom);
  } else {
    out->kind = MOL_PART_TEXT;
    out->text = json_string_value(json_object_get(p, "text"));
    if (!out->text) out->text = "";
  }
  out->metadata_json = keep(c, json_object_get(p, "metadata"), oom);
}

static int build_parts(const mol_turn *t, api_turn_cache *c) {
  const json_t *parts = parts_of(t);
  size_t n = json_array_size(parts);
  c->parts = calloc(n ? n : 1, sizeof(*c->parts));
  c->strings = calloc(n ? 2 * n : 1, sizeof(*c->strings)); /* data + metadata per part */
  if (!c->parts || !c->strings) return MOL_ENOMEM;
  int oom = 0;
  for (size_t i = 0; i < n; i++) read_part(c, json_array_get(parts, i), &c->parts[i], &oom);
  c->nparts = n;
  return oom ? MOL_ENOMEM : 0;
}

const mol_part *mol_turn_part(const mol_turn *t, size_t i) {
  if (!t || !t->it) return NULL;
  api_turn_cache *c = cache_of(t);
  if (!c->parts_built) {
    if (build_parts(t, c)) { /* try again next time */
      for (size_t k = 0; k < c->nstrings; k++) free(c->strings[k]);
      free(c->strings);
      free(c->parts);
      c->strings = NULL;
      c->parts = NULL;
      c->nstrings = c->nparts = 0;
      return NULL;
    }
    c->parts_built = 1;
  }
  return i < c->nparts ? &c->parts[i] : NULL;
}
