/* test_plugin_setup.c - setup.sh: timeout kills the whole process group (ADD-22), stragglers
 * die with bash, exit status and output are captured, the log is capped, the environment is
 * allow-listed, a directory too long for a path is refused cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "molecule.h"
#include "unit/test_plugin_support.h"

typedef struct {
  uv_loop_t loop;
  char *dir, *log;
  int done;
  mol_plugin_setup_result res;
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof(*f));
  uv_loop_init(&f->loop);
  f->dir = tp_mkdtemp();
  f->log = tp_path(f->dir, "setup.log");
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  mol_plugin__rmtree(f->dir);
  free(f->dir);
  free(f->log);
  free(f);
  return 0;
}

static void on_done(const mol_plugin_setup_result *res, void *arg) {
  fx *f = arg;
  f->done++;
  f->res = *res;
}

static void run_script(fx *f, const char *script, unsigned timeout_ms, size_t max_log,
                       const char *const *env) {
  tp_write(f->dir, "setup.sh", script);
  mol_plugin_setup_opts o = {.dir = f->dir, .log_path = f->log, .timeout_ms = timeout_ms,
                             .max_log_bytes = max_log, .env = env};
  assert_int_equal(mol_plugin__setup_run(&f->loop, &o, on_done, f), 0);
  assert_int_equal(f->done, 0); /* never inside the call */
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(f->done, 1);
}

/* Live (non-zombie) processes whose process group is pgid; the first max of their pids go to
 * pids (when not NULL). */
static int group_members(int pgid, pid_t *pids, int max) {
  DIR *d = opendir("/proc");
  struct dirent *e;
  int n = 0;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    char path[300], buf[1024];
    snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
    FILE *fp = fopen(path, "r");
    if (!fp) continue;
    size_t len = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[len] = '\0';
    char *rp = strrchr(buf, ')'), state;
    int ppid, pgrp;
    if (rp && sscanf(rp + 2, "%c %d %d", &state, &ppid, &pgrp) == 3 && pgrp == pgid &&
        state != 'Z') {
      if (pids && n < max) pids[n] = atoi(e->d_name);
      n++;
    }
  }
  closedir(d);
  return n;
}

/* SIGKILL is delivered asynchronously: waits for each member still alive to exit (its pidfd
 * turns readable then; these are not our children to wait for), and returns how many are left
 * alive after that, which a working kill makes 0. */
static int group_alive_after_exit(int pgid) {
  pid_t pids[64];
  int n = group_members(pgid, pids, 64);
  for (int i = 0; i < n && i < 64; i++) {
    int fd = (int)syscall(SYS_pidfd_open, pids[i], 0);
    if (fd < 0) continue; /* gone already */
    struct pollfd p = {.fd = fd, .events = POLLIN};
    (void)poll(&p, 1, 30000);
    close(fd);
  }
  return group_members(pgid, NULL, 0);
}

static void test_hang_and_fork_killed(void **state) { /* ADD-22 */
  fx *f = *state;
  run_script(f,
             "sleep 300 & echo $! > pids\n"
             "( sleep 300 & echo $! >> pids )\n"
             "( trap '' TERM; sleep 300 ) & echo $! >> pids\n"
             "trap '' TERM\n"
             "echo started\n"
             "sleep 300\n",
             300, 0, NULL);
  assert_int_equal(f->res.err, MOL_ETIMEDOUT);
  assert_true(f->res.pid > 0); /* and the run ended, though everything in it sleeps 300 s */
  assert_int_equal(group_alive_after_exit(f->res.pid), 0);
  char *pids = tp_read(f->dir, "pids");
  assert_non_null(pids);
  int n = 0;
  for (char *p = strtok(pids, "\n"); p; p = strtok(NULL, "\n"), n++) {
    char path[64], st[512] = "";
    snprintf(path, sizeof(path), "/proc/%s/stat", p);
    FILE *fp = fopen(path, "r");
    if (fp) {
      size_t len = fread(st, 1, sizeof(st) - 1, fp);
      st[len] = 0;
      fclose(fp);
      char *rp = strrchr(st, ')');
      assert_true(rp && rp[2] == 'Z'); /* at most a zombie waiting for its reaper */
    }
  }
  assert_int_equal(n, 3);
  free(pids);
  char *log = tp_read(f->dir, "setup.log");
  assert_non_null(strstr(log, "started"));
  free(log);
}

static void test_stragglers_die_with_bash(void **state) {
  fx *f = *state;
  run_script(f, "( sleep 300 & ) ; sleep 300 & echo bye; exit 0\n", 10000, 0, NULL);
  assert_int_equal(f->res.err, 0);
  assert_int_equal(f->res.exit_status, 0); /* ended: the stragglers sleeping 300 s were not waited for */
  assert_int_equal(group_alive_after_exit(f->res.pid), 0);
}

static void test_exit_status_and_log(void **state) {
  fx *f = *state;
  run_script(f, "echo hello; echo oops >&2; pwd; exit 3\n", 0, 0, NULL);
  assert_int_equal(f->res.err, 0);
  assert_int_equal(f->res.exit_status, 3);
  assert_int_equal(f->res.term_signal, 0);
  char *log = tp_read(f->dir, "setup.log");
  assert_non_null(strstr(log, "hello"));
  assert_non_null(strstr(log, "oops"));
  assert_non_null(strstr(log, f->dir)); /* cwd = the plugin dir */
  free(log);
  assert_int_equal(tp_mode(f->dir, "setup.log") & 0777, 0600);
}

static void test_log_capped(void **state) {
  fx *f = *state;
  run_script(f, "head -c 3000000 /dev/zero | tr '\\0' a\n", 0, 1000, NULL);
  assert_int_equal(f->res.err, 0);
  char *p = tp_path(f->dir, "setup.log");
  struct stat st;
  assert_int_equal(stat(p, &st), 0);
  assert_true(st.st_size >= 1000 && st.st_size < 1100);
  free(p);
  char *log = tp_read(f->dir, "setup.log");
  assert_non_null(strstr(log, "truncated"));
  free(log);
}

static void test_env_allow_listed(void **state) {
  fx *f = *state;
  setenv("MOLECULE_WORKSPACE_TOKEN", "tok-should-not-leak", 1);
  setenv("OPENAI_API_KEY", "sk-should-not-leak", 1);
  setenv("LC_TIME", "C", 1);
  const char *env[] = {"CONFIGS_DIR=/configs", NULL};
  run_script(f, "env\n", 0, 0, env);
  unsetenv("MOLECULE_WORKSPACE_TOKEN");
  unsetenv("OPENAI_API_KEY");
  char *log = tp_read(f->dir, "setup.log");
  assert_null(strstr(log, "should-not-leak"));
  assert_non_null(strstr(log, "CONFIGS_DIR=/configs"));
  assert_non_null(strstr(log, "PLUGIN_DIR="));
  assert_non_null(strstr(log, "PATH="));
  assert_non_null(strstr(log, "LC_TIME=C"));
  free(log);
}

static void test_spawn_failure_reported(void **state) {
  fx *f = *state;
  mol_plugin_setup_opts o = {.dir = "/nonexistent-dir-for-cwd", .log_path = f->log};
  tp_write(f->dir, "setup.sh", "exit 0\n");
  int rc = mol_plugin__setup_run(&f->loop, &o, on_done, f);
  assert_int_not_equal(rc, 0); /* cwd missing: uv_spawn fails, cb never fires */
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(f->done, 0);
}

/* A plugin directory whose script path does not fit: a clear error before anything is
 * started, the callback never fires, and nothing is left on the loop. */
static void test_dir_too_long_refused(void **state) {
  fx *f = *state;
  static char dir[5000];
  memset(dir, 'd', sizeof(dir) - 1);
  dir[0] = '/';
  mol_plugin_setup_opts o = {.dir = dir, .log_path = f->log};
  assert_int_equal(mol_plugin__setup_run(&f->loop, &o, on_done, f), -ENAMETOOLONG);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(f->done, 0);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_hang_and_fork_killed), T(test_stragglers_die_with_bash), T(test_exit_status_and_log),
      T(test_log_capped),           T(test_env_allow_listed),         T(test_spawn_failure_reported),
      T(test_dir_too_long_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
