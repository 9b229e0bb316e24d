/* hash.c - the plugin content hash, byte for byte what upstream's compute_plugin_sha256 gives
 * (docs/plugins.md): sorted [path, sha256(content)] pairs, root plugin.yaml excluded,
 * serialised like Python's json.dumps (", " separators, ASCII-only escapes), then SHA-256. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "molecule.h"
#include "plugin/plugin.h"

void mol_plugin__msgf(char *msg, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, MOL_PLUGIN_MSG_MAX, fmt, ap);
  va_end(ap);
}

int mol_plugin_pathf(char *out, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(out, 4096, fmt, ap);
  va_end(ap);
  return n < 0 || n >= 4096 ? -ENAMETOOLONG : 0;
}

int mol_plugin_name_valid(const char *name) {
  if (!name || !name[0] || name[0] == '.' || name[0] == '-') return 0;
  size_t n = strlen(name);
  if (n > MOL_PLUGIN_NAME_MAX) return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)name[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '.' || c == '_' || c == '-';
    if (!ok) return 0;
  }
  return strstr(name, "..") == NULL;
}

int mol_plugin_digest_parse(const char *in, char out[MOL_SHA256_HEX_LEN + 1]) {
  if (!in || strlen(in) != MOL_SHA256_HEX_LEN) return MOL_EINVAL;
  for (size_t i = 0; i < MOL_SHA256_HEX_LEN; i++) {
    char c = in[i];
    if (c >= 'A' && c <= 'F') c = (char)(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return MOL_EINVAL;
    out[i] = c;
  }
  out[MOL_SHA256_HEX_LEN] = '\0';
  return 0;
}

/* ---- manifest ---------------------------------------------------------------------------- */

int mol_plugin__manifest_add(mol_plugin_manifest *m, const char *path,
                            const uint8_t digest[MOL_SHA256_LEN]) {
  if (m->len == m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 64;
    mol_plugin_file *items = realloc(m->items, cap * sizeof(*items));
    if (!items) return MOL_ENOMEM;
    m->items = items;
    m->cap = cap;
  }
  char *copy = strdup(path);
  if (!copy) return MOL_ENOMEM;
  m->items[m->len].path = copy;
  mol_hex(digest, MOL_SHA256_LEN, m->items[m->len].hex);
  m->len++;
  return 0;
}

void mol_plugin__manifest_free(mol_plugin_manifest *m) {
  for (size_t i = 0; i < m->len; i++) free(m->items[i].path);
  free(m->items);
  memset(m, 0, sizeof(*m));
}

/* Decodes one code point the way Python's os.fsdecode does: strict UTF-8, and every byte
 * that does not start a valid sequence becomes U+DC00+byte (surrogateescape). */
static uint32_t next_cp(const unsigned char **p) {
  const unsigned char *s = *p;
  unsigned c = s[0];
  int n = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : -1;
  if (n == 0) {
    *p = s + 1;
    return c;
  }
  uint32_t cp = n == 1 ? (c & 0x1f) : n == 2 ? (c & 0x0f) : (c & 0x07);
  for (int i = 1; n > 0 && i <= n; i++) {
    if ((s[i] & 0xc0) != 0x80) goto bad;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if (n < 0) goto bad;
  static const uint32_t min[] = {0, 0x80, 0x800, 0x10000};
  if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) goto bad;
  *p = s + n + 1;
  return cp;
bad:
  *p = s + 1;
  return 0xdc00 + c;
}

static int cp_compare(const void *a, const void *b) {
  const unsigned char *x = (const unsigned char *)((const mol_plugin_file *)a)->path;
  const unsigned char *y = (const unsigned char *)((const mol_plugin_file *)b)->path;
  while (*x && *y) {
    uint32_t cx = next_cp(&x), cy = next_cp(&y);
    if (cx != cy) return cx < cy ? -1 : 1;
  }
  return *x ? 1 : *y ? -1 : 0;
}

/* Python json.dumps(ensure_ascii=True) string escaping. */
static int json_escape(mol_buf *b, const char *s) {
  int rc = mol_buf_append(b, "\"", 1);
  const unsigned char *p = (const unsigned char *)s;
  while (!rc && *p) {
    uint32_t cp = next_cp(&p);
    if (cp == '"') rc = mol_buf_append_str(b, "\\\"");
    else if (cp == '\\') rc = mol_buf_append_str(b, "\\\\");
    else if (cp == '\n') rc = mol_buf_append_str(b, "\\n");
    else if (cp == '\r') rc = mol_buf_append_str(b, "\\r");
    else if (cp == '\t') rc = mol_buf_append_str(b, "\\t");
    else if (cp == '\b') rc = mol_buf_append_str(b, "\\b");
    else if (cp == '\f') rc = mol_buf_append_str(b, "\\f");
    else if (cp >= 0x20 && cp <= 0x7e) {
      char c = (char)cp;
      rc = mol_buf_append(b, &c, 1);
    } else if (cp < 0x10000) {
      rc = mol_buf_printf(b, "\\u%04x", (unsigned)cp);
    } else {
      uint32_t v = cp - 0x10000;
      rc = mol_buf_printf(b, "\\u%04x\\u%04x", (unsigned)(0xd800 + (v >> 10)),
                          (unsigned)(0xdc00 + (v & 0x3ff)));
    }
  }
  return rc ? rc : mol_buf_append(b, "\"", 1);
}

int mol_plugin__manifest_json(mol_plugin_manifest *m, char **json, size_t *len) {
  if (m->len) qsort(m->items, m->len, sizeof(*m->items), cp_compare);
  mol_buf b = MOL_BUF_INIT;
  int rc = mol_buf_append(&b, "[", 1), first = 1;
  for (size_t i = 0; !rc && i < m->len; i++) {
    if (i && strcmp(m->items[i].path, m->items[i - 1].path) == 0) rc = MOL_EEXIST;
    if (rc || strcmp(m->items[i].path, "plugin.yaml") == 0) continue;
    if (!first) rc = mol_buf_append(&b, ", ", 2);
    first = 0;
    if (!rc) rc = mol_buf_append(&b, "[", 1);
    if (!rc) rc = json_escape(&b, m->items[i].path);
    if (!rc) rc = mol_buf_printf(&b, ", \"%s\"]", m->items[i].hex);
  }
  if (!rc) rc = mol_buf_append(&b, "]", 1);
  if (rc) {
    mol_buf_free(&b);
    return rc;
  }
  *len = b.len;
  *json = mol_buf_steal(&b);
  return *json ? 0 : MOL_ENOMEM;
}

int mol_plugin__manifest_digest(mol_plugin_manifest *m, char out[MOL_SHA256_HEX_LEN + 1]) {
  char *json;
  size_t len;
  int rc = mol_plugin__manifest_json(m, &json, &len);
  if (rc) return rc;
  uint8_t d[MOL_SHA256_LEN];
  mol_sha256_once(json, len, d);
  mol_hex(d, MOL_SHA256_LEN, out);
  free(json);
  return 0;
}

/* ---- directory walk ---------------------------------------------------------------------- */

static int hash_file(int dirfd, const char *name, uint8_t out[MOL_SHA256_LEN]) {
  int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  /* From the heap, not a __thread array: the C library zeroes those for every thread of every
   * command as it starts, whether it hashes a plugin or not. */
  enum { BUF_LEN = 65536 };
  char *buf = malloc(BUF_LEN);
  if (!buf) {
    close(fd);
    return MOL_ENOMEM;
  }
  mol_plugin_sha256 h;
  mol_plugin__sha256_init(&h);
  ssize_t n;
  int rc = 0;
  while ((n = read(fd, buf, BUF_LEN)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      rc = -errno;
      break;
    }
    mol_plugin__sha256_update(&h, buf, (size_t)n);
  }
  free(buf);
  close(fd);
  mol_plugin__sha256_final(&h, out);
  return rc;
}

typedef struct {
  mol_plugin_manifest m;
  char *msg;
  int depth;
} walk_ctx;

static int walk(walk_ctx *w, int dirfd, const char *rel);

/* One directory entry: recurse into real directories (not symlinked ones, like rglob), hash
 * anything that stat()s as a regular file (so file symlinks are followed), ignore the rest. */
static int walk_entry(walk_ctx *w, int dirfd, const char *rel, const char *name) {
  char path[4096];
  if (snprintf(path, sizeof(path), "%s%s%s", rel, *rel ? "/" : "", name) >= (int)sizeof(path))
    return -ENAMETOOLONG;
  struct stat lst, st;
  if (fstatat(dirfd, name, &lst, AT_SYMLINK_NOFOLLOW) != 0) return -errno;
  if (S_ISDIR(lst.st_mode)) {
    int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) return -errno;
    return walk(w, sub, path);
  }
  if (fstatat(dirfd, name, &st, 0) != 0 || !S_ISREG(st.st_mode)) return 0;
  uint8_t d[MOL_SHA256_LEN];
  int rc = hash_file(dirfd, name, d);
  if (rc) mol_plugin__msgf(w->msg, "cannot read %s: %s", path, strerror(-rc));
  return rc ? rc : mol_plugin__manifest_add(&w->m, path, d);
}

/* Takes ownership of dirfd. */
static int walk(walk_ctx *w, int dirfd, const char *rel) {
  DIR *d = fdopendir(dirfd);
  if (!d) {
    int err = -errno;
    close(dirfd);
    return err;
  }
  if (++w->depth > 256) {
    closedir(d);
    mol_plugin__msgf(w->msg, "directory tree deeper than 256 levels at %s", rel);
    return MOL_ELIMIT;
  }
  int rc = 0;
  struct dirent *e;
  while (!rc && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    rc = walk_entry(w, dirfd, rel, e->d_name);
  }
  w->depth--;
  closedir(d);
  return rc;
}

int mol_plugin_hash_dir(const char *dir, char out[MOL_SHA256_HEX_LEN + 1],
                        char msg[MOL_PLUGIN_MSG_MAX]) {
  walk_ctx w = {.msg = msg};
  msg[0] = '\0';
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    int err = -errno;
    mol_plugin__msgf(msg, "%s is not a directory: %s", dir, strerror(errno));
    return err;
  }
  int rc = walk(&w, fd, "");
  if (!rc) rc = mol_plugin__manifest_digest(&w.m, out);
  if (rc && !msg[0]) mol_plugin__msgf(msg, "hashing %s: %s", dir, mol_strerror(rc));
  mol_plugin__manifest_free(&w.m);
  return rc;
}
