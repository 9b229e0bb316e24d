/* durable_batch.c - what one commit of the durable task store writes (durable_int.h): the
 * dirty tasks serialised into rows on the loop, the backend's commit run on a thread-pool
 * thread (or here, for a close), its outcome applied on the loop; and reading the saved rows
 * back at start.
 *
 * A batch owns everything its commit reads (the rows, their ids and bodies in one buffer), so
 * the worker thread touches nothing of the loop's: the store may change, even lose the tasks,
 * while their rows are being written. Rows are keyed by a sequence number (d->seq: id -> seq,
 * as bounded as the store), so a task evicted from the store deletes its row by key. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "a2a_uv/durable_int.h"
#include "base/log.h"
#include "molecule.h"

void mol_a2a__durable_batch_free(durable_batch *b) {
  if (!b) return;
  free(b->rows);
  mol_buf_free(&b->bodies);
  json_decref(b->ids);
  free(b);
}

/* A task's row: its id then its body go into b->bodies; *id_off and *body_off say where (the
 * buffer may move until the batch is complete). */
static int add_row(durable_batch *b, const char *id, const mol_a2a_task *t, size_t *id_off,
                   size_t *body_off) {
  mol_a2a_durable *d = b->d;
  json_t *seq = json_object_get(d->seq, id);
  if (!seq) {
    if (json_object_set_new(d->seq, id, json_integer(++d->next_seq)) != 0) return MOL_ENOMEM;
    seq = json_object_get(d->seq, id);
  }
  mol_a2a_task_row *row = &b->rows[b->n];
  *row = (mol_a2a_task_row){.seq = json_integer_value(seq),
                            .ended_ms = t ? mol_a2a_task_ended_ms(t) : 0,
                            .restarted = json_object_get(d->restarted, id) != NULL};
  *id_off = b->bodies.len;
  if (mol_buf_append(&b->bodies, id, strlen(id) + 1) != 0) return MOL_ENOMEM;
  *body_off = b->bodies.len;
  if (t && mol_a2a_task_write(&b->bodies, t) != 0) return MOL_ENOMEM;
  row->body_len = b->bodies.len - *body_off;
  row->body = t ? (const char *)row : NULL; /* a placeholder: set below, NULL deletes */
  b->n++;
  return 0;
}

static int batch_full(const durable_batch *b) {
  return b->n >= MOL_A2A_DURABLE_BATCH_ROWS || b->bodies.len >= MOL_A2A_DURABLE_BATCH_BYTES;
}

/* Takes the tasks of set not taken yet until the batch is full; *left: some are not taken. */
static int fill(durable_batch *b, json_t *set, size_t *off, int *left) {
  const char *id;
  json_t *v;
  json_object_foreach(set, id, v) {
    if (json_object_get(b->ids, id)) continue;
    if (batch_full(b)) {
      *left = 1;
      return 0;
    }
    if (json_object_set_new(b->ids, id, json_true()) != 0) return MOL_ENOMEM;
    const mol_a2a_task *t = b->d->store ? mol_a2a_store_get(b->d->store, id) : NULL;
    /* gone from the store: its row goes; never written if it came and went within one batch */
    if (!t && !json_object_get(b->d->seq, id)) continue;
    size_t i = b->n;
    if (add_row(b, id, t, &off[2 * i], &off[2 * i + 1]) != 0) return MOL_ENOMEM;
  }
  return 0;
}

/* The urgent tasks first (held replies wait for them), then the rest when it is due. */
static int fill_all(durable_batch *b, size_t *off) {
  mol_a2a_durable *d = b->d;
  int left = 0;
  int rc = fill(b, d->urgent, off, &left);
  if (!rc && !left && (d->all_urgent || d->lazy_due)) rc = fill(b, d->dirty, off, &left);
  for (size_t i = 0; i < b->n; i++) {
    b->rows[i].id = b->bodies.data + off[2 * i];
    if (b->rows[i].body) b->rows[i].body = b->bodies.data + off[2 * i + 1];
  }
  return rc;
}

durable_batch *mol_a2a__durable_batch_new(mol_a2a_durable *d) {
  size_t cap = json_object_size(d->dirty) + json_object_size(d->urgent);
  if (cap > MOL_A2A_DURABLE_BATCH_ROWS) cap = MOL_A2A_DURABLE_BATCH_ROWS;
  cap++;
  durable_batch *b = calloc(1, sizeof(*b));
  size_t *off = calloc(2 * cap, sizeof(*off));
  if (b) {
    b->d = d;
    b->bodies = (mol_buf)MOL_BUF_INIT;
    b->ids = json_object();
    b->rows = calloc(cap, sizeof(*b->rows));
  }
  if (!b || !off || !b->ids || !b->rows || fill_all(b, off) != 0) {
    free(off);
    mol_a2a__durable_batch_free(b);
    return NULL;
  }
  free(off);
  /* Taken: what changes from now on is dirty again, for the next batch. */
  const char *id;
  json_t *v;
  json_object_foreach(b->ids, id, v) {
    json_object_del(d->dirty, id);
    json_object_del(d->urgent, id);
  }
  if (!json_object_size(d->dirty)) d->all_urgent = d->lazy_due = 0;
  b->gen = ++d->gen_started;
  b->work.data = b;
  return b;
}

/* ---- running it ---------------------------------------------------------------------------- */

void mol_a2a__durable_batch_run(durable_batch *b) {
  mol_a2a_durable *d = b->d;
  b->rc = d->backend->commit(d->db, b->rows, b->n, b->err, sizeof b->err);
  uv_mutex_lock(&d->lock);
  b->worker_done = 1;
  uv_cond_broadcast(&d->cond);
  uv_mutex_unlock(&d->lock);
}

static void batch_work(uv_work_t *w) { mol_a2a__durable_batch_run(w->data); }

int mol_a2a__durable_batch_queue(durable_batch *b, uv_after_work_cb done) {
  return uv_queue_work(b->d->loop, &b->work, batch_work, done);
}

void mol_a2a__durable_batch_wait(durable_batch *b) {
  mol_a2a_durable *d = b->d;
  uv_mutex_lock(&d->lock);
  while (!b->worker_done) uv_cond_wait(&d->cond, &d->lock);
  uv_mutex_unlock(&d->lock);
}

void mol_a2a__durable_batch_apply(durable_batch *b) {
  mol_a2a_durable *d = b->d;
  b->finished = 1;
  if (b->rc == 0) {
    d->stats.commits++;
    for (size_t i = 0; i < b->n; i++) {
      if (b->rows[i].body) {
        d->stats.rows_written++;
      } else {
        d->stats.rows_deleted++;
        json_object_del(d->seq, b->rows[i].id);
      }
    }
    return;
  }
  /* Nothing of it was written: its tasks are dirty again, for the retry. */
  d->stats.commit_errors++;
  const char *id;
  json_t *v;
  json_object_foreach(b->ids, id, v) json_object_set_new(d->dirty, id, json_true());
  if (d->stats.commit_errors == 1 || d->stats.commit_errors % 60 == 0)
    mol_loge("a2a", "task store: commit failed (%llu times): %s; the replies that would report"
             " its tasks are answered with an error", d->stats.commit_errors, b->err);
}

/* ---- reading back -------------------------------------------------------------------------- */

/* A row that cannot come back is said so and deleted: the store would not have it either. */
static void drop_row(mol_a2a_durable *d, const char *id, const char *why) {
  mol_logw("a2a", "task store: dropping saved task %s: %s", id, why);
  json_object_set_new(d->dirty, id, json_true());
}

typedef struct {
  mol_a2a_durable *d;
  json_t *live;
} load_ctx;

static void load_row(const mol_a2a_task_row *row, void *arg) {
  load_ctx *c = arg;
  mol_a2a_durable *d = c->d;
  if (row->seq > d->next_seq) d->next_seq = row->seq;
  json_object_set_new(d->seq, row->id, json_integer(row->seq)); /* so a drop deletes the row */
  json_error_t jerr;
  json_t *j = row->body ? json_loadb(row->body, row->body_len, JSON_ALLOW_NUL, &jerr) : NULL;
  mol_a2a_error err = {0};
  mol_a2a_task *t = NULL;
  int rc = j ? mol_a2a_store_restore(d->store, j, row->ended_ms, &t, &err) : MOL_EINVAL;
  json_decref(j);
  if (rc) {
    drop_row(d, row->id, !j ? "not JSON" : err.message[0] ? err.message : mol_strerror(rc));
    return;
  }
  if (row->restarted) json_object_set_new(d->restarted, row->id, json_true());
  if (!mol_a2a_state_is_terminal(mol_a2a_task_state_get(t)))
    json_array_append_new(c->live, json_string(row->id));
}

int mol_a2a__durable_load_rows(mol_a2a_durable *d, json_t *live) {
  load_ctx c = {.d = d, .live = live};
  char err[256] = "";
  int rc = d->backend->load(d->db, load_row, &c, err, sizeof err);
  if (rc) mol_loge("a2a", "task store: %s", err);
  return rc;
}
