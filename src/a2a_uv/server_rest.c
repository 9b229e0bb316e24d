/* server_rest.c - the HTTP+JSON (REST) binding of A2A v1.0, at <prefix>/v1, on the same task
 * engine as JSON-RPC. Each route is read into the v1.0 JSON-RPC request it stands for and goes
 * through the same dispatch; only the answer is written differently: the JSON-RPC result
 * alone (HTTP 200), or an error as an HTTP status with
 * {"error":{"code":<http>,"status":<google.rpc code name>,"message","details":[ErrorInfo]}}
 * (the reference SDK's shape). Streams carry bare StreamResponses; an error after the stream
 * started is `event: error` with that error object.
 *
 *   POST   /v1/message:send                          SendMessage (body: SendMessageRequest)
 *   POST   /v1/message:stream                        SendStreamingMessage (SSE)
 *   GET    /v1/tasks                                 ListTasks (query parameters)
 *   GET    /v1/tasks/{id}[?historyLength=n]          GetTask
 *   POST   /v1/tasks/{id}:cancel                     CancelTask
 *   GET|POST /v1/tasks/{id}:subscribe                SubscribeToTask (SSE)
 *   POST   /v1/tasks/{id}/pushNotificationConfigs    CreateTaskPushNotificationConfig
 *   GET    /v1/tasks/{id}/pushNotificationConfigs    ListTaskPushNotificationConfigs
 *   GET|DELETE /v1/tasks/{id}/pushNotificationConfigs/{cid}  Get / Delete...
 *   GET    /v1/extendedAgentCard (also /v1/card)     GetExtendedAgentCard
 * Path segments are percent-decoded. A2A-Version absent or 1.0[.x]; anything else is
 * VersionNotSupported (this binding speaks v1.0 only). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "a2a_uv/server_int.h"
#include "base/json.h"
#include "molecule.h"

const char mol_a2a__rest_marker = 0;

/* ---- answers --------------------------------------------------------------------------------- */

static void status_for(int code, int *http, const char **name) {
  switch (code) {
    case MOL_A2A_TASK_NOT_FOUND:
    case MOL_A2A_METHOD_NOT_FOUND: *http = 404, *name = "NOT_FOUND"; return;
    case MOL_A2A_TASK_NOT_CANCELABLE:
    case MOL_A2A_PUSH_NOT_SUPPORTED:
    case MOL_A2A_UNSUPPORTED_OPERATION:
    case MOL_A2A_EXTENDED_CARD_NOT_CONFIGURED:
    case MOL_A2A_EXTENSION_SUPPORT_REQUIRED:
    case MOL_A2A_VERSION_NOT_SUPPORTED: *http = 400, *name = "FAILED_PRECONDITION"; return;
    case MOL_A2A_CONTENT_TYPE_NOT_SUPPORTED:
    case MOL_A2A_INVALID_REQUEST:
    case MOL_A2A_INVALID_PARAMS:
    case MOL_A2A_PARSE_ERROR: *http = 400, *name = "INVALID_ARGUMENT"; return;
    default: *http = 500, *name = "INTERNAL"; return;
  }
}

static json_t *rest_error(int http, const char *name, const char *message, json_t *details) {
  return json_pack("{s:{s:i, s:s, s:s, s:o}}", "error", "code", http, "status", name, "message",
                   message ? message : "", "details", details ? details : json_array());
}

/* A JSON-RPC answer as the REST binding writes it: *http gets the status; NULL when out of
 * memory. */
static char *from_envelope(const char *body, int *http) {
  json_t *env = body ? json_loads(body, 0, NULL) : NULL;
  json_t *err = json_object_get(env, "error"), *out;
  *http = 200;
  if (err) {
    const char *name;
    status_for((int)json_integer_value(json_object_get(err, "code")), http, &name);
    json_t *data = json_object_get(err, "data");
    out = rest_error(*http, name, json_string_value(json_object_get(err, "message")),
                     json_is_array(data) ? json_incref(data) : NULL);
  } else {
    json_t *res = json_object_get(env, "result");
    out = res && !json_is_null(res) ? json_incref(res) : json_object();
  }
  json_decref(env);
  char *text = out ? mol_json_dump(out) : NULL;
  json_decref(out);
  return text;
}

void mol_a2a__rest_answer(mol_http_req *r, char *body) {
  int http = 500;
  char *text = from_envelope(body, &http);
  free(body);
  static const char oom[] = "{\"error\":{\"code\":500,\"status\":\"INTERNAL\",\"message\":\"out of "
                            "memory\",\"details\":[]}}";
  if (text) mol_http_respond(r, http, "application/json", text, strlen(text));
  else mol_http_respond(r, 500, "application/json", oom, sizeof(oom) - 1);
  free(text);
}

char *mol_a2a__rest_event(const char *body, int *is_error) {
  int http;
  char *text = from_envelope(body, &http);
  *is_error = http != 200;
  return text;
}

static void answer_rest_error(mol_http_req *r, int http, const char *name, const char *message) {
  json_t *e = rest_error(http, name, message, NULL);
  char *text = e ? mol_json_dump(e) : NULL;
  json_decref(e);
  if (text) mol_http_respond(r, http, "application/json", text, strlen(text));
  else mol_http_respond(r, 500, "text/plain", "out of memory", 13);
  free(text);
}

/* ---- reading a route into a JSON-RPC request ------------------------------------------------ */

/* Percent-decoding of n bytes of s ('+' is a space in a query only); NULL on a bad escape,
 * an encoded NUL or out of memory. */
static char *decode_as(const char *s, size_t n, int query) {
  char *out = malloc(n + 1), *o = out;
  for (size_t i = 0; out && i < n; i++) {
    if (s[i] != '%') {
      *o++ = query && s[i] == '+' ? ' ' : s[i];
      continue;
    }
    if (i + 2 >= n || !isxdigit((unsigned char)s[i + 1]) || !isxdigit((unsigned char)s[i + 2]))
      goto bad;
    char hex[3] = {s[i + 1], s[i + 2], 0};
    *o = (char)strtol(hex, NULL, 16);
    if (!*o) goto bad;
    o++;
    i += 2;
  }
  if (out) *o = '\0';
  return out;
bad:
  free(out);
  return NULL;
}

static char *decode(const char *s, size_t n) { return decode_as(s, n, 0); }
static char *decode_q(const char *s, size_t n) { return decode_as(s, n, 1); }

/* Query parameters into params: known integer and boolean ones typed, the rest strings. */
static int query_into(const char *q, json_t *params) {
  static const char *const ints[] = {"historyLength", "pageSize"};
  while (q && *q) {
    const char *amp = strchr(q, '&'), *end = amp ? amp : q + strlen(q), *eq = memchr(q, '=', (size_t)(end - q));
    if (!eq) eq = end;
    char *k = decode_q(q, (size_t)(eq - q));
    char *v = decode_q(eq < end ? eq + 1 : eq, eq < end ? (size_t)(end - eq - 1) : 0);
    int rc = !k || !v ? -1 : 0;
    json_t *val = NULL;
    for (size_t i = 0; !rc && i < 2 && !val; i++) {
      if (strcmp(k, ints[i]) != 0) continue;
      char *e;
      long long n = strtoll(v, &e, 10);
      val = *v && !*e ? json_integer(n) : json_string(v); /* a bad number: -32602 downstream */
    }
    if (!rc && !val && !strcmp(k, "includeArtifacts"))
      val = !strcmp(v, "true") ? json_true() : !strcmp(v, "false") ? json_false() : json_string(v);
    if (!rc && !val) val = json_string(v);
    if (!rc && *k) rc = json_object_set_new(params, k, val);
    else json_decref(val);
    free(k);
    free(v);
    if (rc) return -1;
    q = amp ? amp + 1 : NULL;
  }
  return 0;
}

typedef struct {
  const char *method;     /* the v1.0 JSON-RPC name, NULL: no such route */
  json_t *params;
  int bad_method;         /* the path exists, not with this HTTP method */
} rest_route;

static int is(const char *m, const char *want) { return strcmp(m, want) == 0; }

/* /tasks/{id}[:verb | /pushNotificationConfigs[/{cid}]] */
static int task_route(const char *m, const char *rest, rest_route *rt) {
  const char *slash = strchr(rest, '/'), *colon = strchr(rest, ':');
  size_t idn = slash ? (size_t)(slash - rest) : colon ? (size_t)(colon - rest) : strlen(rest);
  char *id = decode(rest, idn);
  if (!id || !*id) {
    free(id);
    return -1;
  }
  const char *tail = rest + idn;
  json_t *p = rt->params;
  int ok = 1;
  if (!*tail) {
    ok = is(m, "GET");
    rt->method = "GetTask";
  } else if (is(tail, ":cancel")) {
    ok = is(m, "POST");
    rt->method = "CancelTask";
  } else if (is(tail, ":subscribe")) {
    ok = is(m, "POST") || is(m, "GET");
    rt->method = "SubscribeToTask";
  } else if (is(tail, "/pushNotificationConfigs")) {
    ok = is(m, "POST") || is(m, "GET");
    rt->method = is(m, "POST") ? "CreateTaskPushNotificationConfig" : "ListTaskPushNotificationConfigs";
  } else if (!strncmp(tail, "/pushNotificationConfigs/", 25) && tail[25]) {
    char *cid = decode(tail + 25, strlen(tail + 25));
    if (!cid) {
      free(id);
      return -1;
    }
    json_object_set_new(p, "id", json_string(cid));
    free(cid);
    ok = is(m, "GET") || is(m, "DELETE");
    rt->method = is(m, "DELETE") ? "DeleteTaskPushNotificationConfig" : "GetTaskPushNotificationConfig";
  } else {
    free(id);
    return 0; /* no such route */
  }
  /* GetTask, CancelTask, SubscribeToTask name the task `id`; the config methods `taskId` */
  json_object_set_new(p, strstr(rt->method, "PushNotification") ? "taskId" : "id", json_string(id));
  free(id);
  rt->bad_method = !ok;
  return 0;
}

static int route_of(const char *m, const char *path, rest_route *rt) {
  if (is(path, "/message:send") || is(path, "/message:stream")) {
    rt->bad_method = !is(m, "POST");
    rt->method = path[9] == 's' && path[10] == 'e' ? "SendMessage" : "SendStreamingMessage";
    return 0;
  }
  if (is(path, "/tasks")) {
    rt->bad_method = !is(m, "GET");
    rt->method = "ListTasks";
    return 0;
  }
  if (is(path, "/extendedAgentCard") || is(path, "/card")) {
    rt->bad_method = !is(m, "GET");
    rt->method = "GetExtendedAgentCard";
    return 0;
  }
  if (!strncmp(path, "/tasks/", 7)) return task_route(m, path + 7, rt);
  return 0;
}

/* The body's members join params (path and query win over the body). */
static int body_into(mol_http_req *r, json_t *params) {
  size_t len;
  const char *body = mol_http_req_body(r, &len);
  if (!len) return 0;
  json_t *b = mol_json_parse(body, len, NULL, 0);
  int ok = json_is_object(b);
  if (ok) json_object_update_missing(params, b);
  json_decref(b);
  return ok ? 0 : -1;
}

/* ---- the handler ----------------------------------------------------------------------------- */

static void on_rest(mol_http_req *r, void *arg) {
  mol_a2a_server *s = arg;
  const char *m = mol_http_req_method(r), *path = mol_http_req_path(r) + s->prefix_len + 3;
  const char *vh = mol_http_req_header(r, "A2A-Version");
  mol_a2a_version v;
  mol_http_req_set_data(r, (void *)&mol_a2a__rest_marker);
  s->requests++;
  if (vh && *vh && (mol_a2a_version_parse(vh, &v) != 0 || v != MOL_A2A_V10)) {
    json_t *info = json_pack("[{s:s, s:s, s:s}]", "@type", "type.googleapis.com/google.rpc.ErrorInfo",
                             "reason", "VERSION_NOT_SUPPORTED", "domain", "a2a-protocol.org");
    json_t *e = rest_error(400, "FAILED_PRECONDITION",
                           "HTTP+JSON is served in A2A 1.0 only. Supported versions: 1.0", info);
    char *text = e ? mol_json_dump(e) : NULL;
    json_decref(e);
    mol_http_respond(r, 400, "application/json", text ? text : "", text ? strlen(text) : 0);
    free(text);
    return;
  }
  rest_route rt = {.params = json_object()};
  if (!rt.params || route_of(m, path, &rt) != 0 || !rt.method) {
    json_decref(rt.params);
    answer_rest_error(r, rt.params ? 404 : 500, rt.params ? "NOT_FOUND" : "INTERNAL",
                      "no such A2A route");
    return;
  }
  if (rt.bad_method) {
    json_decref(rt.params);
    answer_rest_error(r, 405, "UNIMPLEMENTED", "method not allowed on this route");
    return;
  }
  if (body_into(r, rt.params) != 0 || query_into(mol_http_req_query(r), rt.params) != 0) {
    json_decref(rt.params);
    answer_rest_error(r, 400, "INVALID_ARGUMENT", "the body must be a JSON object");
    return;
  }
  json_t *env = json_pack("{s:s, s:i, s:s, s:o}", "jsonrpc", "2.0", "id", 0, "method", rt.method,
                          "params", rt.params);
  char *text = env ? mol_json_dump(env) : NULL;
  json_decref(env);
  mol_a2a_request req;
  if (!text || mol_a2a_request_parse(text, strlen(text), "1.0", &req)) {
    mol_a2a__answer_body(r, text ? mol_a2a_reply_request_error(&req) : NULL);
    if (text) mol_a2a_request_free(&req);
    free(text);
    return;
  }
  free(text); /* the request keeps its own parsed tree */
  mol_a2a__dispatch(s, r, &req);
}

int mol_a2a__rest_routes(mol_a2a_server *s, mol_http_server *http, const char *prefix) {
  char path[300];
  snprintf(path, sizeof(path), "%s/v1/", prefix);
  return mol_http_server_route(http, NULL, path, 1, on_rest, s);
}
