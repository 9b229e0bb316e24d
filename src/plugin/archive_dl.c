/* archive_dl.c - loads libarchive on first use (see archive_dl.h): dlopen once per process,
 * every function looked up, and a clear error when the library or a symbol is missing. */
#define MOL_ARCHIVE_DL_IMPL
#include "plugin/archive_dl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "molecule.h"

#ifndef MOL_LIBARCHIVE_SONAME
#define MOL_LIBARCHIVE_SONAME "libarchive.so.13"
#endif

mol_archive_api mol_archive__api;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[256]; /* empty once loaded */

static void load(void) {
  /* RTLD_LOCAL: its symbols stay out of the global namespace, as with a normal link. Never
   * closed: the plugin code may run again, and unloading ICU is not worth the risk. */
  void *h = dlopen(MOL_LIBARCHIVE_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    snprintf(load_error, sizeof(load_error), "cannot load %s: %s", MOL_LIBARCHIVE_SONAME,
             dlerror());
    return;
  }
  mol_archive_api api;
#define MOL_ARCHIVE_RESOLVE(f)                                                                \
  if (!(*(void **)&api.f = dlsym(h, #f))) {                                                   \
    snprintf(load_error, sizeof(load_error), "%s has no %s", MOL_LIBARCHIVE_SONAME, #f);      \
    return;                                                                                   \
  }
  MOL_ARCHIVE_FUNCS(MOL_ARCHIVE_RESOLVE)
#undef MOL_ARCHIVE_RESOLVE
  mol_archive__api = api;
}

int mol_archive__load(char *err, size_t errlen) {
  pthread_once(&load_once, load);
  if (!load_error[0]) return 0;
  if (err && errlen) snprintf(err, errlen, "%s", load_error);
  return MOL_ENOTSUP;
}
