/* archive_dl.h - libarchive, loaded when the first plugin is extracted instead of at start-up.
 * Linked normally it pulls libxml2, ICU and a dozen compression libraries into every
 * `molecule` command, and mapping and relocating them was most of `molecule --version`'s
 * time, though few commands ever install a plugin. A file that calls libarchive includes
 * this in place of <archive.h>: its calls keep their names and go through a table of
 * pointers filled by mol_archive__load. */
#ifndef MOL_PLUGIN_ARCHIVE_DL_H
#define MOL_PLUGIN_ARCHIVE_DL_H

#include <archive.h>
#include <archive_entry.h>
#include <stddef.h>

/* Every libarchive function the plugin code calls. */
#define MOL_ARCHIVE_FUNCS(X)                                                                  \
  X(archive_entry_acl_clear) X(archive_entry_copy_pathname) X(archive_entry_filetype)         \
  X(archive_entry_hardlink) X(archive_entry_pathname) X(archive_entry_pathname_utf8)          \
  X(archive_entry_perm) X(archive_entry_set_fflags) X(archive_entry_set_perm)                 \
  X(archive_entry_size) X(archive_entry_size_is_set) X(archive_entry_symlink)                 \
  X(archive_entry_xattr_clear) X(archive_error_string) X(archive_filter_code)                 \
  X(archive_filter_count) X(archive_read_data_block) X(archive_read_free) X(archive_read_new) \
  X(archive_read_next_header) X(archive_read_open) X(archive_read_support_filter_gzip)        \
  X(archive_read_support_format_tar) X(archive_set_error) X(archive_write_data_block)         \
  X(archive_write_disk_new) X(archive_write_disk_set_options) X(archive_write_finish_entry)   \
  X(archive_write_free) X(archive_write_header)

typedef struct {
#define MOL_ARCHIVE_SLOT(f) __typeof__(&f) f;
  MOL_ARCHIVE_FUNCS(MOL_ARCHIVE_SLOT)
#undef MOL_ARCHIVE_SLOT
} mol_archive_api;

extern mol_archive_api mol_archive__api;

/* Loads libarchive the first time (any thread; later calls return the first result). Returns
 * 0, or MOL_ENOTSUP with the loader's reason in err. */
int mol_archive__load(char *err, size_t errlen);

#ifndef MOL_ARCHIVE_DL_IMPL
#define archive_entry_acl_clear mol_archive__api.archive_entry_acl_clear
#define archive_entry_copy_pathname mol_archive__api.archive_entry_copy_pathname
#define archive_entry_filetype mol_archive__api.archive_entry_filetype
#define archive_entry_hardlink mol_archive__api.archive_entry_hardlink
#define archive_entry_pathname mol_archive__api.archive_entry_pathname
#define archive_entry_pathname_utf8 mol_archive__api.archive_entry_pathname_utf8
#define archive_entry_perm mol_archive__api.archive_entry_perm
#define archive_entry_set_fflags mol_archive__api.archive_entry_set_fflags
#define archive_entry_set_perm mol_archive__api.archive_entry_set_perm
#define archive_entry_size mol_archive__api.archive_entry_size
#define archive_entry_size_is_set mol_archive__api.archive_entry_size_is_set
#define archive_entry_symlink mol_archive__api.archive_entry_symlink
#define archive_entry_xattr_clear mol_archive__api.archive_entry_xattr_clear
#define archive_error_string mol_archive__api.archive_error_string
#define archive_filter_code mol_archive__api.archive_filter_code
#define archive_filter_count mol_archive__api.archive_filter_count
#define archive_read_data_block mol_archive__api.archive_read_data_block
#define archive_read_free mol_archive__api.archive_read_free
#define archive_read_new mol_archive__api.archive_read_new
#define archive_read_next_header mol_archive__api.archive_read_next_header
#define archive_read_open mol_archive__api.archive_read_open
#define archive_read_support_filter_gzip mol_archive__api.archive_read_support_filter_gzip
#define archive_read_support_format_tar mol_archive__api.archive_read_support_format_tar
#define archive_set_error mol_archive__api.archive_set_error
#define archive_write_data_block mol_archive__api.archive_write_data_block
#define archive_write_disk_new mol_archive__api.archive_write_disk_new
#define archive_write_disk_set_options mol_archive__api.archive_write_disk_set_options
#define archive_write_finish_entry mol_archive__api.archive_write_finish_entry
#define archive_write_free mol_archive__api.archive_write_free
#define archive_write_header mol_archive__api.archive_write_header
#endif

#endif
