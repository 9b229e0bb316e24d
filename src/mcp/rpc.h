/* rpc.h - JSON-RPC 2.0 as MCP uses it: one message classified (request, notification,
 * response or invalid, with the error a peer should get for it) and responses built.
 *
 * MCP narrows JSON-RPC: an id is a string or an integer, never null; params, when present,
 * are an object. Pure: no I/O, jansson only. */
#ifndef MOL_MCP_RPC_H
#define MOL_MCP_RPC_H

#include <jansson.h>
#include <stddef.h>

#define MCP_PARSE_ERROR (-32700)
#define MCP_INVALID_REQUEST (-32600)
#define MCP_METHOD_NOT_FOUND (-32601)
#define MCP_INVALID_PARAMS (-32602)
#define MCP_INTERNAL_ERROR (-32603)
#define MCP_SERVER_BUSY (-32000) /* server-defined range: a bound was reached */

typedef enum {
  MCP_MSG_REQUEST = 0,  /* method + id: answered exactly once */
  MCP_MSG_NOTIFICATION, /* method, no id: never answered */
  MCP_MSG_RESPONSE,     /* id + result or error: the peer answering us; never answered */
  MCP_MSG_INVALID       /* answered with code/why, id = the message's id when usable */
} mol_mcp_msg_kind;

typedef struct {
  mol_mcp_msg_kind kind;
  json_t *id;            /* borrowed from the message; NULL when absent or unusable */
  const char *method;    /* requests and notifications */
  json_t *params;        /* borrowed; NULL when absent */
  int code;              /* MCP_MSG_INVALID: the JSON-RPC error code */
  const char *why;       /* MCP_MSG_INVALID: the error message (static text) */
} mol_mcp_msg;

/* Classifies one message (an element of a batch, or a whole message that is not an array). */
void mol_mcp_rpc_classify(json_t *msg, mol_mcp_msg *out);

/* {"jsonrpc":"2.0","id":id,"result":result}; result is stolen. NULL when out of memory. */
json_t *mol_mcp_rpc_result(const json_t *id, json_t *result);
/* {"jsonrpc":"2.0","id":id or null,"error":{"code","message"}} with a printf-style message. */
json_t *mol_mcp_rpc_error(const json_t *id, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
