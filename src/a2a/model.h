/* model.h - the A2A data model shared by the codec, the task engine and the client.
 *
 * Messages, parts and artifacts are kept as jansson objects in one *canonical* shape: the v0.3
 * JSON shape with a `kind` on every Message and Part and only the known fields. Wire input of
 * either version is normalised into it on entry (mol_a2a_*_from_wire) and turned back into the
 * requested version's shape on exit (mol_a2a_*_to_wire), so the engine never cares which
 * version a peer speaks.
 *
 * Canonical shapes (the v0.3 objects of the A2A specification):
 *   Message  {kind:"message", messageId, role:"user"|"agent", parts:[Part], contextId?, taskId?,
 *             referenceTaskIds?, extensions?, metadata?}
 *   Part     {kind:"text", text, metadata?} | {kind:"file", file:{bytes|uri, name?, mimeType?},
 *             metadata?} | {kind:"data", data:<json>, metadata?}
 *   Artifact {artifactId, name?, description?, parts:[Part], metadata?, extensions?}
 *
 * Ownership: functions returning json_t* return a new reference the caller must json_decref. */
#ifndef MOL_A2A_MODEL_H
#define MOL_A2A_MODEL_H

#include <jansson.h>
#include <stddef.h>

/* Which wire dialect a request or a reply uses. */
typedef enum {
  MOL_A2A_V03 = 0, /* JSON-RPC v0.3: slash method names, kind-tagged objects */
  MOL_A2A_V10 = 1  /* v1.0: PascalCase methods, ProtoJSON enums, wrapped results */
} mol_a2a_version;

typedef enum {
  MOL_A2A_ROLE_UNSPECIFIED = 0,
  MOL_A2A_ROLE_USER,
  MOL_A2A_ROLE_AGENT
} mol_a2a_role;

typedef enum {
  MOL_A2A_STATE_UNKNOWN = 0,
  MOL_A2A_STATE_SUBMITTED,
  MOL_A2A_STATE_WORKING,
  MOL_A2A_STATE_INPUT_REQUIRED,
  MOL_A2A_STATE_AUTH_REQUIRED,
  MOL_A2A_STATE_COMPLETED,
  MOL_A2A_STATE_CANCELED,
  MOL_A2A_STATE_FAILED,
  MOL_A2A_STATE_REJECTED
} mol_a2a_task_state;

/* JSON-RPC error codes (A2A specification, JSON-RPC errors; -32008/-32009 are v1.0 only). */
#define MOL_A2A_PARSE_ERROR               (-32700)
#define MOL_A2A_INVALID_REQUEST           (-32600)
#define MOL_A2A_METHOD_NOT_FOUND          (-32601)
#define MOL_A2A_INVALID_PARAMS            (-32602)
#define MOL_A2A_INTERNAL_ERROR            (-32603)
#define MOL_A2A_TASK_NOT_FOUND            (-32001)
#define MOL_A2A_TASK_NOT_CANCELABLE       (-32002)
#define MOL_A2A_PUSH_NOT_SUPPORTED        (-32003)
#define MOL_A2A_UNSUPPORTED_OPERATION     (-32004)
#define MOL_A2A_CONTENT_TYPE_NOT_SUPPORTED (-32005)
#define MOL_A2A_INVALID_AGENT_RESPONSE    (-32006)
#define MOL_A2A_EXTENDED_CARD_NOT_CONFIGURED (-32007)
#define MOL_A2A_EXTENSION_SUPPORT_REQUIRED (-32008)
#define MOL_A2A_VERSION_NOT_SUPPORTED     (-32009)

/* A JSON-RPC error ready to serialise (code 0 = no error). */
typedef struct {
  int code;
  char message[256];
} mol_a2a_error;

/* Sets err to code + printf-style message (a NULL fmt uses the code's standard message).
 * Client text quoted in it and a cut at its size can leave bytes that are not UTF-8; they
 * become '?', so the error can always be sent as JSON. Always returns MOL_EINVAL, so a
 * validator can `return mol_a2a_error_set(...)`. */
int mol_a2a_error_set(mol_a2a_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The standard message for a code ("Task not found", ...); never NULL. */
const char *mol_a2a_error_default_message(int code);
/* The google.rpc.ErrorInfo `reason` v1.0 attaches to an A2A error code, NULL for the generic
 * JSON-RPC codes (-32700..-32603), which carry no data. */
const char *mol_a2a_error_reason(int code);

/* ---- enums ---------------------------------------------------------------------------- */

/* "input-required" (v0.3) or "TASK_STATE_INPUT_REQUIRED" (v1.0). */
const char *mol_a2a_state_name(mol_a2a_task_state s, mol_a2a_version v);
/* Accepts both spellings; returns 0 or MOL_EINVAL. */
int mol_a2a_state_parse(const char *name, mol_a2a_task_state *out);
/* completed, canceled, failed, rejected: no further change is allowed. */
int mol_a2a_state_is_terminal(mol_a2a_task_state s);
/* input-required, auth-required: the stream ends, the client continues with message.taskId. */
int mol_a2a_state_is_interrupted(mol_a2a_task_state s);
/* "user"/"agent" (v0.3) or "ROLE_USER"/"ROLE_AGENT" (v1.0). */
const char *mol_a2a_role_name(mol_a2a_role r, mol_a2a_version v);
/* Accepts both spellings; MOL_A2A_ROLE_UNSPECIFIED when not recognised. */
mol_a2a_role mol_a2a_role_parse(const char *name);

/* ---- constructing canonical objects (for executors and clients) ------------------------ */

/* A new message with a fresh messageId (UUID v4) and, when text is non-NULL, one text part.
 * NULL on allocation failure. */
json_t *mol_a2a_message_new(mol_a2a_role role, const char *text);
/* Appends a part (stolen reference) to a message's or an artifact's parts. 0 or MOL_ENOMEM. */
int mol_a2a_parts_append(json_t *msg_or_artifact, json_t *part);
json_t *mol_a2a_part_text(const char *text);
/* data: any JSON value (reference stolen). */
json_t *mol_a2a_part_data(json_t *data);
/* A file by URI; name and mime may be NULL. */
json_t *mol_a2a_part_file_uri(const char *uri, const char *name, const char *mime);
/* A new artifact; a NULL id gets a fresh UUID, name may be NULL, parts (stolen) may be NULL for
 * an empty list. */
json_t *mol_a2a_artifact_new(const char *artifact_id, const char *name, json_t *parts);

/* ---- reading canonical objects --------------------------------------------------------- */

const char *mol_a2a_msg_id(const json_t *msg);
const char *mol_a2a_msg_task_id(const json_t *msg);     /* NULL when absent */
const char *mol_a2a_msg_context_id(const json_t *msg);  /* NULL when absent */
mol_a2a_role mol_a2a_msg_role(const json_t *msg);
/* Concatenation of the text parts of a message or an artifact (malloc'd, "" when none); NULL
 * on allocation failure. */
char *mol_a2a_parts_text(const json_t *msg_or_artifact);

/* 1 when a string in v (v itself included) holds U+0000, which jansson keeps but everything
 * reading it as a C string would cut there. path (cap bytes) then names the first one:
 * `name`, then ".key" and "[i]" steps ("params.message.parts[0].text"; cut to fit). */
int mol_a2a_json_find_nul(const json_t *v, const char *name, char *path, size_t cap);

/* ---- wire conversion ------------------------------------------------------------------- */

/* Normalise a wire object into the canonical shape. On a shape error they fill err with
 * -32602 and the reason, and return MOL_EINVAL; *out is set only on success. */
int mol_a2a_part_from_wire(const json_t *in, mol_a2a_version v, json_t **out, mol_a2a_error *err);
int mol_a2a_message_from_wire(const json_t *in, mol_a2a_version v, json_t **out,
                              mol_a2a_error *err);
int mol_a2a_artifact_from_wire(const json_t *in, mol_a2a_version v, json_t **out,
                               mol_a2a_error *err);

/* Canonical -> the version's wire shape. NULL on allocation failure. The result may share
 * structure with the input (v0.3 is the canonical shape): embed it, serialise it, never modify
 * it. */
json_t *mol_a2a_part_to_wire(const json_t *part, mol_a2a_version v);
json_t *mol_a2a_message_to_wire(const json_t *msg, mol_a2a_version v);
json_t *mol_a2a_artifact_to_wire(const json_t *artifact, mol_a2a_version v);
/* TaskStatus {state, message?, timestamp?} in the version's shape. */
json_t *mol_a2a_status_to_wire(mol_a2a_task_state s, const json_t *msg, const char *timestamp,
                               mol_a2a_version v);

#endif
