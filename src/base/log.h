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

#endif
