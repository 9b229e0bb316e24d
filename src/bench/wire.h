/* wire.h - what the load generator puts on the wire: request bodies and paths for each A2A
 * binding, and which endpoint of an agent card a binding uses. Pure: no I/O.
 *
 * Bodies are written with snprintf-style appends into a reused buffer, not built as JSON
 * objects: the text of a prompt is escaped once when it is loaded, and only the ids change per
 * request. (test_bench_pure checks that the codec the server uses accepts every shape.) */
#ifndef MOL_BENCH_WIRE_H
#define MOL_BENCH_WIRE_H

#include <jansson.h>

#include "base/buf.h"

typedef enum {
  MOL_BENCH_JSONRPC_V03 = 0, /* JSON-RPC, A2A v0.3 names (every Molecule caller) */
  MOL_BENCH_JSONRPC_V10,     /* JSON-RPC, A2A v1.0 names, A2A-Version: 1.0 */
  MOL_BENCH_HTTP_JSON        /* the HTTP+JSON (REST) binding of A2A v1.0 */
} mol_bench_binding;

const char *mol_bench_binding_name(mol_bench_binding b);

/* One message to send. text_json is the text already as a JSON string literal (quotes
 * included); context_id and task_id may be NULL. */
typedef struct {
  const char *rpc_id;     /* JSON-RPC id (a string); unused by HTTP+JSON */
  const char *message_id;
  const char *text_json;
  const char *context_id;
  const char *task_id;
  int stream;             /* message/stream instead of message/send */
  int return_immediately; /* blocking:false / returnImmediately:true */
} mol_bench_send;

/* Appends the body of a send (or stream) to out (reset first). 0 or MOL_ENOMEM. */
int mol_bench_body_send(mol_buf *out, mol_bench_binding b, const mol_bench_send *s);
/* Appends the body of tasks/get (reset first); HTTP+JSON has none (out stays empty). */
int mol_bench_body_get(mol_buf *out, mol_bench_binding b, const char *rpc_id,
                       const char *task_id);
/* The URL a request goes to: the endpoint itself for JSON-RPC; for HTTP+JSON the endpoint plus
 * /message:send, /message:stream or /tasks/<id> (the id escaped). task_id NULL for sends. */
int mol_bench_url(mol_buf *out, mol_bench_binding b, const char *endpoint, int stream,
                  const char *task_id);
/* "GET" for an HTTP+JSON task poll, else "POST". */
const char *mol_bench_method(mol_bench_binding b, const char *task_id);

/* A JSON string literal of text[0..len) (quotes included), malloc'd; NULL when out of memory
 * or when the text is not valid UTF-8. */
char *mol_bench_json_string(const char *text, size_t len);

/* The endpoint a card offers for binding b: v0.3 JSON-RPC its `url` (unless another transport
 * is preferred) or a JSONRPC entry of additionalInterfaces / supportedInterfaces (0.x); v1.0
 * JSON-RPC and HTTP+JSON an entry of supportedInterfaces with that protocolBinding and a 1.x
 * protocolVersion (or, for HTTP+JSON, an additionalInterfaces entry with that transport).
 * NULL when the card offers none; the string is borrowed from the card. */
const char *mol_bench_card_endpoint(const json_t *card, mol_bench_binding b);

#endif
