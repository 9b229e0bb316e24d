/* agent_sessions.c - the sessions on disk (runtime/agent_care.h), in the spirit of upstream
 * molexp's SessionStore: every transcript line, with the context it belongs to, is appended to
 * "<state dir>/.sessions/transcript.jsonl" as one JSON object per line,
 *   {"ctx":"<contextId>","who":"user"|"agent","text":"..."}
 * so a restarted agent has its transcript (GET /transcript, the pre-stop snapshot) and each
 * context's conversation (the chat executor's history for a turn that brings none) back.
 *
 * Appends are whole lines in one write(2) on an O_APPEND file, in the thread pool, one batch at
 * a time in order; a line torn by a crash is skipped when read back (and the next batch starts
 * on a line of its own). Bounded: past max_lines the file is renamed to transcript.jsonl.1
 * (replacing the older one) and a new one starts, so the disk holds at most twice max_lines;
 * in memory each context keeps its last CTX_MSGS messages, and at most MAX_CTXS contexts and
 * MAX_CTX_BYTES of text are kept (the least recently used context goes first). Only the
 * executors that read a history (chat, and hermes for its chat fallback) keep contexts. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uthash.h>

#include "base/buf.h"
#include "base/file.h"
#include "base/json.h"
#include "base/log.h"
#include "runtime/agent_care.h"
#include "runtime/agent_int.h"

#define SCOPE "agent"
#define CTX_MSGS 200              /* messages kept per context */
#define MAX_CTXS 1000             /* contexts kept in memory */
#define MAX_CTX_BYTES (64u << 20) /* text kept in memory, all contexts together */
#define MIN_LINES 1000            /* lines per file, at least */
#define MAX_READ (64u << 20)      /* what a start-up reads of one file */
#define MAX_QUEUED (16u << 20)    /* bytes waiting for the disk; past it lines are dropped, logged */

typedef struct mol_agent__ctx mol_agent__ctx;
typedef struct mol_agent__msg mol_agent__msg;

struct mol_agent__sessions {
  mol_agent *owner;            /* held until this is freed */
  char *path, *old_path;       /* NULL: memory only */
  mol_agent__ctx *ctxs;        /* by context id, the least recently used first */
  size_t ctx_bytes;            /* text held by ctxs */
  int keep_ctxs;               /* the executor reads histories */
  size_t max_lines, file_lines;
  mol_buf queue;               /* lines waiting for the disk */
  size_t queue_lines;
  int needs_newline;           /* the file ends in a torn line */
  /* The batch the thread pool is writing. */
  uv_work_t work;
  mol_buf batch;
  int rotate, writing, closing, work_err;
  unsigned long long dropped;
};

static void ctxs_free(mol_agent__sessions *s);

static void sessions_free(mol_agent__sessions *s) {
  mol_agent *owner = s->owner;
  if (s->dropped) mol_logw(SCOPE, "%s: %llu transcript lines never reached the disk", owner->name, s->dropped);
  ctxs_free(s);
  mol_buf_free(&s->queue);
  mol_buf_free(&s->batch);
  free(s->path);
  free(s->old_path);
  free(s);
  mol_holds_drop(&owner->holds);
}

/* ---- the per-context history ------------------------------------------------------------------ */

/* One context's conversation, in a hash by context id whose insertion order is the order of
 * use: a context moves to the end when used, so the least recently used one is the first and
 * is evicted without a scan. (A caller that sends no contextId gets a fresh one each turn:
 * past MAX_CTXS every such turn evicts one, and scanning them all for the oldest was most of
 * the turn.) */
struct mol_agent__ctx {
  UT_hash_handle hh;
  mol_agent__msg *first, *last; /* the oldest first */
  size_t n_msgs;
  size_t bytes;                 /* their text */
  json_t *json;                 /* the history as A2A messages, built when asked; NULL: not yet */
  char id[];
};

/* A message is its text: the A2A form the chat executor reads is built only for a context it
 * asks about (most turns start a context, and building a tree per message and freeing it when
 * the context is evicted was a sixth of a turn). */
struct mol_agent__msg {
  mol_agent__msg *next;
  size_t len;
  int agent; /* 0: "user" */
  char text[];
};

static void ctx_changed(mol_agent__ctx *c) {
  json_decref(c->json);
  c->json = NULL;
}

static void drop_first_msg(mol_agent__sessions *s, mol_agent__ctx *c) {
  mol_agent__msg *m = c->first;
  c->first = m->next;
  if (!c->first) c->last = NULL;
  c->n_msgs--;
  c->bytes -= m->len;
  s->ctx_bytes -= m->len;
  free(m);
  ctx_changed(c);
}

static void ctx_drop(mol_agent__sessions *s, mol_agent__ctx *c) {
  HASH_DEL(s->ctxs, c);
  while (c->first) drop_first_msg(s, c);
  free(c);
}

static void ctxs_free(mol_agent__sessions *s) {
  mol_agent__ctx *c, *tmp;
  HASH_ITER(hh, s->ctxs, c, tmp) ctx_drop(s, c);
}

static mol_agent__ctx *ctx_find(mol_agent__sessions *s, const char *id) {
  mol_agent__ctx *c = NULL;
  HASH_FIND_STR(s->ctxs, id, c);
  return c;
}

/* The context, now the most recently used (created when new); NULL without memory. */
static mol_agent__ctx *ctx_use(mol_agent__sessions *s, const char *id) {
  mol_agent__ctx *c = ctx_find(s, id);
  if (c) {
    if (c->hh.next) { /* not the last: back in at the end, the order of use */
      HASH_DEL(s->ctxs, c);
      HASH_ADD_KEYPTR(hh, s->ctxs, c->id, strlen(c->id), c);
    }
    return c;
  }
  if (HASH_COUNT(s->ctxs) >= MAX_CTXS) ctx_drop(s, s->ctxs);
  size_t len = strlen(id);
  c = calloc(1, sizeof(*c) + len + 1);
  if (!c) return NULL;
  memcpy(c->id, id, len + 1);
  HASH_ADD_KEYPTR(hh, s->ctxs, c->id, len, c);
  return c;
}

static void remember(mol_agent__sessions *s, const char *ctx, const char *who, const char *text) {
  size_t len = strlen(text);
  if (!s->keep_ctxs || len > MAX_CTX_BYTES / 4) return;
  /* Text that is not UTF-8 never joined a history (json_pack refused it). */
  if (!mol_json_utf8_valid(text, len)) return;
  mol_agent__msg *m = malloc(sizeof(*m) + len + 1);
  if (!m) return;
  m->next = NULL;
  m->len = len;
  m->agent = strcmp(who, "agent") == 0;
  memcpy(m->text, text, len + 1);
  while (s->ctx_bytes + len > MAX_CTX_BYTES && s->ctxs) ctx_drop(s, s->ctxs);
  mol_agent__ctx *c = ctx_use(s, ctx);
  if (!c) {
    free(m);
    return;
  }
  if (c->last) c->last->next = m;
  else c->first = m;
  c->last = m;
  c->n_msgs++;
  c->bytes += len;
  s->ctx_bytes += len;
  ctx_changed(c);
  while (c->n_msgs > CTX_MSGS) drop_first_msg(s, c);
}

/* [{"role":"user"|"agent","parts":[{"kind":"text","text":...}]}, ...]; NULL without memory. */
static json_t *history_json(const mol_agent__ctx *c) {
  json_t *msgs = json_array();
  for (const mol_agent__msg *m = c->first; msgs && m; m = m->next) {
    json_t *part = json_pack("{s:s,s:s%}", "kind", "text", "text", m->text, m->len);
    json_t *msg = part ? json_pack("{s:s,s:[o]}", "role", m->agent ? "agent" : "user", "parts",
                                   part) : NULL;
    if (!msg || json_array_append_new(msgs, msg)) {
      json_decref(msgs);
      msgs = NULL;
    }
  }
  return msgs;
}

const json_t *mol_agent__sessions_history(const char *ctx, void *arg) {
  mol_agent *a = arg;
  if (!a->sessions) return NULL;
  mol_agent__ctx *c = ctx_find(a->sessions, ctx);
  if (!c || !c->first) return NULL;
  if (!c->json) c->json = history_json(c); /* held until the context changes */
  return c->json;
}

void mol_agent__sessions_turn(mol_agent *a, const char *ctx, const char *user, const char *agent) {
  mol_agent__sessions *s = a->sessions;
  if (!s || !ctx || !*ctx) return;
  if (user && *user) remember(s, ctx, "user", user);
  if (agent && *agent) remember(s, ctx, "agent", agent);
}

/* ---- the disk ------------------------------------------------------------------------------- */

static void write_batch(uv_work_t *w) {
  mol_agent__sessions *s = w->data;
  s->work_err = 0;
  if (s->rotate && rename(s->path, s->old_path) != 0 && errno != ENOENT) {
    s->work_err = -errno;
    return;
  }
  int fd = open(s->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    s->work_err = -errno;
    return;
  }
  ssize_t n = write(fd, s->batch.data, s->batch.len);
  if (n < 0) s->work_err = -errno;
  else if ((size_t)n != s->batch.len) s->work_err = MOL_EIO;
  else if (fdatasync(fd) != 0) s->work_err = -errno;
  close(fd);
}

static void start_write(mol_agent__sessions *s);

static void on_written(uv_work_t *w, int status) {
  mol_agent__sessions *s = w->data;
  s->writing = 0;
  if (status || s->work_err)
    mol_logw(SCOPE, "%s: transcript not written to %s: %s", s->owner->name, s->path,
             mol_strerror(status ? status : s->work_err));
  mol_buf_reset(&s->batch);
  if (s->queue.len) start_write(s);
  else if (s->closing) sessions_free(s);
}

static void start_write(mol_agent__sessions *s) {
  mol_buf tmp = s->batch; /* empty: the queue becomes the batch */
  s->batch = s->queue;
  s->queue = tmp;
  s->rotate = s->file_lines + s->queue_lines > s->max_lines && s->file_lines > 0;
  s->file_lines = s->rotate ? s->queue_lines : s->file_lines + s->queue_lines;
  s->queue_lines = 0;
  s->work.data = s;
  int rc = uv_queue_work(s->owner->loop, &s->work, write_batch, on_written);
  if (rc) {
    mol_logw(SCOPE, "%s: transcript not written: %s", s->owner->name, mol_strerror(rc));
    mol_buf_reset(&s->batch);
    if (s->closing) sessions_free(s);
    return;
  }
  s->writing = 1;
}

void mol_agent__sessions_line(mol_agent *a, const char *ctx, const char *who, const char *text) {
  mol_agent__sessions *s = a->sessions;
  if (!s || !s->path || s->closing) return;
  if (s->queue.len > MAX_QUEUED) {
    s->dropped++;
    return;
  }
  size_t mark = s->queue.len;
  if (s->needs_newline && mol_buf_append(&s->queue, "\n", 1)) return;
  if (mol_agent__sessions_format(&s->queue, ctx, who, text) || mol_buf_append(&s->queue, "\n", 1)) {
    s->queue.len = mark; /* not UTF-8 (as json_pack refused it), or no memory: no line */
    if (s->queue.data) s->queue.data[mark] = '\0';
    return;
  }
  s->needs_newline = 0;
  s->queue_lines++;
  if (!s->writing) start_write(s);
}

/* ---- start-up: what the disk holds ------------------------------------------------------------ */

/* A start-up read (as the snapshot's): the tail of the file when it is past MAX_READ. */
static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || st.st_size <= 0) {
    fclose(f);
    return NULL;
  }
  size_t size = (size_t)st.st_size;
  if (size > MAX_READ) {
    fseek(f, (long)(size - MAX_READ), SEEK_SET);
    size = MAX_READ;
  }
  char *buf = malloc(size + 1);
  *len = buf ? fread(buf, 1, size, f) : 0;
  if (buf) buf[*len] = '\0';
  fclose(f);
  return buf;
}

/* Replays one file's lines into the transcript ring and the contexts; returns the line count
 * and whether it ends in a torn line. */
static size_t replay(mol_agent__sessions *s, mol_agent *a, const char *path, int *torn) {
  size_t len = 0, n = 0;
  char *buf = read_all(path, &len);
  if (!buf) return 0;
  *torn = len && buf[len - 1] != '\n';
  for (char *p = buf, *nl; p < buf + len; p = nl + 1) {
    nl = memchr(p, '\n', (size_t)(buf + len - p));
    if (!nl) break; /* torn */
    json_t *v = json_loadb(p, (size_t)(nl - p), 0, NULL);
    const char *ctx = json_string_value(json_object_get(v, "ctx"));
    const char *who = json_string_value(json_object_get(v, "who"));
    const char *text = json_string_value(json_object_get(v, "text"));
    if (ctx && who && text && (!strcmp(who, "user") || !strcmp(who, "agent"))) {
      mol_agent__transcript_add(a, who, text);
      if (*ctx) remember(s, ctx, who, text);
      n++;
    }
    json_decref(v);
  }
  free(buf);
  return n;
}

static int load(mol_agent__sessions *s, mol_agent *a) {
  int torn_old = 0, torn = 0;
  struct stat st;
  int any = stat(s->path, &st) == 0 || stat(s->old_path, &st) == 0;
  if (!any) return 0;
  /* The disk is the transcript's source: the snapshot's copy of it would repeat lines. */
  mol_transcript *fresh = mol_transcript_new(a->o.transcript_lines);
  if (!fresh) return MOL_ENOMEM;
  mol_transcript_free(a->transcript);
  a->transcript = fresh;
  size_t old = replay(s, a, s->old_path, &torn_old);
  s->file_lines = replay(s, a, s->path, &torn);
  s->needs_newline = torn;
  mol_logi(SCOPE, "%s: %zu transcript lines and %zu contexts restored from %s", a->name,
           old + s->file_lines, (size_t)HASH_COUNT(s->ctxs), s->path);
  return 0;
}

/* transcript_lines, at least MIN_LINES; MOLECULE_SESSIONS_MAX_LINES (a positive number, for
 * tests and operators who want small files) replaces it, floor included. */
static size_t max_lines(const mol_agent *a) {
  const char *e = getenv("MOLECULE_SESSIONS_MAX_LINES");
  char *end = NULL;
  int digits = e && *e >= '0' && *e <= '9'; /* strtoull would take "-3" */
  unsigned long long n = digits ? strtoull(e, &end, 10) : 0;
  if (digits && !*end && n > 0) return (size_t)n;
  if (e && *e) mol_logw(SCOPE, "%s: MOLECULE_SESSIONS_MAX_LINES=%s is not a positive number; "
                        "ignored", a->name, e);
  return a->o.transcript_lines > MIN_LINES ? a->o.transcript_lines : MIN_LINES;
}

int mol_agent__sessions_open(mol_agent *a) {
  /* Nothing to keep, on disk or per context (an echo or command agent without a state dir):
   * no store at all, which every caller takes as "keep nothing" (a large host of such agents
   * saves its few hundred bytes each). */
  int keep_ctxs = a->o.exec == MOL_AGENT_EXEC_CHAT || a->o.exec == MOL_AGENT_EXEC_HERMES;
  if (!a->o.state_dir && !keep_ctxs) return 0;
  mol_agent__sessions *s = calloc(1, sizeof(*s));
  if (!s) return MOL_ENOMEM;
  s->owner = a;
  mol_holds_take(&a->holds); /* until sessions_free */
  a->sessions = s;
  s->max_lines = max_lines(a);
  s->keep_ctxs = keep_ctxs;
  if (!a->o.state_dir) return 0;
  char *dir = NULL;
  if (asprintf(&dir, "%s/.sessions", a->o.state_dir) < 0) return MOL_ENOMEM; /* dir unused */
  int rc = mol_mkdir_p(dir, 0700);
  if (!rc && (asprintf(&s->path, "%s/transcript.jsonl", dir) < 0 ||
              asprintf(&s->old_path, "%s/transcript.jsonl.1", dir) < 0)) {
    s->path = s->old_path = NULL; /* asprintf leaves them undefined on failure */
    rc = MOL_ENOMEM;
  }
  free(dir);
  if (rc) {
    mol_loge(SCOPE, "%s: cannot keep sessions under %s: %s", a->name, a->o.state_dir,
             mol_strerror(rc));
    return rc;
  }
  return load(s, a);
}

void mol_agent__sessions_close(mol_agent *a) {
  mol_agent__sessions *s = a->sessions;
  if (!s) return;
  a->sessions = NULL;
  s->closing = 1;
  if (s->writing) return; /* on_written finishes */
  if (s->queue.len) start_write(s);
  else sessions_free(s);
}
