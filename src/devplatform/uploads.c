/* uploads.c - POST /workspaces/:id/chat/uploads (WorkspaceAuth): files an agent attaches to a
 * message for its user. A multipart/form-data body with one or more parts named "files"; each
 * is stored as <db>.uploads/<workspace>/<32 hex>-<sanitised name> and answered with the entry
 * that POST /workspaces/:id/notify takes as an attachment:
 * {"uri":"workspace:/workspace/.molecule/chat-uploads/<stored>","name","mimeType"?,"size"}.
 *
 * Without containers the files stay beside the database (upstream copies them into the
 * workspace container). The whole body is bounded by the platform's body limit; the files are
 * written on the loop, as the database is: they are at most that large. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/crypto.h"
#include "base/file.h"
#include "base/log.h"
#include "devplatform/dp_int.h"
#include "molecule.h"

#define NAME_MAX_KEPT 100
#define EXT_MAX 16
#define FILE_MAX (25u << 20)
#define URI_PREFIX "workspace:/workspace/.molecule/chat-uploads/"

typedef struct {
  const char *data;
  size_t len;
  char filename[256];
  char ctype[128];
  int is_file;               /* name="files" */
} part;

/* The boundary parameter of a multipart/form-data Content-Type, or 0. */
static int boundary_of(const char *ct, char *out, size_t cap) {
  if (!ct || strncasecmp(ct, "multipart/form-data", 19)) return 0;
  const char *b = strcasestr(ct, "boundary=");
  if (!b) return 0;
  b += 9;
  int quoted = *b == '"';
  b += quoted;
  size_t n = strcspn(b, quoted ? "\"" : "; \t");
  if (n == 0 || n + 1 > cap || n > 70) return 0;
  memcpy(out, b, n);
  out[n] = '\0';
  return 1;
}

/* A header parameter (name="..." / filename="...") of a Content-Disposition line. */
static void param(const char *line, size_t len, const char *key, char *out, size_t cap) {
  out[0] = '\0';
  size_t klen = strlen(key);
  for (const char *p = line; p + klen + 2 <= line + len; p++) {
    if (strncasecmp(p, key, klen) || p[klen] != '=' || p[klen + 1] != '"') continue;
    if (p > line && p[-1] != ' ' && p[-1] != ';') continue;
    const char *v = p + klen + 2, *end = memchr(v, '"', (size_t)(line + len - v));
    if (!end) return;
    size_t n = (size_t)(end - v) < cap - 1 ? (size_t)(end - v) : cap - 1;
    memcpy(out, v, n);
    out[n] = '\0';
    return;
  }
}

static void part_headers(part *pt, const char *h, size_t len) {
  const char *end = h + len;
  while (h < end) {
    const char *eol = memmem(h, (size_t)(end - h), "\r\n", 2);
    size_t n = eol ? (size_t)(eol - h) : (size_t)(end - h);
    if (n > 20 && !strncasecmp(h, "Content-Disposition:", 20)) {
      char name[64];
      param(h, n, "name", name, sizeof name);
      pt->is_file = !strcmp(name, "files");
      param(h, n, "filename", pt->filename, sizeof pt->filename);
    } else if (n > 13 && !strncasecmp(h, "Content-Type:", 13)) {
      const char *v = h + 13;
      while (*v == ' ') v++;
      size_t vn = n - (size_t)(v - h) < sizeof pt->ctype - 1 ? n - (size_t)(v - h)
                                                              : sizeof pt->ctype - 1;
      memcpy(pt->ctype, v, vn);
      pt->ctype[vn] = '\0';
    }
    h += n + 2;
  }
}

/* Splits body into parts; returns how many (at most cap), or -1 when it is not well formed. */
static int parse(const char *body, size_t len, const char *boundary, part *parts, int cap) {
  char delim[80];
  int dn = snprintf(delim, sizeof delim, "--%s", boundary);
  const char *end = body + len;
  const char *p = memmem(body, len, delim, (size_t)dn);
  int n = 0;
  while (p) {
    p += dn;
    if (end - p >= 2 && !memcmp(p, "--", 2)) return n; /* the closing delimiter */
    if (end - p < 2 || memcmp(p, "\r\n", 2) || n == cap) return -1;
    p += 2;
    const char *hend = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
    if (!hend) return -1;
    part *pt = &parts[n];
    memset(pt, 0, sizeof *pt);
    part_headers(pt, p, (size_t)(hend - p));
    pt->data = hend + 4;
    char next[84];
    int nn = snprintf(next, sizeof next, "\r\n%s", delim);
    const char *q = memmem(pt->data, (size_t)(end - pt->data), next, (size_t)nn);
    if (!q) return -1;
    pt->len = (size_t)(q - pt->data);
    n++;
    p = q + 2;
  }
  return -1;
}

/* Upstream's rule: [A-Za-z0-9._-] kept, anything else '_', at most 100 characters keeping an
 * extension of up to 16; empty, "." and ".." become "file". Path parts are dropped first. */
static void sanitise(const char *in, char out[NAME_MAX_KEPT + 1]) {
  const char *slash = strrchr(in, '/');
  if (slash) in = slash + 1;
  char full[256];
  size_t n = 0;
  for (const char *s = in; *s && n < sizeof full - 1; s++) {
    char ch = *s;
    int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
             ch == '.' || ch == '_' || ch == '-';
    full[n++] = ok ? ch : '_';
  }
  full[n] = '\0';
  if (n > NAME_MAX_KEPT) {
    const char *dot = strrchr(full, '.');
    size_t ext = dot && strlen(dot) <= EXT_MAX ? strlen(dot) : 0;
    memmove(full + NAME_MAX_KEPT - ext, full + n - ext, ext);
    full[NAME_MAX_KEPT] = '\0';
  }
  memcpy(out, full, strlen(full) + 1); /* at most NAME_MAX_KEPT + 1 bytes by now */
  if (!out[0] || !strcmp(out, ".") || !strcmp(out, "..")) strcpy(out, "file");
}

static int store_file(const char *dir, const char *name, const part *pt) {
  char path[1200];
  if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) return MOL_EINVAL;
  return mol_write_file_atomic(path, pt->data, pt->len, 0600);
}

static json_t *store_parts(mol_devplatform *dp, const char *ws, part *parts, int n,
                           mol_dp__reply *r) {
  char dir[1024];
  if (!dp->uploads_dir ||
      (size_t)snprintf(dir, sizeof dir, "%s/%s", dp->uploads_dir, ws) >= sizeof dir ||
      mol_mkdir_p(dir, 0700)) {
    mol_dp__reply_err(r, 500, "failed to stage files in workspace");
    return NULL;
  }
  json_t *files = json_array();
  for (int i = 0; i < n; i++) {
    if (!parts[i].is_file) continue;
    char clean[NAME_MAX_KEPT + 1], stored[NAME_MAX_KEPT + 40], uri[256];
    char hex[33];
    sanitise(parts[i].filename, clean);
    if (mol_random_hex(hex, 16)) {
      json_decref(files);
      mol_dp__reply_err(r, 500, "failed to allocate upload ID");
      return NULL;
    }
    snprintf(stored, sizeof stored, "%s-%s", hex, clean);
    if (store_file(dir, stored, &parts[i])) {
      json_decref(files);
      mol_dp__reply_err(r, 500, "failed to stage files in workspace");
      return NULL;
    }
    snprintf(uri, sizeof uri, URI_PREFIX "%s", stored);
    json_t *e = json_pack("{s:s,s:s,s:I}", "uri", uri, "name", clean, "size",
                          (json_int_t)parts[i].len);
    if (parts[i].ctype[0]) json_object_set_new(e, "mimeType", json_string(parts[i].ctype));
    json_array_append_new(files, e);
  }
  return files;
}

void mol_dp__h_chat_upload(mol_dp__call *c, const char *ws, mol_dp__reply *r) {
  if (!mol_dp__is_uuid(ws)) {
    mol_dp__reply_err(r, 400, "invalid workspace ID");
    return;
  }
  if (!mol_dp__auth_workspace(c, ws, r)) return;
  char boundary[80];
  part parts[32];
  int n = boundary_of(c->ctype, boundary, sizeof boundary)
              ? parse(c->body ? c->body : "", c->body_len, boundary, parts, 32)
              : -1;
  int nfiles = 0;
  for (int i = 0; i < n; i++) {
    nfiles += parts[i].is_file;
    if (parts[i].is_file && parts[i].len > FILE_MAX) {
      char msg[320];
      snprintf(msg, sizeof msg, "%s exceeds per-file limit (25 MB)", parts[i].filename);
      mol_dp__reply_err(r, 413, msg);
      return;
    }
  }
  if (n < 0) {
    mol_dp__reply_err(r, 400, "failed to parse multipart form");
  } else if (!nfiles) {
    mol_dp__reply_err(r, 400, "expected at least one 'files' field");
  } else {
    json_t *files = store_parts(c->dp, ws, parts, n, r);
    if (files) mol_dp__reply_set(r, 200, json_pack("{s:o}", "files", files));
  }
}
