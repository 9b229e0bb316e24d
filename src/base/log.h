/* log.h - internal logging. Lines are formatted, redacted (see redact.h) and sent to the sink
 * configured through the public mol_log_* functions. */
#ifndef MOL_BASE_LOG_H
#define MOL_BASE_LOG_H

#include "molecule.h"

extern mol_log_level mol_log_min_level;

void mol_log(mol_log_level level, const char *scope, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define MOL_LOG_AT(lvl, scope, ...) \
  do { if ((lvl) >= mol_log_min_level) mol_log((lvl), (scope), __VA_ARGS__); } while (0)
#define mol_logt(scope, ...) MOL_LOG_AT(MOL_LOG_TRACE, scope, __VA_ARGS__)
#define mol_logd(scope, ...) MOL_LOG_AT(MOL_LOG_DEBUG, scope, __VA_ARGS__)
#define mol_logi(scope, ...) MOL_LOG_AT(MOL_LOG_INFO, scope, __VA_ARGS__)
#define mol_logw(scope, ...) MOL_LOG_AT(MOL_LOG_WARN, scope, __VA_ARGS__)
#define mol_loge(scope, ...) MOL_LOG_AT(MOL_LOG_ERROR, scope, __VA_ARGS__)

/* ---- structured fields ----------------------------------------------------------------------
 * A line may carry named fields besides its message: in JSON they are members of the line's
 * object ({"ts":..,"level":..,"scope":..,"msg":..,"agent":"a","duration_ms":12}), in plain text
 * they follow the message as key=value. String values are redacted like the message. The
 * fields are built only when the level is on, so a line that is off costs one comparison:
 *
 *   mol_logx(MOL_LOG_INFO, "agent", MOL_FIELDS(MOL_F_STR("agent", name),
 *            MOL_F_INT("duration_ms", ms)), "turn done");
 *
 * The names used across the code: agent, workspace_id, status, duration_ms, err, route. */
typedef enum { MOL_LOG_F_END = 0, MOL_LOG_F_STR, MOL_LOG_F_INT } mol_log_field_kind;
typedef struct {
  const char *key;
  mol_log_field_kind kind;
  const char *s;               /* MOL_LOG_F_STR; NULL leaves the field out */
  long long i;                 /* MOL_LOG_F_INT */
} mol_log_field;

#define MOL_F_STR(k, v) {.key = (k), .kind = MOL_LOG_F_STR, .s = (v)}
#define MOL_F_INT(k, v) {.key = (k), .kind = MOL_LOG_F_INT, .i = (long long)(v)}
/* err as its mol_strerror() text; 0 leaves the field out. */
#define MOL_F_ERR(e) {.key = "err", .kind = MOL_LOG_F_STR, .s = (e) != 0 ? mol_strerror(e) : NULL}
#define MOL_FIELDS(...) ((const mol_log_field[]){__VA_ARGS__, {0}})

/* fields: an array ended by a zeroed entry (MOL_FIELDS adds it); may be NULL. */
void mol_log_fields(mol_log_level level, const char *scope, const mol_log_field *fields,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define mol_logx(lvl, scope, fields, ...) \
  do { if ((lvl) >= mol_log_min_level) mol_log_fields((lvl), (scope), fields, __VA_ARGS__); } while (0)

#endif
