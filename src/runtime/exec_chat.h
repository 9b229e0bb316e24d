/* exec_chat.h - the chat-completions bridge: each A2A turn becomes a POST to an
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
 * Cancel closes the upstream request and ends the turn canceled.
 *
 * The tool loop (opts.tools set and not empty): every request also carries the registry's
 * tools as OpenAI "tools" with "tool_choice":"auto". A reply with tool calls (message.tool_calls,
 * or streamed delta.tool_calls fragments keyed by index) is not the answer: its calls run
 * concurrently through the registry, the assistant message with its tool_calls and one
 * {"role":"tool","tool_call_id","content"} per call (in call order; an error as "Error: …"
 * text the model can read) are appended, and the model is asked again. The first reply
 * without tool calls is the answer. After max_tool_rounds replies with tool calls, one last
 * request goes without tools and asks for an answer; if that one still has no content, the
 * task fails with "no final answer after N rounds of tool calls". A streaming caller sees each
 * round as a working status ("calling tool X"). Cancel closes the model request in flight and
 * cancels every running tool call; the turn then ends canceled, once. */
#ifndef MOL_RUNTIME_EXEC_CHAT_H
#define MOL_RUNTIME_EXEC_CHAT_H

#include "a2a_uv/executor.h"
#include "http/client.h"
#include "runtime/upstream.h"
#include "tools/registry.h"

typedef struct {
  mol_http_client *http;      /* shared; required */
  const char *api_base;       /* NULL -> $HERMES_API_BASE or http://127.0.0.1:8642/v1 */
  const char *api_key;        /* NULL -> $API_SERVER_KEY (no header when unset) */
  const char *model;          /* NULL -> "hermes-agent" */
  const char *system_prompt;  /* NULL -> none */
  unsigned timeout_ms;        /* 0 -> 600 s */
  /* Appended fields; zero keeps the bridge without tools. */
  mol_tools *tools;           /* NULL or empty -> no tool loop; borrowed, outlives the executor */
  unsigned max_tool_rounds;   /* model replies whose tool calls run, per turn; 0 -> 10 */
  unsigned max_tool_calls;    /* tool calls run per turn (the rest answered with an error
                                 text); 0 -> 50 */
  unsigned tool_timeout_ms;   /* deadline of one tool call; 0 -> the registry's (120 s) */
  /* Each answer, unreachable backend, timeout or 5xx is reported here (may be NULL). */
  mol_upstream_fn on_upstream;
  void *upstream_arg;
  /* A turn that carries no metadata.history gets its context's stored conversation from here
   * (may be NULL): a restarted agent goes on with what was said before. */
  mol_history_fn history;
  void *history_arg;
} mol_chat_opts;

/* The backend's model list (<api_base>/models), the URL its health probe GETs. */
const char *mol_chat_models_url(const mol_a2a_executor *ex);
/* The "Bearer <key>" the executor sends, or NULL (for the probe too). */
const char *mol_chat_auth(const mol_a2a_executor *ex);
/* Sets opts.on_upstream and opts.history (and their args) after the executor exists. */
void mol_chat_executor_set_care(mol_a2a_executor *ex, mol_upstream_fn on_upstream,
                                void *upstream_arg, mol_history_fn history, void *history_arg);

int mol_chat_executor_new(const mol_chat_opts *opts, mol_a2a_executor *ex);
void mol_chat_executor_free(mol_a2a_executor *ex);
/* Replaces the system prompt (copied; NULL or "": none). Turns already running keep the one
 * they started with; the next turn reads the new one. MOL_ENOMEM leaves the old one. */
int mol_chat_executor_set_system_prompt(mol_a2a_executor *ex, const char *text);
/* Sets the registry of the tool loop (borrowed, as opts.tools) when none was given. Read per
 * turn, as opts.tools. */
void mol_chat_executor_set_tools(mol_a2a_executor *ex, mol_tools *tools);
/* The registry of the tool loop (opts.tools or the one set), or NULL. */
mol_tools *mol_chat_executor_tools(const mol_a2a_executor *ex);

#endif
