/* extract.c - gzip tar → staging directory with libarchive, plus the checks libarchive does
 * not make. Runs on a worker thread (blocking reads from a pipe or file).
 *
 * libarchive's disk writer gets SECURE_SYMLINKS and SECURE_NODOTDOT, no OWNER/PERM/XATTR/ACL/
 * FFLAGS flags (so nothing is chowned and no special bit survives), and NO_OVERWRITE. It does
 * not get SECURE_NOABSOLUTEPATHS: 3.6 has no "extract below this directory" option and chdir()
 * is process-wide, so every entry is written as <dest>/<normalised name>. Our own checks run
 * first and are stricter: names are normalised lexically and refused when absolute or when
 * they leave dest, and only regular files and directories are written. */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "molecule.h"
#include "plugin/archive_dl.h"
#include "plugin/plugin.h"

enum { READ_BUF = 128 * 1024, MAX_WARNINGS = 100, RATIO_FLOOR = 1 << 20 };

typedef struct {
  int fd, tee_fd;
  mol_plugin_sha256 *hash;   /* of every byte read, or NULL */
  char *buf;
  uint64_t bytes_in;
  int eof;
} source;

typedef struct {
  struct archive *rd, *wr;
  source src;
  const char *dest;
  uint64_t max_total, max_entries, max_ratio, entries;
  mol_plugin_manifest manifest;
  mol_plugin_extract_result *res;
} extractor;

/* The downloaded archive is kept in a temporary file as it streams by. */
static int tee_bytes(source *s, ssize_t n) {
  for (ssize_t off = 0; off < n;) {
    ssize_t w = write(s->tee_fd, s->buf + off, (size_t)(n - off));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      if (w == 0) errno = ENOSPC;
      return -1;
    }
    off += w;
  }
  return 0;
}

static la_ssize_t source_read(struct archive *a, void *arg, const void **out) {
  source *s = arg;
  for (;;) {
    ssize_t n = read(s->fd, s->buf, READ_BUF);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      archive_set_error(a, errno, "reading the archive: %s", strerror(errno));
      return -1;
    }
    if (n == 0) s->eof = 1;
    if (n > 0 && s->tee_fd >= 0 && tee_bytes(s, n) != 0) {
      archive_set_error(a, errno, "writing the temporary archive: %s", strerror(errno));
      return -1;
    }
    if (n > 0 && s->hash) mol_plugin__sha256_update(s->hash, s->buf, (size_t)n);
    s->bytes_in += (uint64_t)n;
    *out = s->buf;
    return n;
  }
}

/* The writer of a pipe must never block forever on a reader that gave up; and what follows
 * the tar end-of-archive blocks (gzip trailer, padding) still belongs in the archive copy. */
static void source_drain(source *s) {
  char small[4096];
  while (!s->eof) {
    char *into = s->buf ? s->buf : small;
    ssize_t n = read(s->fd, into, s->buf ? READ_BUF : sizeof(small));
    if (n > 0) {
      s->bytes_in += (uint64_t)n;
      if (s->hash) mol_plugin__sha256_update(s->hash, into, (size_t)n);
      if (s->buf && s->tee_fd >= 0 && tee_bytes(s, n) != 0) s->tee_fd = -1;
    } else if (n == 0 || errno != EINTR) {
      s->eof = 1;
    }
  }
}

static int fail(extractor *x, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(extractor *x, int err, const char *fmt, ...) {
  if (x->res->err) return x->res->err;  /* the first failure is the one worth reporting */
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(x->res->msg, sizeof(x->res->msg), fmt, ap);
  va_end(ap);
  x->res->err = err;
  return err;
}

static void warn(extractor *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(extractor *x, const char *fmt, ...) {
  mol_plugin_extract_result *r = x->res;
  if (r->nwarnings > MAX_WARNINGS) return;
  char line[MOL_PLUGIN_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  if (r->nwarnings == MAX_WARNINGS) snprintf(line, sizeof(line), "more warnings dropped");
  char **w = realloc(r->warnings, (r->nwarnings + 1) * sizeof(*w));
  if (!w) return;
  r->warnings = w;
  if ((w[r->nwarnings] = strdup(line)) != NULL) r->nwarnings++;
}

/* Lexical normalisation: drops "" and "." components, resolves ".." against the components
 * before it. Returns 0 (out may be "" for the root itself) or -1 when the name is absolute
 * or climbs above the root. */
static int normalise(const char *name, char *out, size_t cap) {
  if (name[0] == '/') return -1;
  size_t len = 0;
  const char *p = name;
  while (*p) {
    const char *q = strchr(p, '/');
    size_t n = q ? (size_t)(q - p) : strlen(p);
    if (n == 2 && p[0] == '.' && p[1] == '.') {
      if (len == 0) return -1;
      while (len > 0 && out[len - 1] != '/') len--;
      if (len > 0) len--;  /* the separator before the dropped component */
    } else if (n > 0 && !(n == 1 && p[0] == '.')) {
      if (len + (len > 0) + n + 1 > cap) return -2;
      if (len > 0) out[len++] = '/';
      memcpy(out + len, p, n);
      len += n;
    }
    p += n + (q != NULL);
  }
  out[len] = '\0';
  return 0;
}

static int check_free_slot(extractor *x, const char *path, const char *rel, int want_dir) {
  struct stat st;
  if (lstat(path, &st) != 0) return 0;
  if (want_dir && S_ISDIR(st.st_mode)) return 0;
  return fail(x, MOL_EEXIST, "refusing duplicate tar entry '%s'", rel);
}

static const uint8_t zeros[65536];

static void hash_zeros(mol_plugin_sha256 *h, uint64_t n) {
  while (n > 0) {
    size_t k = n > sizeof(zeros) ? sizeof(zeros) : (size_t)n;
    mol_plugin__sha256_update(h, zeros, k);
    n -= k;
  }
}

static int check_limits(extractor *x, const char *rel) {
  mol_plugin_extract_result *r = x->res;
  if (r->bytes_out > x->max_total)
    return fail(x, MOL_ETOOBIG, "archive expands past %llu bytes (at '%s')",
                (unsigned long long)x->max_total, rel);
  if (r->bytes_out > RATIO_FLOOR && r->bytes_out / x->max_ratio > x->src.bytes_in)
    return fail(x, MOL_ELIMIT, "compression ratio above %llu:1 (at '%s'): refusing a bomb",
                (unsigned long long)x->max_ratio, rel);
  return 0;
}

/* Copies the entry's data blocks to disk, hashing them; holes of sparse entries hash as the
 * zeros they read back as. */
static int copy_data(extractor *x, struct archive_entry *e, const char *rel,
                     uint8_t digest[MOL_SHA256_LEN]) {
  mol_plugin_sha256 h;
  mol_plugin__sha256_init(&h);
  uint64_t pos = 0;
  int rc = 0;
  for (;;) {
    const void *buf;
    size_t size;
    la_int64_t off;
    int r = archive_read_data_block(x->rd, &buf, &size, &off);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      rc = fail(x, MOL_EPROTO, "corrupt archive at '%s': %s", rel, archive_error_string(x->rd));
      break;
    }
    if ((uint64_t)off > pos) hash_zeros(&h, (uint64_t)off - pos);
    x->res->bytes_out += size;
    if ((rc = check_limits(x, rel)) != 0) break;
    if (archive_write_data_block(x->wr, buf, size, off) < ARCHIVE_WARN) {
      rc = fail(x, MOL_EIO, "writing '%s': %s", rel, archive_error_string(x->wr));
      break;
    }
    mol_plugin__sha256_update(&h, buf, size);
    pos = (uint64_t)off + size;
  }
  if (!rc && archive_entry_size_is_set(e) && (uint64_t)archive_entry_size(e) > pos)
    hash_zeros(&h, (uint64_t)archive_entry_size(e) - pos);
  mol_plugin__sha256_final(&h, digest);
  return rc;
}

static int write_header(extractor *x, struct archive_entry *e, const char *path,
                        const char *rel, mode_t keep) {
  archive_entry_copy_pathname(e, path);
  /* Drop special bits, make sure the owner can keep working with what we write. */
  archive_entry_set_perm(e, (archive_entry_perm(e) & 0777) | keep);
  archive_entry_acl_clear(e);
  archive_entry_xattr_clear(e);
  archive_entry_set_fflags(e, 0, 0);
  if (archive_write_header(x->wr, e) < ARCHIVE_WARN)
    return fail(x, MOL_EIO, "writing '%s': %s", rel, archive_error_string(x->wr));
  return 0;
}

static int extract_file(extractor *x, struct archive_entry *e, const char *path, const char *rel) {
  if (check_free_slot(x, path, rel, 0)) return x->res->err;
  la_int64_t size = archive_entry_size(e);
  if (size < 0 || (uint64_t)size > x->max_total - x->res->bytes_out)
    return fail(x, MOL_ETOOBIG, "archive expands past %llu bytes (at '%s')",
                (unsigned long long)x->max_total, rel);
  if (write_header(x, e, path, rel, 0600)) return x->res->err;
  uint8_t digest[MOL_SHA256_LEN];
  if (copy_data(x, e, rel, digest)) return x->res->err;
  if (archive_write_finish_entry(x->wr) < ARCHIVE_WARN)
    return fail(x, MOL_EIO, "writing '%s': %s", rel, archive_error_string(x->wr));
  x->res->files++;
  if (mol_plugin__manifest_add(&x->manifest, rel, digest)) return fail(x, MOL_ENOMEM, "out of memory");
  return 0;
}

static int extract_dir(extractor *x, struct archive_entry *e, const char *path, const char *rel) {
  if (check_free_slot(x, path, rel, 1)) return x->res->err;
  if (write_header(x, e, path, rel, 0700)) return x->res->err;
  if (archive_write_finish_entry(x->wr) < ARCHIVE_WARN)
    return fail(x, MOL_EIO, "writing '%s': %s", rel, archive_error_string(x->wr));
  x->res->dirs++;
  return 0;
}

static const char *entry_name(struct archive_entry *e) {
  const char *n = archive_entry_pathname(e);
  return n ? n : archive_entry_pathname_utf8(e);
}

static int refuse_type(extractor *x, const char *name, mode_t type) {
  const char *what = type == AE_IFCHR ? "character device" : type == AE_IFBLK ? "block device"
                     : type == AE_IFIFO ? "FIFO" : type == AE_IFSOCK ? "socket" : "special file";
  return fail(x, MOL_EINVAL, "refusing %s tar entry '%s'", what, name);
}

static int handle_entry(extractor *x, struct archive_entry *e) {
  const char *name = entry_name(e);
  if (!name) return fail(x, MOL_EINVAL, "tar entry with an unreadable name");
  mode_t type = archive_entry_filetype(e);
  const char *hard = archive_entry_hardlink(e), *sym = archive_entry_symlink(e);
  if (hard || type == AE_IFLNK) {
    x->res->skipped_links++;
    warn(x, "skipping %s in plugin tarball (not supported for security): %s -> %s",
         hard ? "hardlink" : "symlink", name, hard ? hard : sym ? sym : "");
    return 0;
  }
  char rel[4096], path[4096];
  int n = normalise(name, rel, sizeof(rel));
  if (n == -1) return fail(x, MOL_EINVAL, "refusing tar entry escaping dest: '%s'", name);
  if (n < 0) return fail(x, MOL_EINVAL, "refusing tar entry with a name too long: '%.200s'", name);
  if (type != AE_IFREG && type != AE_IFDIR) return refuse_type(x, name, type);
  if (!rel[0]) return 0;  /* "." or "./": the destination itself */
  if (mol_plugin_pathf(path, "%s/%s", x->dest, rel))
    return fail(x, MOL_EINVAL, "refusing tar entry with a name too long: '%.200s'", name);
  return type == AE_IFDIR ? extract_dir(x, e, path, rel) : extract_file(x, e, path, rel);
}

static int check_gzip(extractor *x) {
  if (archive_filter_count(x->rd) >= 2 && archive_filter_code(x->rd, 0) == ARCHIVE_FILTER_GZIP)
    return 0;
  return fail(x, MOL_EPROTO, "not a gzip-compressed tar archive");
}

static int run_entries(extractor *x) {
  for (int first = 1;; first = 0) {
    struct archive_entry *e;
    int r = archive_read_next_header(x->rd, &e);
    if (r == ARCHIVE_EOF) return first ? check_gzip(x) : 0;
    if (r < ARCHIVE_WARN) {
      const char *why = archive_error_string(x->rd);
      return fail(x, MOL_EPROTO, "%s: %s", first ? "not a gzip tar archive" : "corrupt archive",
                  why ? why : "unknown error");
    }
    if (first && check_gzip(x)) return x->res->err;
    if (++x->entries > x->max_entries)
      return fail(x, MOL_ELIMIT, "archive has more than %llu entries",
                  (unsigned long long)x->max_entries);
    if (handle_entry(x, e)) return x->res->err;
  }
}

static void setup(extractor *x, const mol_plugin_limits *l) {
  x->max_total = l && l->max_total_bytes ? l->max_total_bytes : (1ull << 30);
  x->max_entries = l && l->max_entries ? l->max_entries : 50000;
  x->max_ratio = l && l->max_ratio ? l->max_ratio : 200;
  x->rd = archive_read_new();
  x->wr = archive_write_disk_new();
  if (!x->rd || !x->wr) return;
  archive_read_support_filter_gzip(x->rd);
  archive_read_support_format_tar(x->rd);
  archive_write_disk_set_options(x->wr, ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                            ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                            ARCHIVE_EXTRACT_NO_OVERWRITE);
}

static void run(extractor *x) {
  if (!x->rd || !x->wr || !x->src.buf) {
    fail(x, MOL_ENOMEM, "out of memory");
    return;
  }
  if (archive_read_open(x->rd, &x->src, NULL, source_read, NULL) != ARCHIVE_OK) {
    const char *why = archive_error_string(x->rd);
    fail(x, MOL_EPROTO, "not a gzip tar archive: %s", why ? why : "empty input");
    return;
  }
  if (run_entries(x)) return;
  int rc = mol_plugin__manifest_digest(&x->manifest, x->res->content_sha256);
  if (rc) {
    fail(x, rc, "hashing the extracted files: %s", mol_strerror(rc));
    return;
  }
  rc = mol_plugin__read_manifest(x->dest, x->res);
  if (rc) fail(x, rc, "reading plugin.yaml: %s", mol_strerror(rc));
}

static void extract(int fd, int tee_fd, mol_plugin_sha256 *hash, const char *dest,
                    const mol_plugin_limits *limits, mol_plugin_extract_result *res) {
  memset(res, 0, sizeof(*res));
  extractor x = {.src = {.fd = fd, .tee_fd = tee_fd, .hash = hash, .buf = malloc(READ_BUF)},
                 .dest = dest, .res = res};
  /* Pax names are UTF-8; converting them to a C locale's ASCII would fail. uselocale() is
   * per thread, so this does not touch the rest of the process. */
  locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
  locale_t old = utf8 ? uselocale(utf8) : (locale_t)0;
  char why[256];
  if (mol_archive__load(why, sizeof(why)) != 0) {
    fail(&x, MOL_ENOTSUP, "%s", why);
  } else {
    setup(&x, limits);
    run(&x);
  }
  if (x.rd) archive_read_free(x.rd);
  if (x.wr) archive_write_free(x.wr);
  source_drain(&x.src);
  res->bytes_in = x.src.bytes_in;
  free(x.src.buf);
  mol_plugin__manifest_free(&x.manifest);
  if (utf8) {
    uselocale(old);
    freelocale(utf8);
  }
}

void mol_plugin__extract_fd(int fd, int tee_fd, const char *dest, const mol_plugin_limits *limits,
                           mol_plugin_extract_result *res) {
  extract(fd, tee_fd, NULL, dest, limits, res);
}

void mol_plugin__extract_file(int fd, const char *dest, const mol_plugin_limits *limits,
                             mol_plugin_extract_result *res) {
  mol_plugin_sha256 h;
  uint8_t digest[MOL_SHA256_LEN];
  mol_plugin__sha256_init(&h);
  extract(fd, -1, &h, dest, limits, res);
  mol_plugin__sha256_final(&h, digest);
  mol_hex(digest, sizeof(digest), res->archive_sha256);
}

void mol_plugin__extract_result_free(mol_plugin_extract_result *res) {
  for (size_t i = 0; i < res->nwarnings; i++) free(res->warnings[i]);
  free(res->warnings);
  res->warnings = NULL;
  res->nwarnings = 0;
  free(res->manifest_yaml);
  res->manifest_yaml = NULL;
  res->manifest_len = 0;
}
