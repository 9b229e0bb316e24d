/* agent_sessions_line.c - one line of the sessions file (agent_sessions.c),
 *   {"ctx":"<contextId>","who":"user"|"agent","text":"..."}
 * written as text. Every turn writes two of them; packing each as a jansson tree and dumping
 * it cost more than the rest of the line's way to the disk. The bytes are the ones json_pack
 * and mol_json_dump gave (test_runtime_sessions_line compares both on many inputs), and a
 * string that is not UTF-8 is refused as json_pack refused it (the same check keeps such text
 * out of a context's history). */
#include <stdint.h>
#include <string.h>

#include "base/bytes8.h"
#include "base/json.h"
#include "runtime/agent_care.h"

int mol_agent__utf8_valid(const char *text, size_t n) {
  const unsigned char *s = (const unsigned char *)text;
  size_t i = 0;
  while (i < n) {
    if (n - i >= 8 && (mol_b8_load(s + i) & MOL_B8_HIGHS) == 0) {
      i += 8; /* ASCII, eight bytes per step */
      continue;
    }
    unsigned c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t k;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) k = 1, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) k = 2, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) k = 3, cp = c & 0x07;
    else return 0;
    if (n - i <= k) return 0;
    for (size_t j = 1; j <= k; j++) {
      if ((s[i + j] & 0xC0) != 0x80) return 0;
      cp = (cp << 6) | (s[i + j] & 0x3F);
    }
    if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return 0;
    i += k + 1;
  }
  return 1;
}

static int member(mol_buf *b, const char *key, const char *value, size_t len) {
  if (mol_buf_append_str(b, key)) return MOL_ENOMEM;
  return mol_json_write_string(b, value, len);
}

int mol_agent__sessions_format(mol_buf *b, const char *ctx, const char *who, const char *text) {
  if (!ctx) ctx = "";
  size_t ctx_len = strlen(ctx), who_len = strlen(who), text_len = strlen(text);
  if (!mol_agent__utf8_valid(ctx, ctx_len) || !mol_agent__utf8_valid(who, who_len) ||
      !mol_agent__utf8_valid(text, text_len))
    return MOL_EINVAL;
  size_t mark = b->len;
  if (mol_buf_reserve(b, ctx_len + who_len + text_len + 32) ||
      member(b, "{\"ctx\":", ctx, ctx_len) || member(b, ",\"who\":", who, who_len) ||
      member(b, ",\"text\":", text, text_len) || mol_buf_append(b, "}", 1)) {
    b->len = mark;
    if (b->data) b->data[mark] = '\0';
    return MOL_ENOMEM;
  }
  return 0;
}
