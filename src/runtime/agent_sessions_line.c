/* agent_sessions_line.c - one line of the sessions file (agent_sessions.c),
 *   {"ctx":"<contextId>","who":"user"|"agent","text":"..."}
 * written as text. Every turn writes two of them; packing each as a jansson tree and dumping
 * it cost more than the rest of the line's way to the disk. The bytes are the ones json_pack
 * and mol_json_dump gave (test_runtime_sessions_line compares both on many inputs), and a
 * string that is not UTF-8 is refused as json_pack refused it (the same check keeps such text
 * out of a context's history). */
#include <string.h>

#include "base/json.h"
#include "runtime/agent_care.h"

static int member(mol_buf *b, const char *key, const char *value, size_t len) {
  if (mol_buf_append_str(b, key)) return MOL_ENOMEM;
  return mol_json_write_string(b, value, len);
}

int mol_agent__sessions_format(mol_buf *b, const char *ctx, const char *who, const char *text) {
  if (!ctx) ctx = "";
  size_t ctx_len = strlen(ctx), who_len = strlen(who), text_len = strlen(text);
  if (!mol_json_utf8_valid(ctx, ctx_len) || !mol_json_utf8_valid(who, who_len) ||
      !mol_json_utf8_valid(text, text_len))
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
