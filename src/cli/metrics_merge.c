/* metrics_merge.c - merges the workers' Prometheus texts into one /metrics body (see
 * metrics_merge.h). Every worker writes a whole, valid text of its own; the merge only needs
 * each line's family (the last "# HELP"/"# TYPE" seen) and each sample's key (what precedes
 * its value). Samples are kept in a jansson object per family (key -> index) so that a key
 * seen again is found at once, whatever the number of agents. */
#include "cli/metrics_merge.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "molecule.h"

typedef struct {
  char *name;
  unsigned owner;          /* the text that brought it: its HELP/TYPE lines are the ones kept */
  int process_wide;        /* the same in every worker: the owner's samples only */
  mol_buf header;
  json_t *index;           /* sample key -> position in samples */
  json_t *samples;         /* [[key, value], ...] in the order first seen */
} family;

typedef struct {
  family *f;
  size_t n, cap;
  json_t *by_name;         /* family name -> position in f */
} merge;

static int is_process_wide(const char *name) {
  return strncmp(name, "process_", 8) == 0 || strcmp(name, "molecule_build_info") == 0;
}

static family *family_get(merge *m, const char *name, size_t len, unsigned text) {
  char key[256];
  snprintf(key, sizeof(key), "%.*s", (int)(len < sizeof(key) - 1 ? len : sizeof(key) - 1), name);
  json_t *at = json_object_get(m->by_name, key);
  if (at) return &m->f[json_integer_value(at)];
  if (m->n == m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 32;
    family *p = realloc(m->f, cap * sizeof(*p));
    if (!p) return NULL;
    m->f = p;
    m->cap = cap;
  }
  family *f = &m->f[m->n];
  *f = (family){.name = strdup(key), .owner = text, .process_wide = is_process_wide(key),
                .header = MOL_BUF_INIT, .index = json_object(), .samples = json_array()};
  if (!f->name || !f->index || !f->samples ||
      json_object_set_new(m->by_name, key, json_integer((json_int_t)m->n))) {
    free(f->name);
    json_decref(f->index);
    json_decref(f->samples);
    return NULL;
  }
  m->n++;
  return f;
}

/* "# HELP name ..." or "# TYPE name ...": the family's name. */
static int header_name(const char *l, size_t len, const char **name, size_t *nlen) {
  if (len < 7 || (strncmp(l, "# HELP ", 7) != 0 && strncmp(l, "# TYPE ", 7) != 0)) return -1;
  const char *end = memchr(l + 7, ' ', len - 7);
  *name = l + 7;
  *nlen = end ? (size_t)(end - *name) : len - 7;
  return 0;
}

static int add_sample(family *f, const char *l, size_t len) {
  const char *sp = NULL;
  for (size_t i = len; i > 0; i--)
    if (l[i - 1] == ' ') {
      sp = l + i - 1;
      break;
    }
  if (!sp) return 0; /* not a sample: dropped */
  char *key = strndup(l, (size_t)(sp - l)), *val = strndup(sp + 1, len - (size_t)(sp - l) - 1);
  int rc = key && val ? 0 : MOL_ENOMEM;
  json_t *at = rc ? NULL : json_object_get(f->index, key);
  if (!rc && at) { /* a counter or gauge of several workers: their sum */
    json_t *pair = json_array_get(f->samples, (size_t)json_integer_value(at));
    char *e1, *e2, sum[32];
    unsigned long long a = strtoull(json_string_value(json_array_get(pair, 1)), &e1, 10);
    unsigned long long b = strtoull(val, &e2, 10);
    if (!*e1 && !*e2) {
      snprintf(sum, sizeof(sum), "%llu", a + b);
      json_array_set_new(pair, 1, json_string(sum));
    }
  } else if (!rc) {
    json_t *pair = json_pack("[ss]", key, val);
    if (!pair || json_object_set_new(f->index, key, json_integer((json_int_t)json_array_size(f->samples))) ||
        json_array_append_new(f->samples, pair))
      rc = MOL_ENOMEM;
  }
  free(key);
  free(val);
  return rc;
}

static int merge_text(merge *m, const char *t, unsigned text) {
  family *cur = NULL;
  int rc = 0;
  while (*t && !rc) {
    const char *nl = strchr(t, '\n');
    size_t len = nl ? (size_t)(nl - t) : strlen(t);
    const char *name;
    size_t nlen;
    if (t[0] == '#') {
      if (header_name(t, len, &name, &nlen) == 0) {
        if (!(cur = family_get(m, name, nlen, text))) rc = MOL_ENOMEM;
        else if (cur->owner == text && (mol_buf_append(&cur->header, t, len) || mol_buf_append(&cur->header, "\n", 1)))
          rc = MOL_ENOMEM;
      }
    } else if (len) {
      if (!cur) { /* a sample before any header: its own family */
        const char *end = t;
        while (end < t + len && *end != '{' && *end != ' ') end++;
        if (!(cur = family_get(m, t, (size_t)(end - t), text))) rc = MOL_ENOMEM;
      }
      if (!rc && (!cur->process_wide || cur->owner == text)) rc = add_sample(cur, t, len);
    }
    t += len + (nl ? 1 : 0);
  }
  return rc;
}

static int write_out(const merge *m, mol_buf *out) {
  int rc = 0;
  for (size_t i = 0; i < m->n && !rc; i++) {
    const family *f = &m->f[i];
    if (f->header.len) rc = mol_buf_append(out, f->header.data, f->header.len);
    for (size_t j = 0; j < json_array_size(f->samples) && !rc; j++) {
      json_t *pair = json_array_get(f->samples, j);
      rc = mol_buf_printf(out, "%s %s\n", json_string_value(json_array_get(pair, 0)),
                          json_string_value(json_array_get(pair, 1)));
    }
  }
  return rc;
}

int mol_cli__metrics_merge(const char *const *texts, unsigned n, mol_buf *out) {
  merge m = {.by_name = json_object()};
  int rc = m.by_name ? 0 : MOL_ENOMEM;
  for (unsigned i = 0; i < n && !rc; i++)
    if (texts[i]) rc = merge_text(&m, texts[i], i);
  if (!rc) rc = write_out(&m, out);
  for (size_t i = 0; i < m.n; i++) {
    free(m.f[i].name);
    mol_buf_free(&m.f[i].header);
    json_decref(m.f[i].index);
    json_decref(m.f[i].samples);
  }
  free(m.f);
  json_decref(m.by_name);
  return rc ? MOL_ENOMEM : 0;
}
