/* a2a_fake_peer.h - the scripted A2A peer of test_a2a_client.c: answers each request with what
 * the test put in `sc` (a unary body, or SSE frames and how the stream ends), the request's
 * JSON-RPC id substituted for "$ID". Built on the raw fake HTTP server, so it can misbehave in
 * ways a real server never would. Include after cmocka.h. */
#ifndef TEST_A2A_FAKE_PEER_H
#define TEST_A2A_FAKE_PEER_H

#include <jansson.h>

#include "http_fake_server.h"

enum { END_CLOSE, END_SILENT, END_CUT };

/* What the fake peer answers. "$ID" in a body or an event is replaced by the request's id. */
static struct {
  int status;
  const char *ctype;
  const char *body;        /* unary answer (NULL = stream below) */
  const char *events[8];   /* SSE frames, written one by one */
  int end;                 /* END_*: after the events */
  int chunked;             /* chunked coding (else delimited by close) */
  int card_404;            /* /.well-known/agent-card.json answers 404 */
  int silent;              /* never answer */
} sc;

static void request_id(const char *req, size_t len, char *out, size_t cap) {
  const char *body = memmem(req, len, "\r\n\r\n", 4);
  json_t *root = body ? json_loadb(body + 4, len - (size_t)(body + 4 - req), 0, NULL) : NULL;
  char *id = root ? json_dumps(json_object_get(root, "id"), JSON_ENCODE_ANY) : NULL;
  snprintf(out, cap, "%s", id ? id : "null");
  free(id);
  json_decref(root);
}

static void with_id(mol_buf *out, const char *tmpl, const char *id) {
  for (const char *p = tmpl; *p;) {
    const char *at = strstr(p, "$ID");
    size_t n = at ? (size_t)(at - p) : strlen(p);
    mol_buf_append(out, p, n);
    if (!at) break;
    mol_buf_append_str(out, id);
    p = at + 3;
  }
}

static void write_head(fake_conn *fc, int status, const char *ctype, long length, int chunked) {
  mol_buf h = MOL_BUF_INIT;
  mol_buf_printf(&h, "HTTP/1.1 %d X\r\nContent-Type: %s\r\n", status, ctype);
  if (length >= 0) mol_buf_printf(&h, "Content-Length: %ld\r\n\r\n", length);
  else if (chunked) mol_buf_append_str(&h, "Transfer-Encoding: chunked\r\n\r\n");
  else mol_buf_append_str(&h, "Connection: close\r\n\r\n");
  fs_write(fc, h.data);
  mol_buf_free(&h);
}

static void write_part(fake_conn *fc, const char *data, size_t n) {
  if (!sc.chunked) {
    fs_write_then(fc, data, n, FS_AFTER_NONE);
    return;
  }
  char size[32];
  snprintf(size, sizeof(size), "%zx\r\n", n);
  fs_write(fc, size);
  fs_write_then(fc, data, n, FS_AFTER_NONE);
  fs_write(fc, "\r\n");
}

static void serve_stream(fake_conn *fc, const char *id) {
  write_head(fc, 200, "text/event-stream", -1, sc.chunked);
  for (int i = 0; i < 8 && sc.events[i]; i++) {
    mol_buf e = MOL_BUF_INIT;
    with_id(&e, sc.events[i], id);
    write_part(fc, e.data, e.len);
    mol_buf_free(&e);
  }
  if (sc.end == END_CUT) write_part(fc, "data: {\"jsonrpc\":\"2.0\",\"id\":", 28);
  if (sc.end == END_CLOSE && sc.chunked) fs_write(fc, "0\r\n\r\n");
  if (sc.end != END_SILENT) fs_write_then(fc, "", 0, FS_AFTER_CLOSE);
}

static const char *card_json = "{\"name\":\"fake\",\"url\":\"http://127.0.0.1:1/rpc\","
                               "\"preferredTransport\":\"JSONRPC\",\"supportedInterfaces\":["
                               "{\"url\":\"http://127.0.0.1:1/v1\",\"protocolBinding\":"
                               "\"JSONRPC\",\"protocolVersion\":\"1.0\"}]}";

static void serve_card(fake_conn *fc, const char *req) {
  if (sc.card_404 && !strncmp(req, "GET /.well-known/agent-card.json", 32)) {
    write_head(fc, 404, "text/plain", 9, 0);
    fs_write(fc, "not found");
    return;
  }
  if (sc.card_404 > 1) { /* no card anywhere */
    write_head(fc, 404, "text/plain", 0, 0);
    return;
  }
  write_head(fc, 200, "application/json", (long)strlen(card_json), 0);
  fs_write(fc, card_json);
}

static void handler(fake_conn *fc, const char *req, size_t len) {
  char id[256];
  if (sc.silent) return;
  if (!strncmp(req, "GET ", 4)) {
    serve_card(fc, req);
    return;
  }
  request_id(req, len, id, sizeof(id));
  if (!sc.body) {
    serve_stream(fc, id);
    return;
  }
  mol_buf b = MOL_BUF_INIT;
  with_id(&b, sc.body, id);
  write_head(fc, sc.status ? sc.status : 200, sc.ctype ? sc.ctype : "application/json",
             (long)b.len, 0);
  if (b.len) fs_write(fc, b.data);
  mol_buf_free(&b);
}

#endif
