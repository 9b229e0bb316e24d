/* procstat.c - the process's CPU time, memory, descriptors and start time, and the build's
 * version, in Prometheus text (see procstat.h). Each scrape reads /proc/self: a handful of
 * small reads, cheap next to the HTTP exchange that asks for them. */
#include "base/procstat.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "molecule.h"

/* Appending goes on after a failure; the first one is what the caller gets. */
#define PUT(...) do { int put_rc_ = mol_buf_printf(__VA_ARGS__); if (put_rc_ && !*rc) *rc = put_rc_; } while (0)

static void family(mol_buf *out, int *rc, const char *name, const char *type, const char *help) {
  PUT(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void cpu(mol_buf *out, int *rc) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru)) return;
  double s = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
             ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
  family(out, rc, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
  PUT(out, "process_cpu_seconds_total %.6f\n", s);
}

static void memory(mol_buf *out, int *rc) {
  FILE *f = fopen("/proc/self/statm", "r");
  unsigned long long size = 0, resident = 0;
  int ok = f && fscanf(f, "%llu %llu", &size, &resident) == 2;
  if (f) fclose(f);
  long page = sysconf(_SC_PAGESIZE);
  if (!ok || page <= 0) return;
  family(out, rc, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
  PUT(out, "process_virtual_memory_bytes %llu\n", size * (unsigned long long)page);
  family(out, rc, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  PUT(out, "process_resident_memory_bytes %llu\n", resident * (unsigned long long)page);
}

static void fds(mol_buf *out, int *rc) {
  DIR *d = opendir("/proc/self/fd");
  if (d) {
    unsigned long n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
      if (e->d_name[0] != '.') n++;
    closedir(d);
    family(out, rc, "process_open_fds", "gauge", "Number of open file descriptors.");
    PUT(out, "process_open_fds %lu\n", n ? n - 1 : 0); /* without opendir's own */
  }
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    family(out, rc, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
    PUT(out, "process_max_fds %llu\n", (unsigned long long)rl.rlim_cur);
  }
}

/* Field 22 of /proc/self/stat (clock ticks after boot) plus the boot time of /proc/stat. */
static void start_time(mol_buf *out, int *rc) {
  char buf[1024];
  FILE *f = fopen("/proc/self/stat", "r");
  size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
  if (f) fclose(f);
  buf[n] = '\0';
  const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
  unsigned long long ticks = 0;
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
                          "%*d %*d %llu", &ticks) != 1)
    return;
  unsigned long long btime = 0;
  if ((f = fopen("/proc/stat", "r")) != NULL) {
    while (fgets(buf, sizeof(buf), f))
      if (sscanf(buf, "btime %llu", &btime) == 1) break;
    fclose(f);
  }
  long hz = sysconf(_SC_CLK_TCK);
  if (!btime || hz <= 0) return;
  family(out, rc, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
  PUT(out, "process_start_time_seconds %.2f\n", (double)btime + (double)ticks / (double)hz);
}

int mol_procstat_write(mol_buf *out) {
  int r = 0, *rc = &r;
  family(out, rc, "molecule_build_info", "gauge", "The molecule build: always 1, its version as a label.");
  PUT(out, "molecule_build_info{version=\"%s\"} 1\n", mol_version());
  cpu(out, rc);
  memory(out, rc);
  fds(out, rc);
  start_time(out, rc);
  return r;
}
