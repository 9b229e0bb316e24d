/* task_size.c - what a stored task costs in memory, for the store's byte budget.
 *
 * An estimate of the heap the task keeps alive, close to what glibc's allocator reports for it
 * (docs/a2a.md has the measurement), computed without walking the heap: allocation sizes are
 * rounded the way malloc rounds them, a compact message is sized from its text, and jansson
 * trees (wrapped messages, artifacts, metadata) from their shape, with per-node costs measured
 * on jansson 2.14. It runs when a turn on the task ends, so it must stay cheap for the common
 * task: two compact messages and no tree at all. */
#include <string.h>

#include "a2a/task_int.h"
#include "base/buf.h"
#include "base/crypto.h"
#include "molecule.h"

/* A malloc'd block of n bytes: 8 bytes of header, rounded up to 16, 32 at least. */
static size_t heap(size_t n) {
  size_t b = (n + 8 + 15) & ~(size_t)15;
  return b < 32 ? 32 : b;
}

/* jansson 2.14 on 64-bit glibc, measured: an object with its first hashtable costs 224 bytes
 * and about 80 more per member (more again past 8 members, when the table grows); an array 128
 * with room for 8 values; a string 76 plus its bytes; a number 32; true/false/null nothing. */
#define JSON_OBJECT_BASE 224
#define JSON_MEMBER 80
#define JSON_ARRAY_BASE 128
#define JSON_STRING_BASE 76
#define JSON_NUMBER 32

static size_t tree_size(const json_t *v, int depth) {
  size_t n = 0, i;
  const char *key;
  json_t *item;
  if (!v || depth > 64) return 0; /* deeper than the codec admits: count no further */
  switch (json_typeof(v)) {
    case JSON_OBJECT:
      n = JSON_OBJECT_BASE + (json_object_size(v) > 8 ? json_object_size(v) * 16 : 0);
      json_object_foreach((json_t *)v, key, item) {
        n += JSON_MEMBER + strlen(key) + tree_size(item, depth + 1);
      }
      return n;
    case JSON_ARRAY:
      n = JSON_ARRAY_BASE + (json_array_size(v) > 8 ? json_array_size(v) * sizeof(void *) : 0);
      json_array_foreach(v, i, item) n += tree_size(item, depth + 1);
      return n;
    case JSON_STRING:
      return JSON_STRING_BASE + json_string_length(v);
    case JSON_INTEGER:
    case JSON_REAL:
      return JSON_NUMBER;
    default:
      return 0;
  }
}

/* A compact message is one block: its header (96 bytes), a span per text part, the ids and
 * the text. One text part is read directly; other compact messages by their written length,
 * which exceeds their text by less than their ids and JSON syntax. */
#define CMSG_HEADER 96
#define CMSG_IDS (3 * (MOL_UUID_LEN + 1))

static size_t message_size(const mol_a2a_cmsg *m) {
  if (!m) return 0;
  if (!mol_a2a_cmsg_is_compact(m)) return heap(CMSG_HEADER) + tree_size(mol_a2a_cmsg_json(m), 0);
  size_t len;
  if (mol_a2a_cmsg_only_text(m, &len)) return heap(CMSG_HEADER + 16 + CMSG_IDS + len + 1);
  mol_buf b = MOL_BUF_INIT;
  size_t n = mol_a2a_cmsg_write(&b, m, MOL_A2A_V10) == 0 ? b.len : 0;
  mol_buf_free(&b);
  return heap(CMSG_HEADER + n);
}

/* uthash's share of a task: its bucket array grows with the table (16 bytes a bucket, about
 * one bucket per task at its load factor). */
#define HASH_SHARE 16

size_t mol_a2a__task_size(const mol_a2a_task *t) {
  size_t n = heap(sizeof(*t)) + heap(strlen(t->id) + 1) + heap(strlen(t->context_id) + 1) +
             HASH_SHARE + message_size(t->status_msg);
  if (t->history_cap) n += heap(t->history_cap * sizeof(*t->history));
  for (size_t i = 0; i < t->history_len; i++) n += message_size(t->history[i]);
  n += tree_size(t->artifacts, 0) + tree_size(t->closed, 0) + tree_size(t->metadata, 0);
  if (t->store->push_count) n += mol_a2a__task_push_size(t); /* no call when none anywhere */
  return n;
}
