/* redact.c - removes secrets from log lines. */
#include "base/redact.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static const char *const sensitive_exact[] = {
  "authorization", "proxy_authorization", "cookie", "set_cookie", "x_molecule_a2a_secret",
  "api_server_key", "x_api_key", "apikey", "credentials",
};
static const char *const sensitive_suffix[] = {
  "token", "secret", "password", "passwd", "api_key", "private_key", "secret_key", "access_key",
};

static int is_word_char(unsigned char c) {
  return isalnum(c) || c == '_' || c == '-';
}

/* Value characters for bare credentials (bearer tokens, query values). */
static int is_cred_char(unsigned char c) {
  return isalnum(c) || strchr("-._~+/=%:", c) != NULL;
}

int mol_redact_is_sensitive_key(const char *key, size_t len) {
  char norm[64];
  if (len == 0 || len >= sizeof(norm)) return 0;
  for (size_t i = 0; i < len; i++) {
    char c = (char)tolower((unsigned char)key[i]);
    norm[i] = c == '-' ? '_' : c;
  }
  norm[len] = '\0';
  for (size_t i = 0; i < sizeof(sensitive_exact) / sizeof(*sensitive_exact); i++)
    if (strcmp(norm, sensitive_exact[i]) == 0) return 1;
  for (size_t i = 0; i < sizeof(sensitive_suffix) / sizeof(*sensitive_suffix); i++) {
    size_t sl = strlen(sensitive_suffix[i]);
    if (len >= sl && strcmp(norm + len - sl, sensitive_suffix[i]) == 0) return 1;
  }
  return 0;
}

/* Length of a registered secret starting at p, or 0. */
static size_t match_secret(const char *p, size_t left, const char *const *secrets, size_t n) {
  for (size_t i = 0; i < n; i++) {
    size_t sl = strlen(secrets[i]);
    if (sl && sl <= left && memcmp(p, secrets[i], sl) == 0) return sl;
  }
  return 0;
}

/* If p starts an auth scheme word ("Bearer " / "Basic "), returns its length incl. spaces. */
static size_t match_scheme(const char *p, size_t left) {
  static const char *const schemes[] = {"bearer", "basic"};
  for (size_t i = 0; i < 2; i++) {
    size_t sl = strlen(schemes[i]);
    if (left > sl && strncasecmp(p, schemes[i], sl) == 0 && p[sl] == ' ') {
      size_t k = sl;
      while (k < left && p[k] == ' ') k++;
      if (k < left && is_cred_char((unsigned char)p[k])) return k;
    }
  }
  return 0;
}

/* After a sensitive key at in[ks..ke), finds the value. Sets *vs and *ve to the value span to
 * replace and returns 1, or returns 0 when no value follows. */
static int find_value(const char *in, size_t len, size_t ke, size_t *vs, size_t *ve) {
  size_t i = ke;
  if (i < len && (in[i] == '"' || in[i] == '\'')) i++;       /* closing quote of a JSON key */
  while (i < len && in[i] == ' ') i++;
  if (i >= len || (in[i] != ':' && in[i] != '=')) return 0;
  i++;
  while (i < len && in[i] == ' ') i++;
  char quote = 0;
  if (i < len && (in[i] == '"' || in[i] == '\'')) quote = in[i++];
  i += match_scheme(in + i, len - i);
  size_t s = i;
  if (quote) {
    while (i < len && in[i] != quote) i += (in[i] == '\\' && i + 1 < len) ? 2 : 1;
  } else {
    while (i < len && !strchr(" \t,;&}]\"'\r\n", in[i])) i++;
  }
  if (i == s) return 0;
  *vs = s;
  *ve = i;
  return 1;
}

int mol_redact(const char *in, size_t len, const char *const *secrets, size_t n, mol_buf *out) {
  size_t i = 0, copied = 0;
  int rc = 0;
  while (i < len && rc == 0) {
    size_t sl = match_secret(in + i, len - i, secrets, n);
    if (sl) {
      rc = mol_buf_append(out, in + copied, i - copied);
      if (!rc) rc = mol_buf_append_str(out, MOL_REDACTED);
      i += sl;
      copied = i;
      continue;
    }
    int at_word_start = i == 0 || !is_word_char((unsigned char)in[i - 1]);
    if (!at_word_start || !is_word_char((unsigned char)in[i])) { i++; continue; }
    size_t ws = i, we = i;
    while (we < len && is_word_char((unsigned char)in[we])) we++;
    size_t vs, ve;
    size_t scheme = match_scheme(in + ws, len - ws);
    if (scheme) {
      vs = ws + scheme;
      ve = vs;
      while (ve < len && is_cred_char((unsigned char)in[ve])) ve++;
    } else if (!(mol_redact_is_sensitive_key(in + ws, we - ws) &&
                 find_value(in, len, we, &vs, &ve))) {
      i++; /* not past the word: a registered secret may start inside it */
      continue;
    }
    rc = mol_buf_append(out, in + copied, vs - copied);
    if (!rc) rc = mol_buf_append_str(out, MOL_REDACTED);
    i = copied = ve;
  }
  if (!rc) rc = mol_buf_append(out, in + copied, len - copied);
  return rc;
}
