/* lib.c - library-wide public entries: the version of the loaded library and the free for
 * memory the library hands out. */
#include <stdlib.h>

#include "molecule.h"

const char *mol_version(void) { return MOL_VERSION_STRING; }

unsigned mol_version_number(void) { return MOL_VERSION_HEX; }

/* The library's own allocator: an application linked with another malloc (or a debug one)
 * must not free our memory with its free(). */
void mol_free(void *p) { free(p); }
