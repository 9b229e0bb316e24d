/* test_plugin_install.c - the install pipeline end to end over loopback: a raw libuv server
 * serves generated tarballs; upstream's install cases PLG-01..13 (with the C improvements:
 * out-of-band digest, fail closed, atomic swap), truncated / oversized / corrupt downloads,
 * digest headers, the report's status, cancellation and the install lock. */
#include <locale.h>
#include <signal.h>

#include "plugin_install_fixture.h"

static void test_install_basic(void **state) { /* PLG-01, PLG-09, PLG-12 */
  fx *f = *state;
  char hash[65];
  demo_tarball(f, 1, 0, hash);
  serve_file(f, NULL);
  mol_plugin_pipeline_opts o = base_opts(f, hash);
  assert_int_equal(install(f, &o), 0);
  assert_string_equal(f->content, hash);
  assert_true(f->verified);
  char *dir = tp_path(f->plugins, "demo");
  char *c = tp_read(dir, "rules/x.md");
  assert_string_equal(c, "rule one\n");
  free(c);
  free(dir);
  assert_no_litter(f);
  size_t len;
  char *raw = tps_slurp(f->tgz, &len), hex[65];
  uint8_t d[32];
  mol_sha256_once(raw, len, d);
  mol_hex(d, 32, hex);
  free(raw);
  assert_string_equal(f->archive, hex); /* the stream hash is the archive's sha256 */
  assert_int_equal(f->srv.nreqs, 2);
  assert_string_equal(f->srv.reqs[0].target, DL_PATH); /* no query without a source */
  assert_string_equal(f->srv.reqs[0].auth, "Bearer tok-123456");
  assert_string_equal(f->srv.reqs[1].method, "POST");
  assert_string_equal(f->srv.reqs[1].target, REPORT_PATH);
  assert_string_equal(f->srv.reqs[1].body, "{\"source\":\"local://demo\"}");
  assert_int_equal(f->report_status, 200);
}

static void test_source_query(void **state) { /* PLG-02 */
  fx *f = *state;
  char hash[65];
  demo_tarball(f, 1, 0, hash);
  serve_file(f, NULL);
  mol_plugin_pipeline_opts o = base_opts(f, hash);
  o.source = "github://acme/my-plugin";
  assert_int_equal(install(f, &o), 0);
  assert_string_equal(f->srv.reqs[0].target, DL_PATH "?source=github://acme/my-plugin");
  assert_string_equal(f->srv.reqs[1].body, "{\"source\":\"github://acme/my-plugin\"}");
}

static void test_not_gzip_rolls_back(void **state) { /* PLG-03 */
  fx *f = *state;
  f->srv.nroutes = 0;
  tps_add(&f->srv, "GET", DL_PATH, 200, "this is not a tarball", 21);
  mol_plugin_pipeline_opts o = base_opts(f, NULL);
  o.allow_unverified = 1;
  assert_int_equal(install(f, &o), MOL_EPROTO);
  assert_non_null(strstr(f->msg, "gzip"));
  assert_int_equal(tp_count_entries(f->plugins), 0);
}

static void test_reinstall_atomic(void **state) { /* PLG-04 (M*) */
  fx *f = *state;
  char h1[65], h2[65];
  demo_tarball(f, 1, 0, h1);
  serve_file(f, NULL);
  mol_plugin_pipeline_opts o = base_opts(f, h1);
  assert_int_equal(install(f, &o), 0);
  demo_tarball(f, 2, 0, h2);
  serve_file(f, NULL);
  o.expected_sha256 = h1; /* wrong for v2: v1 must stay exactly as it was */
  assert_int_equal(install(f, &o), MOL_PLUGIN_EMISMATCH);
  char *dir = tp_path(f->plugins, "demo"), hash[65], msg[MOL_PLUGIN_MSG_MAX];
  assert_int_equal(mol_plugin_hash_dir(dir, hash, msg), 0);
  assert_string_equal(hash, h1);
  assert_no_litter(f);
  o.expected_sha256 = h2;
  assert_int_equal(install(f, &o), 0);
  assert_true(tp_exists(dir, "only-v2.txt"));
  assert_false(tp_exists(dir, "only-v1.txt"));
  assert_no_litter(f);
  free(dir);
}

static void test_setup_runs(void **state) { /* PLG-05, sanitised env, captured log */
  fx *f = *state;
  char hash[65];
  demo_tarball(f, 1, 1, hash);
  serve_file(f, NULL);
  setenv("MOLECULE_WORKSPACE_TOKEN", "secret-token-value", 1);
  mol_plugin_pipeline_opts o = base_opts(f, hash);
  const char *env[] = {"WORKSPACE_ID=" WS, NULL};
  o.setup_env = env;
  assert_int_equal(install(f, &o), 0);
  unsetenv("MOLECULE_WORKSPACE_TOKEN");
  assert_true(f->setup_ran);
  char *dir = tp_path(f->plugins, "demo");
  assert_true(tp_exists(dir, "setup-ran")); /* ran with cwd = plugin dir, mode 0644 */
  char *envtxt = tp_read(dir, "env.txt");
  assert_null(strstr(envtxt, "secret-token-value"));
  assert_non_null(strstr(envtxt, "WORKSPACE_ID=" WS));
  assert_non_null(strstr(envtxt, "PLUGIN_DIR="));
  free(envtxt);
  char *log = tp_read(f->plugins, ".setup-demo.log");
  assert_non_null(strstr(log, "out"));
  assert_non_null(strstr(log, "err"));
  free(log);
  free(dir);
}

static void test_skip_setup_and_report(void **state) { /* PLG-06, PLG-07 */
  fx *f = *state;
  char hash[65];
  demo_tarball(f, 1, 1, hash);
  serve_file(f, NULL);
  mol_plugin_pipeline_opts o = base_opts(f, hash);
  o.skip_setup = 1;
  o.skip_report = 1;
  assert_int_equal(install(f, &o), 0);
  char *dir = tp_path(f->plugins, "demo");
  assert_false(tp_exists(dir, "setup-ran"));
  free(dir);
  assert_int_equal(f->srv.nreqs, 1);
  assert_int_equal(f->report_status, 0);
}

static void test_404_names_url(void **state) { /* PLG-08 */
  fx *f = *state;
  f->srv.nroutes = 0;
  mol_plugin_pipeline_opts o = base_opts(f, NULL);
  o.allow_unverified = 1;
  assert_int_equal(install(f, &o), MOL_EHTTP);
  assert_non_null(strstr(f->msg, DL_PATH));
  assert_non_null(strstr(f->msg, "404"));
  assert_non_null(strstr(f->msg, "no such route"));
  assert_no_litter(f);
}

static void test_mismatch_aborts(void **state) { /* PLG-10, PLG-13, SHA-04 */
  fx *f = *state;
  char hash[65];
  demo_tarball(f, 1, 1, hash);
  serve_file(f, NULL);
  mol_plugin_pipeline_opts o = base_opts(f, "0000000000000000000000000000000000000000000000000000000000000000");
  assert_int_equal(install(f, &o), MOL_PLUGIN_EMISMATCH);
  assert_non_null(strstr(f->msg, "sha256 mismatch"));
  assert_non_null(strstr(f->msg, "setup.sh was NOT run"));
  assert_false(tp_exists(f->plugins, "demo"));
  assert_false(f->setup_ran);
  assert_no_litter(f);
  assert_int_equal(f->srv.nreqs, 1); /* no report either */
}

static void test_fail_closed_without_digest(void **state) { /* PLG-11 (C: opt-in) */
  fx *f = *state;
  char hash[65];
  demo_tarball(f, 1, 0, hash);
  serve_file(f, NULL);
  mol_plugin_pipeline_opts o = base_opts(f, NULL);
  assert_int_equal(install(f, &o), MOL_EINVAL);
  assert_non_null(strstr(f->msg, "no expected sha256"));
  assert_false(tp_exists(f->plugins, "demo"));
  o.allow_unverified = 1;
  assert_int_equal(install(f, &o), 0);
  assert_false(f->verified);
  assert_non_null(strstr(f->warnings, "WITHOUT verification"));
}

static void test_digest_header(void **state) {
  fx *f = *state;
  char hash[65], hdr[128];
  demo_tarball(f, 1, 0, hash);
  snprintf(hdr, sizeof(hdr), "X-Plugin-Sha256: %s\r\n", hash);
  serve_file(f, hdr);
  mol_plugin_pipeline_opts o = base_opts(f, NULL);
  assert_int_equal(install(f, &o), 0);
  assert_true(f->verified);
  /* argument and header disagree: refuse */
  o.expected_sha256 = "1111111111111111111111111111111111111111111111111111111111111111";
  assert_int_equal(install(f, &o), MOL_PLUGIN_EMISMATCH);
  assert_non_null(strstr(f->msg, "X-Plugin-Sha256"));
  /* a wrong header alone: refuse */
  serve_file(f, "X-Plugin-Sha256: 2222222222222222222222222222222222222222222222222222222222222222\r\n");
  o.expected_sha256 = NULL;
  assert_int_equal(install(f, &o), MOL_PLUGIN_EMISMATCH);
  assert_no_litter(f);
}

/* One incompressible file: the stream is as big as the content. */
static void big_tarball(fx *f, size_t size) {
  char *buf = malloc(size);
  for (size_t i = 0; i < size; i++) buf[i] = (char)(rand() & 0xff);
  tp_tar t;
  tp_tar_open(&t, f->tgz, 1);
  tp_tar_entry(&t, "big.bin", AE_IFREG, 0644, buf, size, NULL, 0);
  tp_tar_close(&t);
  free(buf);
}

static void test_truncated_download(void **state) {
  fx *f = *state;
  big_tarball(f, 2 << 20);
  tps_route *r = serve_file(f, NULL);
  r->truncate_at = r->body_len / 2;
  mol_plugin_pipeline_opts o = base_opts(f, NULL);
  o.allow_unverified = 1;
  int err = install(f, &o);
  assert_int_not_equal(err, 0);
  assert_non_null(strstr(f->msg, "download failed"));
  assert_false(tp_exists(f->plugins, "demo"));
  assert_no_litter(f);
}

static void test_oversized_download(void **state) {
  fx *f = *state;
  big_tarball(f, 2 << 20);
  serve_file(f, NULL);
  mol_plugin_pipeline_opts o = base_opts(f, NULL);
  o.allow_unverified = 1;
  o.max_download_bytes = 1 << 20; /* Content-Length says more: refused at the head */
  assert_int_equal(install(f, &o), MOL_ETOOBIG);
  assert_non_null(strstr(f->msg, "cap"));
  assert_no_litter(f);
  assert_false(tp_exists(f->plugins, "demo"));
}

static void test_streamed_throttled(void **state) { /* back-pressure, pause/resume */
  fx *f = *state;
  big_tarball(f, 6 << 20);
  tps_route *r = serve_file(f, NULL);
  r->chunk = 256 << 10;
  r->tick_ms = 1;
  mol_plugin_pipeline_opts o = base_opts(f, NULL);
  o.allow_unverified = 1;
  assert_int_equal(install(f, &o), 0);
  char *dir = tp_path(f->plugins, "demo"), hash[65], msg[MOL_PLUGIN_MSG_MAX];
  assert_int_equal(mol_plugin_hash_dir(dir, hash, msg), 0);
  assert_string_equal(hash, f->content);
  free(dir);
  assert_no_litter(f);
}

static void test_report_status_checked(void **state) {
  fx *f = *state;
  char hash[65];
  demo_tarball(f, 1, 0, hash);
  serve_file(f, NULL);
  f->srv.routes[1].status = 500;
  mol_plugin_pipeline_opts o = base_opts(f, hash);
  assert_int_equal(install(f, &o), 0); /* installed; the report failure is surfaced */
  assert_int_equal(f->report_status, 500);
  assert_int_equal(f->report_err, MOL_EHTTP);
  assert_non_null(strstr(f->warnings, "HTTP 500"));
  f->srv.routes[1].status = 503; /* external workspace: expected, not an error */
  assert_int_equal(install(f, &o), 0);
  assert_int_equal(f->report_status, 503);
  assert_int_equal(f->report_err, 0);
}

static void test_invalid_name(void **state) { /* ADD-21 */
  fx *f = *state;
  const char *bad[] = {"../x", "a/b", "..", ".hidden", "a\\b", NULL};
  for (const char **b = bad; *b; b++) {
    mol_plugin_pipeline_opts o = base_opts(f, NULL);
    o.name = *b;
    assert_int_equal(mol_plugin_pipeline_start(&f->loop, f->http, &o, on_installed, f, NULL),
                     MOL_EINVAL);
  }
  assert_false(tp_exists(f->tmp, "plugins")); /* refused before touching the filesystem */
}

static void test_escaping_entry_rolls_back(void **state) { /* TAR-32/33 at install level */
  fx *f = *state;
  tp_tar t;
  tp_tar_open(&t, f->tgz, 1);
  tp_tar_file(&t, "good.txt", "fine");
  tp_tar_file(&t, "../evil.txt", "bad");
  tp_tar_close(&t);
  serve_file(f, NULL);
  mol_plugin_pipeline_opts o = base_opts(f, NULL);
  o.allow_unverified = 1;
  assert_int_equal(install(f, &o), MOL_EINVAL);
  assert_non_null(strstr(f->msg, "refusing tar entry escaping"));
  assert_false(tp_exists(f->tmp, "evil.txt"));
  assert_int_equal(tp_count_entries(f->plugins), 0);
}

static void cancel_soon(uv_timer_t *t) { mol_plugin_pipeline_cancel(t->data); }

static void test_cancel(void **state) {
  fx *f = *state;
  big_tarball(f, 4 << 20);
  tps_route *r = serve_file(f, NULL);
  r->chunk = 64 << 10;
  r->tick_ms = 5;
  mol_plugin_pipeline_opts o = base_opts(f, NULL);
  o.allow_unverified = 1;
  mol_plugin_pipeline *req;
  f->done = 0;
  assert_int_equal(mol_plugin_pipeline_start(&f->loop, f->http, &o, on_installed, f, &req), 0);
  static uv_timer_t t; /* outlives this frame: closed by the loop in teardown */
  uv_timer_init(&f->loop, &t);
  t.data = req;
  uv_timer_start(&t, cancel_soon, 50, 0);
  while (!f->done) uv_run(&f->loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&t, NULL);
  assert_int_equal(f->err, MOL_ECANCELED);
  assert_int_equal(tp_count_entries(f->plugins), 0);
}

static int has_staging(fx *f) {
  DIR *d = opendir(f->plugins);
  struct dirent *e;
  int found = 0;
  while (d && !found && (e = readdir(d)) != NULL) found = !strncmp(e->d_name, ".staging-demo-", 14);
  if (d) closedir(d);
  return found;
}

static void test_lock_busy(void **state) {
  fx *f = *state;
  char hash[65];
  demo_tarball(f, 1, 0, hash);
  tps_route *r = serve_file(f, NULL);
  r->chunk = 64;
  r->tick_ms = 20;
  mol_plugin_pipeline_opts o = base_opts(f, hash);
  f->done = 0;
  assert_int_equal(mol_plugin_pipeline_start(&f->loop, f->http, &o, on_installed, f, NULL), 0);
  /* the staging dir is made under the lock: once it is there, the install holds the lock */
  while (!has_staging(f)) uv_run(&f->loop, UV_RUN_ONCE);
  char msg[MOL_PLUGIN_MSG_MAX];
  assert_int_equal(mol_plugin_remove(f->plugins, "demo", msg), MOL_EBUSY);
  while (!f->done) uv_run(&f->loop, UV_RUN_ONCE);
  assert_int_equal(f->err, 0);
  assert_int_equal(mol_plugin_remove(f->plugins, "demo", msg), 0);
  assert_false(tp_exists(f->plugins, "demo"));
  assert_int_equal(mol_plugin_remove(f->plugins, "demo", msg), MOL_ENOENT);
  assert_no_litter(f);
}

int main(void) {
  setlocale(LC_ALL, "C.UTF-8");
  signal(SIGPIPE, SIG_IGN);
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_install_basic),       T(test_source_query),          T(test_not_gzip_rolls_back),
      T(test_reinstall_atomic),    T(test_setup_runs),            T(test_skip_setup_and_report),
      T(test_404_names_url),       T(test_mismatch_aborts),       T(test_fail_closed_without_digest),
      T(test_digest_header),       T(test_truncated_download),    T(test_oversized_download),
      T(test_streamed_throttled),  T(test_report_status_checked), T(test_invalid_name),
      T(test_escaping_entry_rolls_back), T(test_cancel),          T(test_lock_busy),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
