/* msg.h - a canonical Message as the task engine holds it.
 *
 * Most messages that cross a Molecule agent are a role, a few ids and one text part. Held as a
 * jansson tree such a message costs about 1.5 KB and dozens of allocations; held compactly it
 * is one allocation of its ids and text. A mol_a2a_cmsg is either form:
 *  - compact: role, messageId, contextId?, taskId? and N text parts, nothing else;
 *  - wrapped: any canonical message object (model.h), file and data parts, metadata and all.
 * Its canonical JSON is built on first request (mol_a2a_cmsg_json) and kept; replies are
 * written straight from the compact form (mol_a2a_cmsg_write), so a message that is only
 * answered never becomes a tree.
 *
 * Reference counted. A message is immutable once shared, except for the ids the task engine
 * fills in while it alone holds it (mol_a2a_cmsg_fill_ids). */
#ifndef MOL_A2A_MSG_H
#define MOL_A2A_MSG_H

#include <jansson.h>
#include <stddef.h>

#include "a2a/model.h"
#include "base/buf.h"

typedef struct mol_a2a_cmsg mol_a2a_cmsg;

/* One text part of a compact message: len bytes of UTF-8 (NULs allowed). */
typedef struct {
  const char *text;
  size_t len;
} mol_a2a_text_span;

/* A compact message with n text parts (copied). id NULL = a fresh UUID v4; context_id and
 * task_id may be NULL. Returns a message holding one reference, or NULL on allocation
 * failure. */
mol_a2a_cmsg *mol_a2a_cmsg_new_text(mol_a2a_role role, const char *id, const char *context_id,
                                    const char *task_id, const mol_a2a_text_span *parts,
                                    size_t n);
/* The same with one NUL-terminated text part (NULL = no part). */
mol_a2a_cmsg *mol_a2a_cmsg_new_text1(mol_a2a_role role, const char *text);
/* Wraps a canonical message object; the reference is stolen (released on failure). NULL on
 * allocation failure or when msg is not an object. */
mol_a2a_cmsg *mol_a2a_cmsg_wrap(json_t *msg);

mol_a2a_cmsg *mol_a2a_cmsg_ref(mol_a2a_cmsg *m);
/* Drops a reference; NULL is ignored. */
void mol_a2a_cmsg_unref(mol_a2a_cmsg *m);

/* The canonical JSON object (borrowed, lives as long as m). Built on the first call for a
 * compact message. NULL only on allocation failure. */
const json_t *mol_a2a_cmsg_json(const mol_a2a_cmsg *m);
/* 1 for the compact form. */
int mol_a2a_cmsg_is_compact(const mol_a2a_cmsg *m);

const char *mol_a2a_cmsg_id(const mol_a2a_cmsg *m);
const char *mol_a2a_cmsg_context_id(const mol_a2a_cmsg *m); /* NULL when absent */
const char *mol_a2a_cmsg_task_id(const mol_a2a_cmsg *m);    /* NULL when absent */
mol_a2a_role mol_a2a_cmsg_role(const mol_a2a_cmsg *m);
/* The message's metadata object (borrowed), NULL when it has none (always for compact). */
const json_t *mol_a2a_cmsg_metadata(const mol_a2a_cmsg *m);
/* Concatenation of the text parts (malloc'd, "" when none); NULL on allocation failure. */
char *mol_a2a_cmsg_text(const mol_a2a_cmsg *m);
/* The text of a compact message with exactly one text part, NUL-terminated, borrowed (*len
 * gets its length, which counts any NUL inside); NULL for any other message. */
const char *mol_a2a_cmsg_only_text(const mol_a2a_cmsg *m, size_t *len);

/* Returns m with taskId and contextId set where absent, for a message about to join a task.
 * While the caller holds the only reference m is completed in place and returned; otherwise a
 * completed copy is returned and the caller's reference to m is released. NULL on allocation
 * failure (the reference to m is released then too). */
mol_a2a_cmsg *mol_a2a_cmsg_fill_ids(mol_a2a_cmsg *m, const char *task_id,
                                    const char *context_id);

/* Appends the message in the version's wire shape (mol_a2a_message_to_wire) as compact JSON.
 * Returns 0 or MOL_ENOMEM (b is left as it was). */
int mol_a2a_cmsg_write(mol_buf *b, const mol_a2a_cmsg *m, mol_a2a_version v);

#endif
