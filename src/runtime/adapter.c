/* adapter.c - capabilities, runtime metadata, transcript ring, memory blocks. */
#include "runtime/adapter.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/crypto.h"
#include "base/file.h"

json_t *mol_capabilities_json(const mol_capabilities *c) {
  return json_pack("{s:b,s:b,s:b,s:b,s:b,s:b,s:b}", "heartbeat", c->heartbeat, "scheduler",
                   c->scheduler, "session", c->session, "status_mgmt", c->status_mgmt, "retry",
                   c->retry, "activity_decoration", c->activity_decoration, "channel_dispatch",
                   c->channel_dispatch);
}

json_t *mol_runtime_metadata(const mol_capabilities *c, int idle_timeout_s) {
  json_t *m = json_object();
  json_object_set_new(m, "capabilities", mol_capabilities_json(c));
  if (idle_timeout_s > 0) json_object_set_new(m, "idle_timeout_seconds", json_integer(idle_timeout_s));
  return m;
}

/* ---- transcript ring ---------------------------------------------------------------------- */

struct mol_transcript {
  char **lines;   /* grows by doubling up to cap: most agents' transcripts stay empty */
  size_t cap, alloc;
  uint64_t first; /* cursor of the oldest kept line */
  uint64_t next;  /* cursor the next line gets */
};

mol_transcript *mol_transcript_new(size_t cap) {
  mol_transcript *t = calloc(1, sizeof(*t));
  if (!t) return NULL;
  t->cap = cap ? cap : 1000;
  return t;
}

void mol_transcript_free(mol_transcript *t) {
  if (!t) return;
  for (size_t i = 0; i < t->alloc; i++) free(t->lines[i]);
  free(t->lines);
  free(t);
}

/* Makes room for slot (< cap). Until the ring is full a line's slot is its cursor, so the
 * array only ever needs to reach the next cursor. */
static int transcript_reserve(mol_transcript *t, size_t slot) {
  if (slot < t->alloc) return 0;
  size_t n = t->alloc ? t->alloc * 2 : 8;
  if (n > t->cap) n = t->cap;
  char **p = realloc(t->lines, n * sizeof(*p));
  if (!p) return -ENOMEM;
  memset(p + t->alloc, 0, (n - t->alloc) * sizeof(*p));
  t->lines = p;
  t->alloc = n;
  return 0;
}

int mol_transcript_append(mol_transcript *t, const char *line) {
  size_t slot = t->next % t->cap;
  if (transcript_reserve(t, slot)) return -ENOMEM;
  char *copy = strdup(line);
  if (!copy) return -ENOMEM;
  free(t->lines[slot]);
  t->lines[slot] = copy;
  t->next++;
  if (t->next - t->first > t->cap) t->first = t->next - t->cap;
  return 0;
}

static json_t *range(const mol_transcript *t, uint64_t from, uint64_t to) {
  json_t *a = json_array();
  for (uint64_t c = from; c < to; c++) json_array_append_new(a, json_string(t->lines[c % t->cap]));
  return a;
}

json_t *mol_transcript_lines(const mol_transcript *t, const char *runtime, uint64_t since,
                             size_t limit) {
  if (limit == 0) limit = 100;
  if (limit > 1000) limit = 1000;
  uint64_t from = since < t->first ? t->first : (since > t->next ? t->next : since);
  uint64_t to = from + limit < t->next ? from + limit : t->next;
  return json_pack("{s:s,s:b,s:o,s:I,s:b,s:s}", "runtime", runtime ? runtime : "", "supported", 1,
                   "lines", range(t, from, to), "cursor", (json_int_t)to, "more", to < t->next,
                   "source", "ring");
}

json_t *mol_transcript_tail(const mol_transcript *t, size_t n) {
  uint64_t from = t->next - t->first > n ? t->next - n : t->first;
  return range(t, from, t->next);
}

/* ---- memory blocks ------------------------------------------------------------------------ */

static char *read_file(const char *path, int *err) {
  FILE *f = fopen(path, "rb");
  mol_buf b = MOL_BUF_INIT;
  *err = 0;
  if (!f) {
    if (errno != ENOENT) *err = -errno;
    return *err ? NULL : mol_buf_steal(&b);
  }
  char chunk[8192];
  size_t n;
  while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) mol_buf_append(&b, chunk, n);
  if (ferror(f)) *err = -EIO;
  fclose(f);
  if (*err) {
    mol_buf_free(&b);
    return NULL;
  }
  return mol_buf_steal(&b);
}

/* Finds the block whose header starts with `head` (a whole line prefix). Sets [*s, *e) to
 * the block including its end line and trailing newline. Returns 1 if found. */
static int find_block(const char *text, const char *head, const char *end_line, size_t *s,
                      size_t *e) {
  size_t hl = strlen(head);
  for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
    if (strncmp(p, head, hl) != 0) continue;
    const char *end = strstr(p, end_line);
    if (!end) return 0;
    end += strlen(end_line);
    if (*end == '\n') end++;
    *s = (size_t)(p - text);
    *e = (size_t)(end - text);
    return 1;
  }
  return 0;
}

static int write_back(const char *path, mol_buf *b) {
  return mol_write_file_atomic(path, b->data ? b->data : "", b->len, 0644);
}

int mol_memory_put_block(const char *path, const char *plugin, const char *label,
                         const char *content) {
  uint8_t d[MOL_SHA256_LEN];
  char hex[MOL_SHA256_HEX_LEN + 1], head[512], end_line[512], full[600];
  mol_sha256_once(content, strlen(content), d);
  mol_hex(d, sizeof(d), hex);
  snprintf(head, sizeof(head), "# Plugin: %s / %s sha256:", plugin, label);
  snprintf(full, sizeof(full), "%s%s\n", head, hex);
  snprintf(end_line, sizeof(end_line), "<!-- end plugin: %s / %s -->", plugin, label);
  int err;
  char *text = read_file(path, &err);
  if (!text) return err;
  size_t s, e;
  int found = find_block(text, head, end_line, &s, &e);
  if (found && strncmp(text + s, full, strlen(full)) == 0) {
    free(text);
    return 0;
  }
  mol_buf out = MOL_BUF_INIT;
  mol_buf_append(&out, text, found ? s : strlen(text));
  if (!found && out.len && out.data[out.len - 1] != '\n') mol_buf_append_str(&out, "\n");
  mol_buf_printf(&out, "%s\n%s%s%s\n", full, content,
                 content[0] && content[strlen(content) - 1] == '\n' ? "" : "\n", end_line);
  if (found) mol_buf_append_str(&out, text + e);
  free(text);
  int rc = write_back(path, &out);
  mol_buf_free(&out);
  return rc ? rc : 1;
}

int mol_memory_remove_plugin(const char *path, const char *plugin) {
  char head[512], end_prefix[512];
  snprintf(head, sizeof(head), "# Plugin: %s / ", plugin);
  snprintf(end_prefix, sizeof(end_prefix), "<!-- end plugin: %s / ", plugin);
  int err, removed = 0;
  char *text = read_file(path, &err);
  if (!text) return err;
  size_t s, e;
  while (find_block(text, head, end_prefix, &s, &e)) {
    /* e points just past the end prefix: extend to the end of that line. */
    const char *nl = strchr(text + e, '\n');
    size_t stop = nl ? (size_t)(nl - text) + 1 : strlen(text);
    memmove(text + s, text + stop, strlen(text + stop) + 1);
    removed++;
  }
  if (removed) {
    mol_buf out = MOL_BUF_INIT;
    mol_buf_append_str(&out, text);
    err = write_back(path, &out);
    mol_buf_free(&out);
  }
  free(text);
  return err ? err : removed;
}
