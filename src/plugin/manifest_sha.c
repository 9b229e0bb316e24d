/* manifest_sha.c - the `sha256` a plugin declares in its own root plugin.yaml: read from the
 * staged tree after extraction, and picked out of the YAML for the manifest trust mode.
 *
 * Only a top-level block-mapping key is recognised (`sha256: <hex>`, the value bare or in
 * single or double quotes, a trailing `# comment` allowed), which is how plugin authors and
 * the upstream tooling write it. Anything else that mentions the key at the top level (a
 * flow mapping, a block scalar, a duplicate) is malformed rather than ignored, so the weaker
 * trust mode fails closed instead of installing on a digest it could not read. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "molecule.h"
#include "plugin/plugin.h"

enum { MANIFEST_MAX = 64 * 1024 };

int mol_plugin__read_manifest(const char *dir, mol_plugin_extract_result *res) {
  char path[4200];
  int n = snprintf(path, sizeof path, "%s/plugin.yaml", dir);
  if (n < 0 || (size_t)n >= sizeof path) return MOL_ETOOBIG;
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? 0 : MOL_EIO;
  char *buf = malloc(MANIFEST_MAX + 1);
  size_t len = 0;
  int rc = buf ? 0 : MOL_ENOMEM;
  while (!rc && len <= MANIFEST_MAX) {
    ssize_t r = read(fd, buf + len, MANIFEST_MAX + 1 - len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) rc = MOL_EIO;
    if (r <= 0) break;
    len += (size_t)r;
  }
  close(fd);
  if (rc || len > MANIFEST_MAX) {
    free(buf);
    if (!rc) res->manifest_too_big = 1;
    return rc;
  }
  buf[len] = '\0';
  res->manifest_yaml = buf;
  res->manifest_len = len;
  return 0;
}

static int is_hex64(const char *s, size_t n) {
  if (n != MOL_SHA256_HEX_LEN) return 0;
  for (size_t i = 0; i < n; i++)
    if (!strchr("0123456789abcdefABCDEF", s[i])) return 0;
  return 1;
}

/* The value after "sha256:" up to the end of the line: bare or quoted, then blanks and an
 * optional comment. 0 with out filled, or MOL_EINVAL. */
static int read_value(const char *p, const char *end, char out[MOL_SHA256_HEX_LEN + 1]) {
  while (p < end && (*p == ' ' || *p == '\t')) p++;
  char quote = (p < end && (*p == '"' || *p == '\'')) ? *p++ : 0;
  const char *v = p;
  while (p < end && *p != quote && *p != ' ' && *p != '\t' && *p != '#' && *p != '\r') p++;
  size_t n = (size_t)(p - v);
  if (quote && (p >= end || *p++ != quote)) return MOL_EINVAL;
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\r')) p++;
  if (p < end && *p != '#') return MOL_EINVAL;
  if (!is_hex64(v, n)) return MOL_EINVAL;
  for (size_t i = 0; i < n; i++) out[i] = (char)((v[i] >= 'A' && v[i] <= 'F') ? v[i] + 32 : v[i]);
  out[n] = '\0';
  return 0;
}

int mol_plugin__manifest_sha256(const char *yaml, size_t len, char out[MOL_SHA256_HEX_LEN + 1]) {
  const char *end = yaml + len;
  int found = 0;
  for (const char *line = yaml; line < end;) {
    const char *nl = memchr(line, '\n', (size_t)(end - line));
    const char *eol = nl ? nl : end;
    if (line == yaml && *line == '{') return MOL_EINVAL; /* a flow mapping: not read here */
    static const char key[] = "sha256";
    const char *k = line;
    if (*k == '"' || *k == '\'') k++;
    if ((size_t)(eol - k) >= sizeof key - 1 && memcmp(k, key, sizeof key - 1) == 0) {
      const char *p = k + sizeof key - 1;
      if (k != line && p < eol && *p == *line) p++;
      while (p < eol && (*p == ' ' || *p == '\t')) p++;
      if (p < eol && *p == ':') {
        if (found || read_value(p + 1, eol, out)) return MOL_EINVAL;
        found = 1;
      }
    }
    line = nl ? nl + 1 : end;
  }
  return found ? 0 : MOL_ENOENT;
}
