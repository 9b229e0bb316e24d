/* push.h - push-notification configs, I/O-free: reading them from either wire version,
 * writing them back, and keeping them on their task (bounded per task and per store).
 *
 * The methods: v0.3 tasks/pushNotificationConfig/set|get|list|delete, v1.0
 * Create|Get|List|DeleteTaskPushNotificationConfig, and a config given inline with
 * message/send (v0.3 configuration.pushNotificationConfig, v1.0
 * configuration.taskPushNotificationConfig). Wire shapes (A2A spec v0.3; a2a-js 1.3.0 for v1.0):
 *   v0.3 TaskPushNotificationConfig {taskId, pushNotificationConfig: {id?, url, token?,
 *        authentication?: {schemes: [..], credentials?}}}
 *   v1.0 TaskPushNotificationConfig {taskId, id, url, token?, authentication?: {scheme,
 *        credentials?}} (flat)
 * Either spelling is read in either version. A config keeps the version that set it: its
 * notifications are shaped for that version. Whether the URL is one we may call is for the
 * binding to say (http/ssrf.h); here it only has to be a non-empty string.
 *
 * Events: the store calls its push observer (mol_a2a_store_opts.push_observer) for every event
 * of a task that has configs, after its listeners, so a task without configs costs nothing. */
#ifndef MOL_A2A_PUSH_H
#define MOL_A2A_PUSH_H

#include <jansson.h>

#include "a2a/model.h"
#include "a2a/task.h"

#define MOL_A2A_PUSH_URL_MAX 2048
#define MOL_A2A_PUSH_FIELD_MAX 4096 /* token, scheme, credentials, id */

typedef struct {
  char *id;               /* never NULL once stored (defaults to the task id, as a2a-python) */
  char *url;
  char *token;            /* NULL when none: sent as X-A2A-Notification-Token */
  char *auth_scheme;      /* NULL when none ("Bearer"): Authorization: <scheme> <credentials> */
  char *auth_credentials; /* NULL when none */
  mol_a2a_version version;
} mol_a2a_push_config;

/* Reads a PushNotificationConfig object (either spelling; see above) for version v. On a shape
 * error fills err with -32602 naming the field and returns MOL_EINVAL; MOL_ENOMEM. The strings
 * are copied into out (free with mol_a2a_push_config_clear). */
int mol_a2a_push_config_from_wire(const json_t *cfg, mol_a2a_version v, mol_a2a_push_config *out,
                                  mol_a2a_error *err);
void mol_a2a_push_config_clear(mol_a2a_push_config *c);
/* The TaskPushNotificationConfig of task_id in the version's shape (new reference; NULL on
 * allocation failure). */
json_t *mol_a2a_push_config_to_wire(const char *task_id, const mol_a2a_push_config *c,
                                    mol_a2a_version v);

/* ---- on a task ------------------------------------------------------------------------------ */

/* Stores cfg on the task (taking its strings: cfg is zeroed), replacing the config with the
 * same id; a NULL id becomes the task's id. Past the store's max_push_per_task it fails with
 * -32602, past max_push_configs with -32603 (err filled, MOL_ELIMIT); on success *stored is
 * the stored config. */
int mol_a2a_task_push_put(mol_a2a_task *t, mol_a2a_push_config *cfg,
                          const mol_a2a_push_config **stored, mol_a2a_error *err);
/* Whether a config with this id (NULL: the task's id) could be stored on t, NULL for a task
 * not created yet: 0, or MOL_ELIMIT with err filled as mol_a2a_task_push_put would. */
int mol_a2a_store_push_room(const mol_a2a_store *s, const mol_a2a_task *t, const char *id,
                            mol_a2a_error *err);
/* The config with this id (NULL id: the one named after the task, else the first); NULL when
 * none. */
const mol_a2a_push_config *mol_a2a_task_push_find(const mol_a2a_task *t, const char *id);
size_t mol_a2a_task_push_count(const mol_a2a_task *t);
const mol_a2a_push_config *mol_a2a_task_push_at(const mol_a2a_task *t, size_t i);
/* Removes the config with this id (NULL: as for find). 0, or MOL_ENOENT when none. */
int mol_a2a_task_push_remove(mol_a2a_task *t, const char *id);
/* Configs stored in the whole store. */
size_t mol_a2a_store_push_count(const mol_a2a_store *s);

#endif
