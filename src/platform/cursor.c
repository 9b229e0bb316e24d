/* cursor.c - the inbound cursor: the id of the last activity row handled, kept in memory and,
 * when a cursor file is configured, on disk so that a restart resumes where it stopped.
 *
 * Unlike the Python SDK, the file is written atomically (temporary file,
 * fsync, rename; base/file.h) with mode 0600: a crash never leaves a torn cursor. */
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/log.h"
#include "platform/platform_int.h"

int mol_platform__cursor_load(mol_platform_client *c) {
  if (!c->cursor_file) return 0;
  int rc = mol_read_file_stripped(c->cursor_file, &c->cursor);
  if (rc)
    mol_logw(MOL_PLATFORM__SCOPE, "cannot read cursor file %s: %s", c->cursor_file,
             mol_strerror(rc));
  return 0; /* an unreadable cursor means "start from the newest rows", as upstream */
}

static int cursor_persist(mol_platform_client *c) {
  if (!c->cursor_file) return 0;
  const char *slash = strrchr(c->cursor_file, '/');
  if (slash && slash != c->cursor_file) {
    char *dir = strndup(c->cursor_file, (size_t)(slash - c->cursor_file));
    int rc = dir ? mol_mkdir_p(dir, 0700) : MOL_ENOMEM;
    free(dir);
    if (rc) return rc;
  }
  const char *v = c->cursor ? c->cursor : "";
  int rc = mol_write_file_atomic(c->cursor_file, v, strlen(v), 0600);
  if (rc)
    mol_logw(MOL_PLATFORM__SCOPE, "cannot write cursor file %s: %s", c->cursor_file,
             mol_strerror(rc));
  return rc;
}

int mol_platform__cursor_store(mol_platform_client *c, const char *id) {
  char *v = id && *id ? strdup(id) : NULL;
  if (id && *id && !v) return MOL_ENOMEM;
  free(c->cursor);
  c->cursor = v;
  return cursor_persist(c);
}

const char *mol_platform_cursor(const mol_platform_client *c) { return c ? c->cursor : NULL; }

int mol_platform_set_cursor(mol_platform_client *c, const char *activity_id) {
  return c ? mol_platform__cursor_store(c, activity_id) : MOL_EINVAL;
}

