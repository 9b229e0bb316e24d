/* exec_chat.h - the chat-completions bridge: each A2A turn becomes one POST to an
 * OpenAI-compatible /chat/completions (the hermes gateway's api_server by default).
 *
 * Request: {"model", "messages":[system?, history…, user], "stream"}; history comes from the
 * message's metadata.history or, failing that, the request's (Molecule's canvas sends it at
 * request level, which upstream's hermes executor misses): role user -> user, agent ->
 * assistant, text parts joined with "\n", other roles skipped.
 * Reply: choices[0].message.content (reasoning_content when content is empty) as a Message.
 * When the A2A caller streams, the request streams too and every delta becomes an artifact
 * chunk as it arrives. Errors keep upstream's reply texts: "[hermes-agent error <status>]
 * <body, at most 500 bytes>" and "[hermes-agent unreachable] <reason>".
 * Cancel closes the upstream request and ends the turn canceled. */
#ifndef MOL_RUNTIME_EXEC_CHAT_H
#define MOL_RUNTIME_EXEC_CHAT_H

#include "a2a_uv/executor.h"
#include "http/client.h"

typedef struct {
  mol_http_client *http;      /* shared; required */
  const char *api_base;       /* NULL -> $HERMES_API_BASE or http://127.0.0.1:8642/v1 */
  const char *api_key;        /* NULL -> $API_SERVER_KEY (no header when unset) */
  const char *model;          /* NULL -> "hermes-agent" */
  const char *system_prompt;  /* NULL -> none */
  unsigned timeout_ms;        /* 0 -> 600 s */
} mol_chat_opts;

int mol_chat_executor_new(const mol_chat_opts *opts, mol_a2a_executor *ex);
void mol_chat_executor_free(mol_a2a_executor *ex);

#endif
