/* file.h - small-file helpers for state that must survive a crash intact (tokens, cursors,
 * snapshots). These block: they are meant for files of a few kilobytes. */
#ifndef MOL_BASE_FILE_H
#define MOL_BASE_FILE_H

#include <stddef.h>

/* Atomically replaces path with data: a uniquely named temp file in the same directory,
 * written, chmod'ed to `mode` (whatever the umask), fsync'ed, renamed over path, then the
 * directory fsync'ed. A concurrent writer never leaves a torn file: the last rename wins.
 * On failure the temp file is removed and path is untouched. Returns 0 or a negative errno. */
int mol_write_file_atomic(const char *path, const void *data, size_t len, int mode);

#endif
