/* test_platform_token_writers.c - the platform client's token file against writers in other
 * processes: two processes saving tokens at once (ADD-10) and writers killed at arbitrary
 * points (ADD-23, token side). A reader never sees an empty or partial token, the file stays
 * 0600, and no temporary file is left behind. */
#include "platform_testutil.h"

#include <signal.h>
#include <sys/wait.h>

static uv_loop_t g_uv;
static mol_platform_client *g_c;
static char *g_dir;

static int setup(void **st) {
  (void)st;
  uv_loop_init(&g_uv);
  g_loop = &g_uv;
  g_dir = make_tmpdir();
  mol_platform_opts o = base_opts(9, g_dir); /* no request is made: saving is local */
  o.token = "tok-loop-0123456789";
  assert_int_equal(mol_platform_client_new(g_loop, &o, &g_c), 0);
  return 0;
}

static int teardown(void **st) {
  (void)st;
  close_client(g_c);
  loop_drain(g_loop);
  assert_int_equal(uv_loop_close(g_loop), 0);
  rm_tree(g_dir);
  return 0;
}

/* ADD-10: two processes saving tokens concurrently; a reader never sees an empty or partial
 * token, and the file always holds one writer's complete token. */
static void add_10_concurrent_token_writer(void **st) {
  (void)st;
  const char *tokfile = path_in(g_dir, ".auth_token");
  assert_int_equal(mol_platform_save_token(g_c, "tok-parent-00000000000000000000000000000"), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    char tok[64];
    for (int i = 0; i < 300; i++) {
      snprintf(tok, sizeof(tok), "tok-child-%030d", i);
      if (mol_platform_save_token(g_c, tok)) _exit(1);
    }
    _exit(0);
  }
  char tok[64];
  int bad = 0;
  for (int i = 0; i < 300; i++) {
    snprintf(tok, sizeof(tok), "tok-parent-%029d", i);
    assert_int_equal(mol_platform_save_token(g_c, tok), 0);
    const char *got = read_file(tokfile);
    if (!got || strlen(got) != 40 || (strncmp(got, "tok-parent-", 11) && strncmp(got, "tok-child-", 10)))
      bad++;
  }
  int status;
  waitpid(pid, &status, 0);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  assert_int_equal(bad, 0);
  const char *final = read_file(tokfile);
  assert_int_equal(strlen(final), 40);
  struct stat sb;
  assert_int_equal(stat(tokfile, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);
}

/* ADD-23 (token side): a writer killed at an arbitrary point leaves a whole token behind. */
static void add_23_killed_writer_leaves_whole_token(void **st) {
  (void)st;
  const char *tokfile = path_in(g_dir, ".auth_token");
  assert_int_equal(mol_platform_save_token(g_c, "tok-parent-00000000000000000000000000000"), 0);
  for (int round = 0; round < 5; round++) {
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      char tok[64];
      for (int i = 0;; i++) {
        snprintf(tok, sizeof(tok), "tok-child-%030d", i);
        mol_platform_save_token(g_c, tok);
      }
    }
    usleep(20000 + round * 7000);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    const char *got = read_file(tokfile);
    assert_non_null(got);
    assert_int_equal(strlen(got), 40);
    struct stat sb;
    assert_int_equal(stat(tokfile, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
  }
  /* the next save sweeps the temporary files the killed writers left */
  assert_int_equal(mol_platform_save_token(g_c, "tok-parent-00000000000000000000000000001"), 0);
  char cmd[1100];
  snprintf(cmd, sizeof(cmd), "ls -A %s | grep -c 'tmp$'", g_dir);
  FILE *p = popen(cmd, "r");
  char out[16] = {0};
  assert_non_null(fgets(out, sizeof(out), p));
  pclose(p);
  assert_int_equal(atoi(out), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(add_10_concurrent_token_writer),
      T(add_23_killed_writer_leaves_whole_token),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
