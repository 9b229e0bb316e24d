/* log.c - leveled, redacted log lines, plain or JSON, with optional structured fields. */
#include "base/log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/redact.h"

#define MOL_LOG_MAX_SECRETS 64
#define MOL_LOG_MIN_SECRET_LEN 6

mol_log_level mol_log_min_level = MOL_LOG_INFO;
static mol_log_format log_format = MOL_LOG_PLAIN;
static mol_log_sink log_sink;
static void *log_sink_arg;

/* Secrets may be registered from any loop's thread, so the list has a lock. */
static uv_once_t secrets_once = UV_ONCE_INIT;
static uv_mutex_t secrets_lock;
static char *secrets[MOL_LOG_MAX_SECRETS];
static size_t nsecrets;

static const char *const level_names[] = {"trace", "debug", "info", "warn", "error", "off"};

static void secrets_init(void) { uv_mutex_init(&secrets_lock); }

void mol_log_set_level(mol_log_level level) { mol_log_min_level = level; }
void mol_log_set_format(mol_log_format format) { log_format = format; }

void mol_log_set_sink(mol_log_sink sink, void *arg) {
  log_sink = sink;
  log_sink_arg = arg;
}

int mol_log_level_parse(const char *name, mol_log_level *out) {
  if (!name) return MOL_EINVAL;
  for (int i = 0; i <= MOL_LOG_OFF; i++) {
    if (strcasecmp(name, level_names[i]) == 0) {
      *out = (mol_log_level)i;
      return 0;
    }
  }
  if (strcasecmp(name, "warning") == 0) {
    *out = MOL_LOG_WARN;
    return 0;
  }
  return MOL_EINVAL;
}

int mol_log_add_secret(const char *value) {
  if (!value) return MOL_EINVAL;
  if (strlen(value) < MOL_LOG_MIN_SECRET_LEN) return 0;
  uv_once(&secrets_once, secrets_init);
  uv_mutex_lock(&secrets_lock);
  int rc = 0;
  for (size_t i = 0; i < nsecrets; i++)
    if (strcmp(secrets[i], value) == 0) goto out;
  if (nsecrets == MOL_LOG_MAX_SECRETS) {
    rc = MOL_ELIMIT;
  } else if (!(secrets[nsecrets] = strdup(value))) {
    rc = MOL_ENOMEM;
  } else {
    nsecrets++;
  }
out:
  uv_mutex_unlock(&secrets_lock);
  return rc;
}

void mol_log_clear_secrets(void) {
  uv_once(&secrets_once, secrets_init);
  uv_mutex_lock(&secrets_lock);
  for (size_t i = 0; i < nsecrets; i++) free(secrets[i]);
  nsecrets = 0;
  uv_mutex_unlock(&secrets_lock);
}

static void emit(mol_log_level level, const char *line) {
  if (log_sink) {
    log_sink(level, line, log_sink_arg);
  } else {
    fprintf(stderr, "%s\n", line);
  }
}

/* The secrets are held under their lock while a line is redacted. */
static void redact(const char *in, size_t len, mol_buf *out) {
  uv_once(&secrets_once, secrets_init);
  uv_mutex_lock(&secrets_lock);
  mol_redact(in, len, (const char *const *)secrets, nsecrets, out);
  uv_mutex_unlock(&secrets_lock);
}

/* A field's key is the code's (a constant): only values are redacted. A key that would hide
 * the line's own members is renamed, so a field never overwrites the message. */
static void json_fields(json_t *o, const mol_log_field *f) {
  for (; f && f->kind != MOL_LOG_F_END; f++) {
    json_t *v = NULL;
    if (f->kind == MOL_LOG_F_INT) {
      v = json_integer(f->i);
    } else if (f->s) {
      mol_buf clean = MOL_BUF_INIT;
      redact(f->s, strlen(f->s), &clean);
      v = json_stringn(clean.data ? clean.data : "", clean.len);
      mol_buf_free(&clean);
    }
    if (!v) continue;
    const char *k = f->key;
    int reserved = !strcmp(k, "ts") || !strcmp(k, "level") || !strcmp(k, "scope") || !strcmp(k, "msg");
    char renamed[64];
    if (reserved) snprintf(renamed, sizeof(renamed), "field_%s", k);
    json_object_set_new(o, reserved ? renamed : k, v);
  }
}

/* Plain text: " key=value" after the message; values with spaces or quotes are quoted. */
static void plain_fields(mol_buf *line, const mol_log_field *f) {
  for (; f && f->kind != MOL_LOG_F_END; f++) {
    if (f->kind == MOL_LOG_F_INT) {
      mol_buf_printf(line, " %s=%lld", f->key, f->i);
      continue;
    }
    if (!f->s) continue;
    mol_buf clean = MOL_BUF_INIT;
    redact(f->s, strlen(f->s), &clean);
    const char *v = clean.data ? clean.data : "";
    int quote = !*v || strpbrk(v, " \t\"=") != NULL;
    mol_buf_printf(line, quote ? " %s=\"%s\"" : " %s=%s", f->key, v);
    mol_buf_free(&clean);
  }
}

static void format_line(mol_buf *line, mol_log_level level, const char *scope,
                        const char *msg, size_t msglen, const mol_log_field *fields) {
  char ts[MOL_ISO8601_MAX];
  mol_iso8601_now(3, "Z", ts, sizeof(ts));
  if (log_format == MOL_LOG_JSON) {
    json_t *o = json_pack("{s:s,s:s,s:s,s:s%}", "ts", ts, "level", level_names[level],
                          "scope", scope ? scope : "", "msg", msg, msglen);
    if (o) json_fields(o, fields);
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (s) mol_buf_append_str(line, s);
    free(s);
    json_decref(o);
  } else {
    mol_buf_printf(line, "%s %-5s %s: ", ts, level_names[level], scope ? scope : "-");
    mol_buf_append(line, msg, msglen);
    plain_fields(line, fields);
  }
}

static void vlog(mol_log_level level, const char *scope, const mol_log_field *fields,
                 const char *fmt, va_list ap) {
  mol_buf raw = MOL_BUF_INIT, clean = MOL_BUF_INIT, line = MOL_BUF_INIT;
  mol_buf_vprintf(&raw, fmt, ap);
  redact(raw.data ? raw.data : "", raw.len, &clean);
  format_line(&line, level, scope, clean.data ? clean.data : "", clean.len, fields);
  if (line.data) emit(level, line.data);
  mol_buf_free(&raw);
  mol_buf_free(&clean);
  mol_buf_free(&line);
}

void mol_log(mol_log_level level, const char *scope, const char *fmt, ...) {
  if (level < mol_log_min_level || level >= MOL_LOG_OFF) return;
  va_list ap;
  va_start(ap, fmt);
  vlog(level, scope, NULL, fmt, ap);
  va_end(ap);
}

void mol_log_fields(mol_log_level level, const char *scope, const mol_log_field *fields,
                    const char *fmt, ...) {
  if (level < mol_log_min_level || level >= MOL_LOG_OFF) return;
  va_list ap;
  va_start(ap, fmt);
  vlog(level, scope, fields, fmt, ap);
  va_end(ap);
}
