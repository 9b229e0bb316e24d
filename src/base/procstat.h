/* procstat.h - this process's resources as Prometheus reports them for every process
 * (process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
 * process_open_fds, process_max_fds, process_start_time_seconds), read from /proc/self and
 * getrusage/getrlimit, and molecule_build_info. */
#ifndef MOL_BASE_PROCSTAT_H
#define MOL_BASE_PROCSTAT_H

#include "base/buf.h"

/* Appends the families above in the text format 0.0.4 (# HELP, # TYPE, the sample). A value
 * that cannot be read (no /proc) is left out, never reported as 0. Returns 0 or MOL_ENOMEM. */
int mol_procstat_write(mol_buf *out);

#endif
