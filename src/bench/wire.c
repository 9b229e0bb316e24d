/* wire.c - request bodies, URLs and card endpoints for each A2A binding (wire.h). */
#include "bench/wire.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "molecule.h"

const char *mol_bench_binding_name(mol_bench_binding b) {
  switch (b) {
    case MOL_BENCH_JSONRPC_V10: return "jsonrpc/1.0";
    case MOL_BENCH_HTTP_JSON: return "http+json/1.0";
    default: return "jsonrpc/0.3";
  }
}

/* Bodies are assembled from constant pieces: no format string is parsed per request (that
 * cost more than the rest of building it). Every piece is appended; one error check at the end
 * suffices, as a failed append leaves the buffer as it was and mol_buf_reserve keeps failing. */
static int put(mol_buf *o, const char *s, int *rc) {
  if (!*rc) *rc = mol_buf_append_str(o, s);
  return *rc;
}

/* The message object: v0.3 with role "user" in the shape every Molecule caller sends (no
 * message-level "kind", which A2A v0.3 defaults), v1.0 ProtoJSON ROLE_USER. */
static void append_message(mol_buf *o, mol_bench_binding b, const mol_bench_send *s, int *rc) {
  int v1 = b != MOL_BENCH_JSONRPC_V03;
  put(o, "{\"messageId\":\"", rc);
  put(o, s->message_id, rc);
  put(o, v1 ? "\",\"role\":\"ROLE_USER\",\"parts\":[{\"text\":"
            : "\",\"role\":\"user\",\"parts\":[{\"kind\":\"text\",\"text\":", rc);
  put(o, s->text_json, rc);
  put(o, "}]", rc);
  if (s->context_id) {
    put(o, ",\"contextId\":\"", rc);
    put(o, s->context_id, rc);
    put(o, "\"", rc);
  }
  if (s->task_id) {
    put(o, ",\"taskId\":\"", rc);
    put(o, s->task_id, rc);
    put(o, "\"", rc);
  }
  put(o, "}", rc);
}

static void append_params(mol_buf *o, mol_bench_binding b, const mol_bench_send *s, int *rc) {
  put(o, "{\"message\":", rc);
  append_message(o, b, s, rc);
  if (s->return_immediately)
    put(o, b == MOL_BENCH_JSONRPC_V03 ? ",\"configuration\":{\"blocking\":false}"
                                      : ",\"configuration\":{\"returnImmediately\":true}", rc);
  put(o, "}", rc);
}

int mol_bench_body_send(mol_buf *o, mol_bench_binding b, const mol_bench_send *s) {
  int rc = 0;
  mol_buf_reset(o);
  if (b != MOL_BENCH_HTTP_JSON) {
    put(o, "{\"jsonrpc\":\"2.0\",\"id\":\"", &rc);
    put(o, s->rpc_id, &rc);
    put(o, b == MOL_BENCH_JSONRPC_V10
               ? (s->stream ? "\",\"method\":\"SendStreamingMessage\",\"params\":" : "\",\"method\":\"SendMessage\",\"params\":")
               : (s->stream ? "\",\"method\":\"message/stream\",\"params\":" : "\",\"method\":\"message/send\",\"params\":"),
        &rc);
  }
  append_params(o, b, s, &rc);
  if (b != MOL_BENCH_HTTP_JSON) put(o, "}", &rc);
  return rc;
}

int mol_bench_body_get(mol_buf *o, mol_bench_binding b, const char *rpc_id, const char *task_id) {
  mol_buf_reset(o);
  if (b == MOL_BENCH_HTTP_JSON) return 0;
  char *id = mol_bench_json_string(task_id, strlen(task_id));
  if (!id) return MOL_ENOMEM;
  int rc = mol_buf_printf(o, "{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"method\":\"%s\",\"params\":{\"id\":%s}}",
                          rpc_id, b == MOL_BENCH_JSONRPC_V10 ? "GetTask" : "tasks/get", id);
  free(id);
  return rc;
}

/* Percent-encodes everything but unreserved characters (RFC 3986 §2.3). */
static int append_path_segment(mol_buf *o, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                *p == '-' || *p == '_' || *p == '.' || *p == '~';
    char enc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
    int rc = plain ? mol_buf_append(o, p, 1) : mol_buf_append(o, enc, 3);
    if (rc) return rc;
  }
  return 0;
}

int mol_bench_url(mol_buf *o, mol_bench_binding b, const char *endpoint, int stream,
                  const char *task_id) {
  mol_buf_reset(o);
  if (b != MOL_BENCH_HTTP_JSON) return mol_buf_append_str(o, endpoint);
  size_t n = strlen(endpoint);
  while (n > 0 && endpoint[n - 1] == '/') n--; /* "http://h/a2a/" + "/tasks" -> one slash */
  int rc = mol_buf_append(o, endpoint, n);
  if (!rc && !task_id) rc = mol_buf_append_str(o, stream ? "/message:stream" : "/message:send");
  if (!rc && task_id) rc = mol_buf_append_str(o, "/tasks/");
  if (!rc && task_id) rc = append_path_segment(o, task_id);
  return rc;
}

const char *mol_bench_method(mol_bench_binding b, const char *task_id) {
  return b == MOL_BENCH_HTTP_JSON && task_id ? "GET" : "POST";
}

char *mol_bench_json_string(const char *text, size_t len) {
  json_t *s = json_stringn(text, len);
  char *out = s ? json_dumps(s, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
  json_decref(s);
  return out;
}

/* ---- card ------------------------------------------------------------------------------- */

static int same(const char *a, const char *b) { return a && !strcasecmp(a, b); }

/* An entry of card[list] whose binding field names `binding` and whose protocolVersion (when
 * version_prefix is set) starts with it. */
static const char *find_interface(const json_t *card, const char *list, const char *field,
                                  const char *binding, const char *version_prefix) {
  size_t i;
  json_t *itf;
  json_array_foreach(json_object_get(card, list), i, itf) {
    const char *url = json_string_value(json_object_get(itf, "url"));
    const char *pv = json_string_value(json_object_get(itf, "protocolVersion"));
    if (!url || !same(json_string_value(json_object_get(itf, field)), binding)) continue;
    if (version_prefix && (!pv || strncmp(pv, version_prefix, strlen(version_prefix)) != 0))
      continue;
    return url;
  }
  return NULL;
}

const char *mol_bench_card_endpoint(const json_t *card, mol_bench_binding b) {
  if (!json_is_object(card)) return NULL;
  if (b == MOL_BENCH_JSONRPC_V10)
    return find_interface(card, "supportedInterfaces", "protocolBinding", "JSONRPC", "1.");
  if (b == MOL_BENCH_HTTP_JSON) {
    const char *u = find_interface(card, "supportedInterfaces", "protocolBinding", "HTTP+JSON", "1.");
    return u ? u : find_interface(card, "additionalInterfaces", "transport", "HTTP+JSON", NULL);
  }
  const char *url = json_string_value(json_object_get(card, "url"));
  const char *preferred = json_string_value(json_object_get(card, "preferredTransport"));
  if (url && (!preferred || same(preferred, "JSONRPC"))) return url;
  const char *u = find_interface(card, "supportedInterfaces", "protocolBinding", "JSONRPC", "0.");
  return u ? u : find_interface(card, "additionalInterfaces", "transport", "JSONRPC", NULL);
}
