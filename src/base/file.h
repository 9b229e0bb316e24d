/* file.h - small-file helpers for state that must survive a crash intact (tokens, cursors,
 * snapshots). These block: they are meant for files of a few kilobytes, written rarely, where
 * a thread-pool round trip would cost more than the syscalls. */
#ifndef MOL_BASE_FILE_H
#define MOL_BASE_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* The most mol_read_file_stripped reads; the rest of a longer file is ignored. */
#define MOL_SMALL_FILE_MAX 4096

/* Atomically replaces path with data. The data goes to a fresh temporary file beside path,
 * "<path>.<pid>.<random>.tmp", created with O_EXCL|O_NOFOLLOW and `mode` (so never wider than
 * mode, whatever the umask) and set to exactly `mode` before the first byte is written; it is
 * fsync'ed, renamed over path, and the directory is fsync'ed. Readers see the old content or
 * the new, never a torn or empty file; with concurrent writers the last rename wins. On
 * failure the temporary file is removed and path is untouched. A process killed before its
 * rename leaves its temporary file; the pid in the name tells whose it was. Returns 0 or a
 * negative errno. */
int mol_write_file_atomic(const char *path, const void *data, size_t len, int mode);

/* mkdir -p: creates each missing directory of dir with `mode` (less the umask); existing ones
 * are left as they are. Returns 0 or a negative errno. */
int mol_mkdir_p(const char *dir, mode_t mode);

/* Reads a small text file (a token, a cursor) without following a symlink: *out is a malloc'd
 * copy of its first MOL_SMALL_FILE_MAX bytes without surrounding blanks (base/str.h), or NULL
 * when the file does not exist or holds only blanks. The scratch copy is wiped, as the file may
 * hold a secret. Returns 0 or a negative errno. */
int mol_read_file_stripped(const char *path, char **out);

#endif
