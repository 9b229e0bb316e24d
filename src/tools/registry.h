/* registry.h - the tools an agent's model can call, and one call of a tool.
 *
 * A tool is a name, a description, a JSON Schema for its arguments and an asynchronous
 * implementation that runs on the loop. The chat executor's tool loop and the MCP server both
 * list tools and call them through a registry, so every tool is written once.
 *
 * A call: mol_tools_call() looks the tool up, parses and checks the arguments against the
 * schema (an object; required properties present; property types as declared), then starts the
 * tool. Its result reaches the caller's callback exactly once and never inside the call that
 * armed it: the tool's own result, or a timeout (the deadline passed), or canceled
 * (mol_tool_call_cancel). Arguments that are not valid JSON or do not fit the schema end the call
 * with an error text for the model, not a negative return: a model that sent them can read why
 * and try again.
 *
 * Implementing a tool: start() receives the call and the parsed arguments (borrowed for the
 * call to start) and ends the call exactly once, now or later, with mol_tool_call_done() or
 * mol_tool_call_fail(). A timeout or a cancel calls the tool's cancel(), which stops its work for
 * real (closes its request, kills its process) and still ends the call; the caller has already
 * been answered, so what it ends with is dropped. The call handle stays valid for the tool until
 * it ends the call; for the caller until its callback has returned.
 *
 * All calls happen on the loop thread. */
#ifndef MOL_TOOLS_REGISTRY_H
#define MOL_TOOLS_REGISTRY_H

#include <jansson.h>
#include <stddef.h>
#include <uv.h>

#include "molecule.h"

typedef struct mol_tools mol_tools;
typedef struct mol_tool_call mol_tool_call;

/* A further workspace the agent is registered in, with the platform client holding its token
 * (an agent serving several workspaces; the tools' source_workspace_id picks one). */
typedef struct {
  const char *workspace_id;
  mol_platform_client *platform;
} mol_tool_source;

/* What the built-in tools run against: the agent's loop, its platform client and identity.
 * Borrowed by the registry; outlives every call. A field a tool needs and finds NULL ends that
 * tool's calls with an error text. Fields are appended, never reordered. */
typedef struct {
  uv_loop_t *loop;
  mol_platform_client *platform; /* the workspace's platform client (tokens, base URL) */
  const char *workspace_id;
  void *user;                    /* for tools registered by the embedding program */
  const mol_tool_source *sources; /* further workspaces (n entries), or NULL */
  size_t nsources;
} mol_tool_env;

typedef struct {
  const char *name;          /* [A-Za-z0-9_-]{1,64}; unique in a registry */
  const char *description;   /* what the model reads to decide when to call it */
  const char *input_schema;  /* JSON Schema text of the arguments: {"type":"object",...} */
  /* Starts a call. Returns 0, or a negative error: the call then ends with that error's
   * message (mol_strerror) and neither cancel() nor an ending may follow. */
  int (*start)(mol_tool_call *call, json_t *args);
  /* Asks the call to stop (deadline or caller's cancel); at most once per call. May be NULL:
   * the tool then simply ends the call when its work is done. */
  void (*cancel)(mol_tool_call *call);
  void *self;
} mol_tool_def;

typedef enum {
  MOL_TOOL_OK = 0,         /* text: the tool's result */
  MOL_TOOL_ERROR,          /* text: what went wrong, for the model (bad arguments included) */
  MOL_TOOL_TIMED_OUT,      /* text: "<name> timed out after N ms" */
  MOL_TOOL_CANCELED        /* text: "<name> canceled" */
} mol_tool_status;

typedef struct {
  mol_tool_status status;
  const char *name;          /* the tool's name */
  const char *text;          /* NUL-terminated; never NULL */
  size_t len;
} mol_tool_result;

typedef void (*mol_tool_cb)(const mol_tool_result *r, void *arg);

typedef struct {
  unsigned timeout_ms;       /* 0 -> 120000; the call is timed out after it */
  mol_tool_cb cb;            /* required; the result is borrowed for the callback */
  void *arg;
} mol_tool_call_opts;

/* ---- the registry ----------------------------------------------------------------------- */

/* A registry with no tools. env is borrowed (see above). NULL only when out of memory. */
mol_tools *mol_tools_new(const mol_tool_env *env);
/* Adds a tool (the strings are copied). MOL_EINVAL: a bad name or a schema that is not a JSON
 * object; MOL_EEXIST: the name is taken. */
int mol_tools_add(mol_tools *reg, const mol_tool_def *def);
/* Removes a tool by name (calls already started go on). MOL_ENOENT when absent. */
int mol_tools_remove(mol_tools *reg, const char *name);
/* Frees the registry. Calls still running keep what they need and end normally. */
void mol_tools_free(mol_tools *reg);

size_t mol_tools_count(const mol_tools *reg);
/* A count that moves whenever a tool is added or removed: what was derived from the tools
 * (their OpenAI text) is still theirs while it has not moved. */
unsigned long mol_tools_changes(const mol_tools *reg);
/* The i-th tool in the order added; NULL past the end. Borrowed until it is removed. */
const mol_tool_def *mol_tools_at(const mol_tools *reg, size_t i);
const mol_tool_def *mol_tools_find(const mol_tools *reg, const char *name);
const mol_tool_env *mol_tools_env(const mol_tools *reg);

/* The tools as OpenAI chat-completions "tools": [{"type":"function","function":{"name",
 * "description","parameters"}}] (new reference; NULL when out of memory). */
json_t *mol_tools_openai(const mol_tools *reg);
/* The tools as MCP tools/list "tools": [{"name","description","inputSchema"}]. */
json_t *mol_tools_mcp(const mol_tools *reg);

/* ---- calling a tool ----------------------------------------------------------------------- */

/* Calls the tool `name` with args_json (JSON text of the arguments; NULL or "" means {}).
 * Returns 0 and the call (*out, may be NULL when not wanted), the callback then fires exactly
 * once; or MOL_ENOENT (no such tool), MOL_EINVAL (no callback), MOL_ENOMEM: then it never does. */
int mol_tools_call(mol_tools *reg, const char *name, const char *args_json,
                   const mol_tool_call_opts *o, mol_tool_call **out);
/* Cancels a call whose callback has not fired yet: it fires with MOL_TOOL_CANCELED, after this
 * returns. Harmless after the callback fired... but not after it returned: the handle is gone. */
void mol_tool_call_cancel(mol_tool_call *call);

/* ---- for tool implementations ------------------------------------------------------------- */

const mol_tool_env *mol_tool_call_env(const mol_tool_call *call);
void *mol_tool_call_self(const mol_tool_call *call);   /* the def's self */
const char *mol_tool_call_name(const mol_tool_call *call);
void mol_tool_call_set_data(mol_tool_call *call, void *data);
void *mol_tool_call_data(const mol_tool_call *call);
/* 1 once cancel() was asked (timeout or caller's cancel). */
int mol_tool_call_stopping(const mol_tool_call *call);
/* Ends the call with a result (copied; len may be (size_t)-1 for strlen). Exactly one ending
 * per call; after it the tool must not touch the call. */
void mol_tool_call_done(mol_tool_call *call, const char *text, size_t len);
/* Ends the call with an error text for the model (printf-style). */
void mol_tool_call_fail(mol_tool_call *call, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
