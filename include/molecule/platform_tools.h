/* molecule/platform_tools.h - the platform calls an agent's tools use: key/value memory,
 * scoped memories, the delegation ledger, approvals, workspace info, instructions and the
 * parent's shared context. Included by molecule.h; the conventions (mol_platform_call,
 * mol_platform_cb, mol_platform_result, error codes) are those of its Platform client section. */
#ifndef MOLECULE_PLATFORM_TOOLS_H
#define MOLECULE_PLATFORM_TOOLS_H

#include "molecule.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- memory (key/value), WorkspaceAuth -------------------------------------------------
 * Keys are 1-64 bytes. A failed call is MOL_EHTTP with res->http_status and res->error. */
/* GET /workspaces/<self>/memory/<key>: res->body is {"key","value","version","expires_at"?,
 * "updated_at"}, res->version its version; an absent or expired key is MOL_EHTTP, 404. */
MOL_EXTERN int mol_platform_memory_get(mol_platform_client *c, const char *key,
                                       const mol_platform_call *call, mol_platform_cb cb,
                                       void *arg, mol_platform_req **out);
/* GET /workspaces/<self>/memory: res->body is the JSON array of live entries. */
MOL_EXTERN int mol_platform_memory_list(mol_platform_client *c, const mol_platform_call *call,
                                        mol_platform_cb cb, void *arg, mol_platform_req **out);
typedef struct {
  long long ttl_seconds;     /* > 0: the key expires that many seconds after this write */
  int conditional;           /* 1: write only when the key's version is if_match_version */
  long long if_match_version; /* with conditional: 0 means "create only" */
} mol_platform_memory_set_opts;
/* POST /workspaces/<self>/memory {key, value, ttl_seconds?, if_match_version?}. value_json is
 * JSON text (any JSON value). res->version is the new version; a version mismatch is
 * MOL_EHTTP with http_status 409 and res->version the current one (0: absent). */
MOL_EXTERN int mol_platform_memory_set(mol_platform_client *c, const char *key,
                                       const char *value_json,
                                       const mol_platform_memory_set_opts *o,
                                       const mol_platform_call *call, mol_platform_cb cb,
                                       void *arg, mol_platform_req **out);
/* DELETE /workspaces/<self>/memory/<key> (succeeds for an absent key too). */
MOL_EXTERN int mol_platform_memory_delete(mol_platform_client *c, const char *key,
                                          const mol_platform_call *call, mol_platform_cb cb,
                                          void *arg, mol_platform_req **out);

/* ---- scoped memories, WorkspaceAuth ------------------------------------------------------
 * LOCAL: seen by this workspace only; TEAM: by the workspaces it may talk to; GLOBAL: by all
 * (written by a root workspace only: 403 otherwise). */
typedef enum { MOL_MEMORY_LOCAL = 0, MOL_MEMORY_TEAM, MOL_MEMORY_GLOBAL } mol_memory_scope;
/* POST /workspaces/<self>/memories {content, scope, namespace}. Secrets in content (bearer
 * credentials, token=/password=/api_key= values ...) are redacted here before it is sent, and
 * again by the platform. namespace NULL or "" -> "general" (at most 50 characters). res->id is
 * the new memory's id. */
MOL_EXTERN int mol_platform_memory_commit(mol_platform_client *c, const char *content,
                                          mol_memory_scope scope, const char *ns,
                                          const mol_platform_call *call, mol_platform_cb cb,
                                          void *arg, mol_platform_req **out);
typedef struct {
  int any_scope;             /* 1: every scope visible to this workspace (scope ignored) */
  mol_memory_scope scope;
  const char *q;             /* NULL/"": no text filter; >= 2 chars: full-text, each word */
  const char *ns;            /* NULL/"": every namespace */
  unsigned limit;            /* 0 -> 10; at most 50 */
} mol_platform_memory_search_opts;
/* GET /workspaces/<self>/memories?scope=&q=&namespace=&limit=: res->body is the JSON array
 * [{"id","workspace_id","content","scope","namespace","created_at"}], newest first. o may be
 * NULL (every scope, newest 10). */
MOL_EXTERN int mol_platform_memory_search(mol_platform_client *c,
                                          const mol_platform_memory_search_opts *o,
                                          const mol_platform_call *call, mol_platform_cb cb,
                                          void *arg, mol_platform_req **out);
/* DELETE /workspaces/<self>/memories/<id>: 404 unless this workspace wrote it. */
MOL_EXTERN int mol_platform_memory_forget(mol_platform_client *c, const char *memory_id,
                                          const mol_platform_call *call, mol_platform_cb cb,
                                          void *arg, mol_platform_req **out);

/* ---- the delegation ledger, WorkspaceAuth ------------------------------------------------ */
/* GET /workspaces/<self>/delegations: res->body is the JSON array of this workspace's newest 50
 * delegations [{"id","type","source_id","target_id","summary","status","created_at",
 * "delegation_id","error"?,"response_preview"?}]. */
MOL_EXTERN int mol_platform_delegations(mol_platform_client *c, const mol_platform_call *call,
                                        mol_platform_cb cb, void *arg, mol_platform_req **out);
/* POST /workspaces/<self>/delegations/record {target_id, task, delegation_id}: mirrors a
 * delegation this runtime sent itself (status "pending"). Recording an id again is harmless;
 * an id recorded by another workspace is a 409. */
MOL_EXTERN int mol_platform_delegation_record(mol_platform_client *c, const char *target_id,
                                              const char *task, const char *delegation_id,
                                              const mol_platform_call *call, mol_platform_cb cb,
                                              void *arg, mol_platform_req **out);
/* POST /workspaces/<self>/delegations/<id>/update {status, error?, response_preview?};
 * status is "completed", "failed", "queued" or "dispatched"; error and response_preview may be
 * NULL (at most 4096 bytes each). 404 unless this workspace recorded it. */
MOL_EXTERN int mol_platform_delegation_update(mol_platform_client *c, const char *delegation_id,
                                              const char *status, const char *error,
                                              const char *response_preview,
                                              const mol_platform_call *call, mol_platform_cb cb,
                                              void *arg, mol_platform_req **out);
/* The status of one delegation, read from the list: res->status and res->item (the row as
 * JSON text); MOL_ENOENT when the newest 50 do not include it. */
MOL_EXTERN int mol_platform_delegation_status(mol_platform_client *c, const char *delegation_id,
                                              const mol_platform_call *call, mol_platform_cb cb,
                                              void *arg, mol_platform_req **out);

/* ---- approvals, WorkspaceAuth ------------------------------------------------------------ */
/* POST /workspaces/<self>/approvals {action, reason?, task_id?, context?}: asks a human.
 * context_json, when not NULL, must be a JSON object. 201 -> res->id (the approval id) and
 * res->status "pending". An operator decides; the agent polls with mol_platform_approval_get. */
MOL_EXTERN int mol_platform_approval_create(mol_platform_client *c, const char *action,
                                            const char *reason, const char *task_id,
                                            const char *context_json,
                                            const mol_platform_call *call, mol_platform_cb cb,
                                            void *arg, mol_platform_req **out);
/* GET /workspaces/<self>/approvals: res->body is the JSON array of the newest 50
 * [{"id","task_id","action","reason","status","decided_by","decided_at","created_at"}]. */
MOL_EXTERN int mol_platform_approvals(mol_platform_client *c, const mol_platform_call *call,
                                      mol_platform_cb cb, void *arg, mol_platform_req **out);
/* One approval, read from the list: res->status ("pending", "approved", "denied") and
 * res->item (the row as JSON text); MOL_ENOENT when the newest 50 do not include it. */
MOL_EXTERN int mol_platform_approval_get(mol_platform_client *c, const char *approval_id,
                                         const mol_platform_call *call, mol_platform_cb cb,
                                         void *arg, mol_platform_req **out);

/* GET /workspaces/<self>: the workspace's own row as the platform shows it to anyone (res->body:
 * {"id","name","role","tier","status","agent_card","url","parent_id","active_tasks",...});
 * res->id and res->status (the workspace status) are lifted out. A deleted workspace -> 404. */
MOL_EXTERN int mol_platform_workspace_info(mol_platform_client *c, const mol_platform_call *call,
                                           mol_platform_cb cb, void *arg,
                                           mol_platform_req **out);

/* GET /workspaces/<self>/instructions/resolve: res->body {"workspace_id","instructions"}, the
 * markdown of the operator's global rules, then this workspace's, each by priority ("" when
 * there are none). */
MOL_EXTERN int mol_platform_instructions_resolve(mol_platform_client *c,
                                                 const mol_platform_call *call,
                                                 mol_platform_cb cb, void *arg,
                                                 mol_platform_req **out);

/* GET /workspaces/<parent_id>/shared-context: res->body [{"path","content"}], the files the
 * parent shares with its children. Authorised by this workspace's own token: the platform
 * checks it is a child of parent_id (403 otherwise). */
MOL_EXTERN int mol_platform_shared_context(mol_platform_client *c, const char *parent_id,
                                           const mol_platform_call *call, mol_platform_cb cb,
                                           void *arg, mol_platform_req **out);

/* ---- chat attachments, WorkspaceAuth ------------------------------------------------------ */
typedef struct {
  const char *name;          /* the file's base name (no '"', CR or LF) */
  const char *mime_type;     /* NULL -> application/octet-stream */
  const void *data;          /* the bytes, borrowed for the call's start */
  size_t len;
} mol_platform_upload_file;
/* POST /workspaces/<self>/chat/uploads, multipart/form-data with one "files" part per file:
 * res->body is {"files":[{"uri","name","mimeType"?,"size"}]}, in the order given, each entry
 * ready to pass on as an attachment. MOL_EINVAL for a bad name or a file containing the
 * multipart boundary (refused, never sent cut short). */
MOL_EXTERN int mol_platform_chat_upload(mol_platform_client *c,
                                        const mol_platform_upload_file *files, size_t n,
                                        const mol_platform_call *call, mol_platform_cb cb,
                                        void *arg, mol_platform_req **out);
/* POST /workspaces/<self>/notify {"message", "attachments"}: attachments_json is the JSON array
 * of upload entries (NULL or "[]": none). */
MOL_EXTERN int mol_platform_notify_attachments(mol_platform_client *c, const char *text,
                                               const char *attachments_json,
                                               const mol_platform_call *call, mol_platform_cb cb,
                                               void *arg, mol_platform_req **out);

#ifdef __cplusplus
}
#endif
#endif /* MOLECULE_PLATFORM_TOOLS_H */
