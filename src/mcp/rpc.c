/* rpc.c - JSON-RPC 2.0 messages as MCP uses them (see rpc.h). */
#include "mcp/rpc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int usable_id(const json_t *id) { return json_is_string(id) || json_is_integer(id); }

static void invalid(mol_mcp_msg *out, json_t *id, int code, const char *why) {
  out->kind = MCP_MSG_INVALID;
  out->id = usable_id(id) ? id : NULL;
  out->code = code;
  out->why = why;
}

void mol_mcp_rpc_classify(json_t *msg, mol_mcp_msg *out) {
  memset(out, 0, sizeof *out);
  if (!json_is_object(msg)) {
    invalid(out, NULL, MCP_INVALID_REQUEST, "Invalid Request: a message is a JSON object");
    return;
  }
  json_t *id = json_object_get(msg, "id");
  json_t *method = json_object_get(msg, "method");
  json_t *params = json_object_get(msg, "params");
  const char *version = json_string_value(json_object_get(msg, "jsonrpc"));
  if (!version || strcmp(version, "2.0") != 0) {
    invalid(out, id, MCP_INVALID_REQUEST, "Invalid Request: \"jsonrpc\" must be \"2.0\"");
    return;
  }
  if (!method) {
    int is_response = json_object_get(msg, "result") || json_object_get(msg, "error");
    if (is_response && (usable_id(id) || json_is_null(id))) {
      out->kind = MCP_MSG_RESPONSE;
      out->id = id;
      return;
    }
    invalid(out, id, MCP_INVALID_REQUEST, "Invalid Request: no \"method\"");
    return;
  }
  if (!json_is_string(method)) {
    invalid(out, id, MCP_INVALID_REQUEST, "Invalid Request: \"method\" must be a string");
    return;
  }
  if (id && !usable_id(id)) {
    invalid(out, NULL, MCP_INVALID_REQUEST,
            "Invalid Request: \"id\" must be a string or an integer");
    return;
  }
  if (params && !json_is_object(params)) {
    invalid(out, id, MCP_INVALID_PARAMS, "Invalid params: \"params\" must be an object");
    return;
  }
  out->kind = id ? MCP_MSG_REQUEST : MCP_MSG_NOTIFICATION;
  out->id = id;
  out->method = json_string_value(method);
  out->params = params;
}

json_t *mol_mcp_rpc_result(const json_t *id, json_t *result) {
  if (!result) return NULL;
  return json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id ? (json_t *)id : json_null(),
                   "result", result);
}

/* A message cut at its buffer's end must not end inside a UTF-8 sequence: jansson would
 * refuse the whole string. */
static void trim_partial_utf8(char *s, size_t len) {
  size_t i = len, cont = 0;
  while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80 && cont < 3) i--, cont++;
  if (i == 0) return;
  unsigned char lead = (unsigned char)s[i - 1];
  size_t need = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : 0;
  if (need != cont) s[i - 1] = '\0';
}

json_t *mol_mcp_rpc_error(const json_t *id, int code, const char *fmt, ...) {
  char message[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  if (n >= (int)sizeof message) trim_partial_utf8(message, sizeof message - 1);
  return json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id",
                   usable_id(id) ? (json_t *)id : json_null(), "error", "code", code,
                   "message", message);
}
