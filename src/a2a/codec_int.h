/* codec_int.h - private to the codec files. */
#ifndef MOL_A2A_CODEC_INT_H
#define MOL_A2A_CODEC_INT_H

#include "a2a/codec.h"

/* codec_parse.c: the state mol_a2a_request_parse starts from (no id, blocking, no history
 * limit); what the fast path is handed. */
void mol_a2a__request_init(mol_a2a_request *req);
/* codec_fast.c: reads a message/send, message/stream or tasks/get of the common shape, in
 * version v's names (SendMessage, SendStreamingMessage, GetTask in v1.0), into req (initialised
 * by mol_a2a__request_init) without a DOM. Returns 1 when req is complete, or 0 with req
 * untouched: the caller then runs the full parser. */
int mol_a2a__request_parse_fast(const char *body, size_t len, mol_a2a_version v,
                                mol_a2a_request *req);
/* codec_fast_send.c: reads the Molecule callers' message/send (v0.3, that exact member order, no
 * whitespace) by comparing its literal skeleton and reading only its id, messageId and text.
 * Returns 1 when req (initialised by mol_a2a__request_init) holds what
 * mol_a2a__request_parse_fast would read, or 0 with req untouched: the caller then runs it. */
int mol_a2a__request_match_send(const char *body, size_t len, mol_a2a_request *req);
/* codec_parse.c: mol_a2a_request_parse without the fast path (the reference the fast path is
 * tested against). Initialises req itself. */
int mol_a2a__request_parse_full(const char *body, size_t len, const char *version_header,
                                mol_a2a_request *req);

/* codec_fast_answer.c: reads a v0.3 JSON-RPC answer whose result is a Message or a Task of the
 * common shape into out without a DOM of the body (out->root stays NULL). Returns 1 when out
 * holds exactly what mol_a2a__response_parse_full would read, or 0 with out untouched: the
 * caller then runs the full parser, which gives the result or the error. */
int mol_a2a__response_parse_fast(const char *body, size_t len, mol_a2a_response *out);
/* codec_response.c: mol_a2a_response_parse without the fast path (the reference the fast path
 * is tested against). */
int mol_a2a__response_parse_full(const char *body, size_t len, mol_a2a_version v,
                                 mol_a2a_response *out);

/* codec_build.c: mol_a2a_reply_task and mol_a2a_reply_event built as jansson trees and
 * serialised (the reference the direct writers are tested against). */
char *mol_a2a__reply_task_tree(const mol_a2a_request *req, const mol_a2a_task *task);
char *mol_a2a__reply_event_tree(const mol_a2a_request *req, const mol_a2a_event *ev);

/* codec_build.c: mol_a2a_reply_message without the template (the reference it is tested
 * against). */
char *mol_a2a__reply_message_written(const mol_a2a_request *req, const mol_a2a_cmsg *msg);
/* codec_fast_reply.c: the v0.3 answer with a compact one-text-part message whose strings need
 * no escaping, from a template: the same bytes as mol_a2a__reply_message_written. NULL for any
 * other answer (or out of memory): the caller then writes it. */
char *mol_a2a__reply_message_template(const mol_a2a_request *req, const mol_a2a_cmsg *msg);

/* ---- codec_id.c: ids as written ------------------------------------------------------------ */

/* Copies len bytes of id text into id (replacing what it held). 0 or MOL_ENOMEM. */
int mol_a2a__id_set(mol_a2a_rpc_id *id, const char *text, size_t len);
void mol_a2a__id_clear(mol_a2a_rpc_id *id);

/* What the full parser needs to know before jansson reads a body: the id's text, and the
 * numbers jansson cannot load (2^64, 1e400), which are valid JSON all the same. */
typedef struct {
  const char *id; /* the last top-level "id" value as written, when a string or a number */
  size_t id_len;
  char *masked;   /* a copy of the body with those numbers written as 0, for jansson (owned;
                     NULL when there are none) */
  int big_in_params; /* one of them is inside params */
} mol_a2a__prescan;

/* Reads body with the scanner. Returns 0; -1 when the scanner cannot read it through (invalid
 * JSON, or deeper than the scanner goes: jansson then has the last word on the body as it
 * stands); MOL_ENOMEM. Free with mol_a2a__prescan_free whatever it returns. */
int mol_a2a__prescan_body(const char *body, size_t len, mol_a2a__prescan *out);
void mol_a2a__prescan_free(mol_a2a__prescan *p);

#endif
