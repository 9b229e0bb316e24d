/* scrub.c - credential scrubbing for snapshots and memory writes (see scrub.h). */
#include "runtime/scrub.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"

/* A rule looks at text[i..len) and returns the length of its match there, or 0. */
typedef size_t (*rule_fn)(const char *t, size_t i, size_t len);

static int is_word(unsigned char c) { return isalnum(c) || c == '_'; }
static int is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
static int at_boundary(const char *t, size_t i) { return i == 0 || !is_word((unsigned char)t[i - 1]); }

static size_t run(const char *t, size_t i, size_t len, int (*cls)(int)) {
  size_t k = i;
  while (k < len && cls((unsigned char)t[k])) k++;
  return k - i;
}

static int cls_alnum(int c) { return isalnum(c); }
static int cls_alnum_us(int c) { return isalnum(c) || c == '_'; }
static int cls_alnum_dash_us(int c) { return isalnum(c) || c == '-' || c == '_'; }
static int cls_upper_digit(int c) { return isupper(c) || isdigit(c); }
static int cls_b64(int c) { return isalnum(c) || c == '+' || c == '/'; }

/* "<prefix><class>{min,}" starting at i. */
static size_t prefixed(const char *t, size_t i, size_t len, const char *prefix, int (*cls)(int),
                       size_t min) {
  size_t pl = strlen(prefix);
  if (len - i < pl || memcmp(t + i, prefix, pl) != 0) return 0;
  size_t r = run(t, i + pl, len, cls);
  return r >= min ? pl + r : 0;
}

/* \b[A-Z][A-Z0-9_]*<suffix>\s*=\s*\S+, case-insensitive. */
static size_t assignment(const char *t, size_t i, size_t len, const char *suffix) {
  if (!at_boundary(t, i) || !isalpha((unsigned char)t[i])) return 0;
  size_t w = run(t, i, len, cls_alnum_us), sl = strlen(suffix);
  if (w <= sl || strncasecmp(t + i + w - sl, suffix, sl) != 0) return 0;
  size_t k = i + w;
  while (k < len && is_space((unsigned char)t[k])) k++;
  if (k >= len || t[k] != '=') return 0;
  k++;
  while (k < len && is_space((unsigned char)t[k])) k++;
  size_t v = k;
  while (k < len && !is_space((unsigned char)t[k])) k++;
  return k > v ? k - i : 0;
}

static size_t r_api_key(const char *t, size_t i, size_t n) { return assignment(t, i, n, "_API_KEY"); }
static size_t r_token(const char *t, size_t i, size_t n) { return assignment(t, i, n, "_TOKEN"); }
static size_t r_secret(const char *t, size_t i, size_t n) { return assignment(t, i, n, "_SECRET"); }

static size_t r_bearer(const char *t, size_t i, size_t n) {
  if (n - i < 7 || memcmp(t + i, "Bearer", 6) != 0 || !is_space((unsigned char)t[i + 6])) return 0;
  size_t k = i + 6;
  while (k < n && is_space((unsigned char)t[k])) k++;
  size_t v = k;
  while (k < n && !is_space((unsigned char)t[k])) k++;
  return k > v ? k - i : 0;
}

static size_t r_sk(const char *t, size_t i, size_t n) {
  /* The fix: "sk-" must not continue a word ("task-management" is not a key). */
  if (i > 0 && (isalnum((unsigned char)t[i - 1]) || t[i - 1] == '-' || t[i - 1] == '_')) return 0;
  return prefixed(t, i, n, "sk-", cls_alnum_dash_us, 16);
}
static size_t r_ghp(const char *t, size_t i, size_t n) { return prefixed(t, i, n, "ghp_", cls_alnum, 20); }
static size_t r_ghs(const char *t, size_t i, size_t n) { return prefixed(t, i, n, "ghs_", cls_alnum, 20); }
static size_t r_ghpat(const char *t, size_t i, size_t n) {
  return prefixed(t, i, n, "github_pat_", cls_alnum_us, 60);
}

static size_t r_akia(const char *t, size_t i, size_t n) {
  if (!at_boundary(t, i)) return 0;
  size_t m = prefixed(t, i, n, "AKIA", cls_upper_digit, 16);
  if (m != 20) return 0; /* exactly 16, then a word boundary */
  return (i + m == n || !is_word((unsigned char)t[i + m])) ? m : 0;
}
static size_t r_cfut(const char *t, size_t i, size_t n) {
  return at_boundary(t, i) ? prefixed(t, i, n, "cfut_", cls_alnum, 32) : 0;
}
static size_t r_molpk(const char *t, size_t i, size_t n) {
  return at_boundary(t, i) ? prefixed(t, i, n, "mol_pk_", cls_alnum, 20) : 0;
}
static size_t r_ctx7(const char *t, size_t i, size_t n) {
  return at_boundary(t, i) ? prefixed(t, i, n, "ctx7_", cls_alnum, 1) : 0;
}

static size_t r_slack(const char *t, size_t i, size_t n) {
  if (!at_boundary(t, i) || n - i < 5 || memcmp(t + i, "xox", 3) != 0) return 0;
  if (!strchr("abprs", t[i + 3]) || t[i + 4] != '-') return 0;
  size_t r = run(t, i + 5, n, cls_alnum_dash_us);
  return r >= 10 ? 5 + r : 0;
}
static size_t r_google(const char *t, size_t i, size_t n) {
  return at_boundary(t, i) ? prefixed(t, i, n, "AIza", cls_alnum_dash_us, 35) : 0;
}
static size_t r_stripe(const char *t, size_t i, size_t n) {
  if (!at_boundary(t, i)) return 0;
  size_t m = prefixed(t, i, n, "sk_live_", cls_alnum, 16);
  return m ? m : prefixed(t, i, n, "rk_live_", cls_alnum, 16);
}

static size_t r_blob(const char *t, size_t i, size_t n) {
  if (i > 0 && cls_b64((unsigned char)t[i - 1])) return 0; /* only maximal runs */
  if (t[i] == '/') return 0;                               /* the fix: absolute paths */
  size_t r = run(t, i, n, cls_b64);
  if (r < 33) return 0;
  int up = 0, low = 0, dig = 0;
  for (size_t k = i; k < i + r; k++) {
    unsigned char c = (unsigned char)t[k];
    up |= isupper(c) != 0;
    low |= islower(c) != 0;
    dig |= isdigit(c) != 0;
  }
  if (!(up && low && dig)) return 0; /* the fix: identifiers and words are not blobs */
  size_t pad = 0;
  while (pad < 2 && i + r + pad < n && t[i + r + pad] == '=') pad++;
  return r + pad;
}

static const struct {
  rule_fn match;
  const char *label;
} rules[] = {
  {r_api_key, "API_KEY"}, {r_token, "TOKEN"}, {r_secret, "SECRET"},
  {r_bearer, "BEARER_TOKEN"}, {r_sk, "SK_TOKEN"}, {r_ghp, "GITHUB_PAT"},
  {r_ghs, "GITHUB_SERVER_TOKEN"}, {r_ghpat, "GITHUB_PAT_V2"}, {r_akia, "AWS_ACCESS_KEY"},
  {r_cfut, "CF_TOKEN"}, {r_molpk, "MOL_PK"}, {r_ctx7, "CTX7_TOKEN"},
  {r_slack, "SLACK_TOKEN"}, {r_google, "GOOGLE_API_KEY"}, {r_stripe, "STRIPE_KEY"},
  {r_blob, "BASE64_BLOB"},
};

/* One rule over the whole text, like one re.sub() upstream. */
static int apply_rule(size_t r, const char *in, size_t len, mol_buf *out) {
  size_t i = 0, copied = 0;
  while (i < len) {
    size_t m = rules[r].match(in, i, len);
    if (!m) {
      i++;
      continue;
    }
    if (mol_buf_append(out, in + copied, i - copied) ||
        mol_buf_printf(out, "[REDACTED:%s]", rules[r].label))
      return -1;
    i += m;
    copied = i;
  }
  return mol_buf_append(out, in + copied, len - copied);
}

char *mol_scrub_text(const char *text, size_t len) {
  mol_buf cur = MOL_BUF_INIT, next = MOL_BUF_INIT;
  if (mol_buf_append(&cur, text, len)) return NULL;
  for (size_t r = 0; r < sizeof(rules) / sizeof(*rules); r++) {
    mol_buf_reset(&next);
    if (apply_rule(r, cur.data, cur.len, &next)) {
      mol_buf_free(&cur);
      mol_buf_free(&next);
      return NULL;
    }
    mol_buf tmp = cur;
    cur = next;
    next = tmp;
  }
  mol_buf_free(&next);
  return mol_buf_steal(&cur);
}

int mol_scrub_is_sandbox(const char *text) {
  return strcasestr(text, "source=sandbox") || strcasestr(text, "tool=run_code") ||
         strcasestr(text, "[sandbox_output]");
}

json_t *mol_scrub_json(const json_t *v) {
  if (json_is_string(v)) {
    char *s = mol_scrub_text(json_string_value(v), json_string_length(v));
    json_t *r = s ? json_string(s) : NULL;
    free(s);
    return r;
  }
  if (json_is_object(v)) {
    json_t *o = json_object();
    const char *k;
    json_t *item;
    json_object_foreach((json_t *)v, k, item) json_object_set_new(o, k, mol_scrub_json(item));
    return o;
  }
  if (json_is_array(v)) {
    json_t *a = json_array();
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) {
      if (json_is_string(item) && mol_scrub_is_sandbox(json_string_value(item))) continue;
      json_array_append_new(a, mol_scrub_json(item));
    }
    return a;
  }
  return json_deep_copy(v);
}
