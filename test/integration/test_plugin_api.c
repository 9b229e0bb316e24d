/* test_plugin_api.c - the public mol_plugin_install (molecule/plugin.h) over loopback: a raw
 * libuv HTTP server on the test's mol_loop serves real gzip tarballs built with libarchive.
 * Each source form (a direct URL, a local path, file://, the platform's download route), the
 * progress stages and bytes, which requests carry the token, the digest rules of a direct URL,
 * failures (mismatch, 404, missing file, bad arguments) that leave the previous version and no
 * litter, cancellation from the progress callback, and a loop that closes cleanly after the
 * callback (nothing of the install left on it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <locale.h>
#include <signal.h>

#include "molecule.h"
#include "molecule/uv.h"
#include "test_plugin_server.h"
#include "unit/test_plugin_support.h"

#define WS "7f1c2a9e-3b4d-4e5f-8a6b-1c2d3e4f5a6b"
#define DL_PATH "/workspaces/" WS "/plugins/demo/download"
#define REPORT_PATH "/workspaces/" WS "/plugins"
#define FILE_PATH "/files/demo.tgz"

enum { MAX_EVENTS = 4096 };

typedef struct {
  mol_loop *loop;
  tps_server srv;
  char *tmp, *plugins, *tgz, *body;
  size_t body_len;
  char base[64], file_url[128];
  /* the callback */
  int done, err, in_call;
  char msg[1024], dir[1024], content[65], archive[65], warnings[2048];
  int verified, setup_ran, report_status;
  unsigned long long archive_bytes, files;
  /* progress */
  mol_plugin_progress events[MAX_EVENTS];
  int nevents, called_inside;
  mol_plugin_install_req *req;
  int cancel_after_bytes, cancels;
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof(*f));
  assert_int_equal(mol_loop_new(&f->loop), 0);
  assert_int_equal(tps_start(&f->srv, mol_loop_uv(f->loop)), 0);
  f->tmp = tp_mkdtemp();
  f->plugins = tp_path(f->tmp, "plugins");
  f->tgz = tp_path(f->tmp, "demo.tgz");
  snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%d", f->srv.port);
  snprintf(f->file_url, sizeof(f->file_url), "%s" FILE_PATH, f->base);
  *state = f;
  return 0;
}

static void count_live(uv_handle_t *h, void *arg) {
  if (h->type != UV_ASYNC && !uv_is_closing(h)) ++*(int *)arg; /* the async is mol_loop's */
}

static int live_handles(fx *f) {
  int n = 0;
  uv_walk(mol_loop_uv(f->loop), count_live, &n);
  return n;
}

/* Everything the installs made is gone: once the test server's connections have closed,
 * mol_loop_close (which refuses a loop with live handles) succeeds. */
static int teardown(void **state) {
  fx *f = *state;
  tps_stop(&f->srv);
  while (live_handles(f) > 0) mol_loop_run(f->loop, MOL_RUN_ONCE);
  assert_int_equal(mol_loop_close(f->loop), 0);
  mol_plugin__rmtree(f->tmp);
  free(f->body);
  free(f->tmp);
  free(f->plugins);
  free(f->tgz);
  free(f);
  return 0;
}

/* ---- fixtures ---------------------------------------------------------------------------- */

/* Builds the demo plugin (variant v, optionally with a setup.sh) into f->tgz and returns its
 * content hash. */
static void demo_tarball(fx *f, int v, int with_setup, char hash[65]) {
  tp_tar t;
  tp_tar_open(&t, f->tgz, 1);
  tp_tar_file(&t, "plugin.yaml", "name: demo\n");
  tp_tar_file(&t, "rules/x.md", v == 1 ? "rule one\n" : "rule two\n");
  tp_tar_file(&t, v == 1 ? "only-v1.txt" : "only-v2.txt", "v\n");
  if (with_setup) tp_tar_file(&t, "setup.sh", "touch setup-ran\n");
  tp_tar_close(&t);
  char *d = tp_mkdtemp(), msg[MOL_PLUGIN_MSG_MAX];
  mol_plugin_extract_result xr;
  tp_extract(f->tgz, d, NULL, &xr);
  mol_plugin__extract_result_free(&xr);
  assert_int_equal(mol_plugin_hash_dir(d, hash, msg), 0);
  mol_plugin__rmtree(d);
  free(d);
}

/* A tarball of n incompressible-ish bytes, for a download that takes many reads. */
static void big_tarball(fx *f, size_t n) {
  char *data = malloc(n);
  uint32_t x = 12345;
  for (size_t i = 0; i < n; i++) data[i] = (char)((x = x * 1103515245u + 12345u) >> 24);
  tp_tar t;
  tp_tar_open(&t, f->tgz, 1);
  tp_tar_entry(&t, "blob.bin", AE_IFREG, 0644, data, n, NULL, 0);
  tp_tar_close(&t);
  free(data);
}

/* Serves f->tgz at FILE_PATH and at the platform's download route (with extra headers). */
static tps_route *serve(fx *f, const char *extra_headers) {
  free(f->body);
  f->body = tps_slurp(f->tgz, &f->body_len);
  f->srv.nroutes = 0;
  f->srv.nreqs = 0;
  tps_route *r = tps_add(&f->srv, "GET", FILE_PATH, 200, f->body, f->body_len);
  r->extra_headers = extra_headers;
  tps_route *p = tps_add(&f->srv, "GET", DL_PATH, 200, f->body, f->body_len);
  p->extra_headers = extra_headers;
  tps_add(&f->srv, "POST", REPORT_PATH, 200, "{\"status\":\"installed\"}", 22);
  return r;
}

static const tps_record *request_to(fx *f, const char *method, const char *path_prefix) {
  for (int i = 0; i < f->srv.nreqs; i++)
    if (!strcmp(f->srv.reqs[i].method, method) &&
        !strncmp(f->srv.reqs[i].target, path_prefix, strlen(path_prefix)))
      return &f->srv.reqs[i];
  return NULL;
}

/* ---- callbacks --------------------------------------------------------------------------- */

static void on_progress(const mol_plugin_progress *p, void *arg) {
  fx *f = arg;
  if (f->in_call) f->called_inside = 1;
  if (f->nevents < MAX_EVENTS) f->events[f->nevents++] = *p;
  if (f->cancel_after_bytes && p->stage == MOL_PLUGIN_STAGE_FETCH && p->bytes > 0 && f->req) {
    mol_plugin_install_cancel(f->req);
    mol_plugin_install_cancel(f->req); /* again: nothing more happens */
    f->cancels++;
    f->cancel_after_bytes = 0;
  }
}

static void on_installed(int err, const mol_plugin_result *res, void *arg) {
  fx *f = arg;
  if (f->in_call) f->called_inside = 1;
  f->done++;
  f->err = err;
  snprintf(f->msg, sizeof(f->msg), "%s", res->message ? res->message : "");
  snprintf(f->dir, sizeof(f->dir), "%s", res->dir ? res->dir : "");
  snprintf(f->content, sizeof(f->content), "%s", res->content_sha256);
  snprintf(f->archive, sizeof(f->archive), "%s", res->archive_sha256);
  f->verified = res->verified;
  f->setup_ran = res->setup_ran;
  f->report_status = res->report_status;
  f->archive_bytes = res->archive_bytes;
  f->files = res->files;
  f->warnings[0] = '\0';
  for (size_t i = 0; i < res->nwarnings; i++) {
    strncat(f->warnings, res->warnings[i], sizeof(f->warnings) - strlen(f->warnings) - 2);
    strcat(f->warnings, "\n");
  }
  if (f->req) mol_plugin_install_cancel(f->req); /* from the callback: does nothing */
}

static mol_plugin_install_opts opts(fx *f, const char *source, const char *sha) {
  mol_plugin_install_opts o = {.name = "demo", .dir = f->plugins, .source = source,
                               .expected_sha256 = sha, .on_progress = on_progress,
                               .progress_arg = f};
  return o;
}

/* Starts an install and runs the loop until its callback; returns err. */
static int install(fx *f, const mol_plugin_install_opts *o) {
  f->done = f->nevents = f->called_inside = f->cancels = 0;
  f->req = NULL;
  f->in_call = 1;
  assert_int_equal(mol_plugin_install(f->loop, o, on_installed, f, &f->req), 0);
  f->in_call = 0;
  assert_int_equal(f->done, 0);
  while (!f->done) assert_true(mol_loop_run(f->loop, MOL_RUN_ONCE) || f->done);
  assert_int_equal(f->done, 1);
  assert_false(f->called_inside);
  f->req = NULL;
  return f->err;
}

/* The stages seen, in order, without the repeats of FETCH. */
static void stages(fx *f, char *out, size_t cap) {
  static const char *names[] = {"fetch", "verify", "swap", "setup", "report"};
  out[0] = '\0';
  for (int i = 0; i < f->nevents; i++) {
    if (i > 0 && f->events[i].stage == f->events[i - 1].stage) continue;
    if (out[0]) strncat(out, ",", cap - strlen(out) - 1);
    strncat(out, names[f->events[i].stage], cap - strlen(out) - 1);
  }
}

static void assert_fetch_progress(fx *f, uint64_t size) {
  uint64_t last = 0;
  int fetches = 0;
  for (int i = 0; i < f->nevents; i++) {
    if (f->events[i].stage != MOL_PLUGIN_STAGE_FETCH) continue;
    fetches++;
    assert_true(f->events[i].bytes >= last);
    assert_true(f->events[i].total == size || f->events[i].total == 0);
    last = f->events[i].bytes;
  }
  assert_true(fetches >= 1);
  assert_int_equal(last, size);
}

static void assert_no_litter(fx *f) {
  DIR *d = opendir(f->plugins);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    assert_true(!strcmp(e->d_name, "demo") || !strncmp(e->d_name, ".setup-", 7));
  }
  closedir(d);
}

/* ---- tests ------------------------------------------------------------------------------- */

/* A direct URL: progress through every stage but the report (no platform), setup.sh run,
 * the content verified, the archive's own hash and size reported. */
static void test_url(void **state) {
  fx *f = *state;
  char hash[65], seen[128];
  demo_tarball(f, 1, 1, hash);
  serve(f, NULL);
  mol_plugin_install_opts o = opts(f, f->file_url, hash);
  assert_int_equal(install(f, &o), 0);
  assert_string_equal(f->msg, "");
  assert_non_null(strstr(f->dir, "/plugins/demo"));
  assert_string_equal(f->content, hash);
  assert_int_equal(strlen(f->archive), 64);
  assert_true(f->verified);
  assert_true(f->setup_ran);
  assert_int_equal(f->archive_bytes, f->body_len);
  assert_int_equal(f->files, 4);
  assert_true(tp_exists(f->plugins, "demo/only-v1.txt"));
  assert_true(tp_exists(f->plugins, "demo/setup-ran"));
  stages(f, seen, sizeof(seen));
  assert_string_equal(seen, "fetch,verify,swap,setup");
  assert_fetch_progress(f, f->body_len);
  assert_int_equal(f->srv.nreqs, 1);
  assert_int_equal(f->report_status, 0);
  assert_no_litter(f);
}

/* A direct URL with a platform configured: the archive's server never gets the token, the
 * platform gets the report with it. */
static void test_url_keeps_token_from_third_party(void **state) {
  fx *f = *state;
  char hash[65], seen[128];
  demo_tarball(f, 1, 0, hash);
  serve(f, NULL);
  mol_plugin_install_opts o = opts(f, f->file_url, hash);
  o.platform_url = f->base;
  o.workspace_id = WS;
  o.token = "tok-secret-123456";
  assert_int_equal(install(f, &o), 0);
  const tps_record *get = request_to(f, "GET", FILE_PATH);
  const tps_record *post = request_to(f, "POST", REPORT_PATH);
  assert_non_null(get);
  assert_non_null(post);
  assert_string_equal(get->auth, "");
  assert_string_equal(post->auth, "Bearer tok-secret-123456");
  assert_non_null(strstr(post->body, f->file_url)); /* the report names the source */
  assert_int_equal(f->report_status, 200);
  stages(f, seen, sizeof(seen));
  assert_string_equal(seen, "fetch,verify,swap,report");
}

/* The platform's route (no source): the token goes with the download, the X-Plugin-Sha256
 * header verifies it, and the report says local://demo. */
static void test_platform(void **state) {
  fx *f = *state;
  char hash[65], hdr[128];
  demo_tarball(f, 2, 0, hash);
  snprintf(hdr, sizeof(hdr), "X-Plugin-Sha256: %s\r\n", hash);
  serve(f, hdr);
  mol_plugin_install_opts o = opts(f, NULL, NULL);
  o.platform_url = f->base;
  o.workspace_id = WS;
  o.token = "tok-secret-123456";
  assert_int_equal(install(f, &o), 0);
  assert_true(f->verified);
  const tps_record *get = request_to(f, "GET", DL_PATH);
  assert_non_null(get);
  assert_string_equal(get->target, DL_PATH);
  assert_string_equal(get->auth, "Bearer tok-secret-123456");
  assert_non_null(strstr(request_to(f, "POST", REPORT_PATH)->body, "local://demo"));
  assert_true(tp_exists(f->plugins, "demo/only-v2.txt"));
}

/* A platform source (github://...) goes to the platform as ?source=; without a token the
 * bearer comes from the token file, as the platform client stores it. */
static void test_platform_source(void **state) {
  fx *f = *state;
  char hash[65];
  demo_tarball(f, 1, 0, hash);
  serve(f, NULL);
  tp_write(f->tmp, ".auth_token", "tok-from-file-123456\n");
  mol_plugin_install_opts o = opts(f, "github://acme/demo#v1", hash);
  o.platform_url = f->base;
  o.workspace_id = WS;
  o.token_dir = f->tmp;
  o.skip_report = 1;
  assert_int_equal(install(f, &o), 0);
  assert_int_equal(f->srv.nreqs, 1);
  assert_string_equal(f->srv.reqs[0].target, DL_PATH "?source=github://acme/demo%23v1");
  assert_string_equal(f->srv.reqs[0].auth, "Bearer tok-from-file-123456");
}

/* A local file, as a path and as file://: the archive hash is that of the file, the same as
 * when the file is downloaded. */
static void test_local_file(void **state) {
  fx *f = *state;
  char hash[65], seen[128], url_archive[65], file_url[1100];
  demo_tarball(f, 1, 0, hash);
  serve(f, NULL);
  mol_plugin_install_opts o = opts(f, f->file_url, hash);
  assert_int_equal(install(f, &o), 0);
  memcpy(url_archive, f->archive, sizeof(url_archive));

  o = opts(f, f->tgz, hash);
  assert_int_equal(install(f, &o), 0);
  assert_string_equal(f->archive, url_archive);
  assert_int_equal(f->archive_bytes, f->body_len);
  stages(f, seen, sizeof(seen));
  assert_string_equal(seen, "fetch,verify,swap");
  assert_fetch_progress(f, f->body_len);

  snprintf(file_url, sizeof(file_url), "file://%s", f->tgz);
  o = opts(f, file_url, hash);
  assert_int_equal(install(f, &o), 0);
  assert_string_equal(f->archive, url_archive);
  assert_int_equal(f->srv.nreqs, 1); /* the two local installs fetched nothing */
  assert_no_litter(f);
}

/* A direct URL's own X-Plugin-Sha256 header does not verify anything: without an expected
 * digest the install is refused, fail closed, and nothing is left behind. */
static void test_url_header_is_not_verification(void **state) {
  fx *f = *state;
  char hash[65], hdr[128];
  demo_tarball(f, 1, 0, hash);
  snprintf(hdr, sizeof(hdr), "X-Plugin-Sha256: %s\r\n", hash);
  serve(f, hdr);
  mol_plugin_install_opts o = opts(f, f->file_url, NULL);
  assert_int_equal(install(f, &o), MOL_EINVAL);
  assert_non_null(strstr(f->msg, "no expected sha256"));
  assert_string_equal(f->dir, "");
  assert_false(tp_exists(f->plugins, "demo"));
  assert_no_litter(f);

  o.allow_unverified = 1;
  assert_int_equal(install(f, &o), 0);
  assert_false(f->verified);
  assert_non_null(strstr(f->warnings, "WITHOUT verification"));
}

/* A mismatch leaves the previous version in place and never runs setup.sh. */
static void test_mismatch_keeps_previous(void **state) {
  fx *f = *state;
  char v1[65], v2[65];
  demo_tarball(f, 1, 0, v1);
  serve(f, NULL);
  mol_plugin_install_opts o = opts(f, f->tgz, v1);
  assert_int_equal(install(f, &o), 0);
  demo_tarball(f, 2, 1, v2);
  o = opts(f, f->tgz, v1); /* v2's archive, v1's digest */
  assert_int_equal(install(f, &o), MOL_PLUGIN_EMISMATCH);
  assert_non_null(strstr(f->msg, "sha256 mismatch"));
  assert_string_equal(f->content, v2);
  assert_false(f->setup_ran);
  assert_true(tp_exists(f->plugins, "demo/only-v1.txt"));
  assert_false(tp_exists(f->plugins, "demo/only-v2.txt"));
  assert_no_litter(f);
}

static void test_http_404_and_missing_file(void **state) {
  fx *f = *state;
  char hash[65], url[256];
  demo_tarball(f, 1, 0, hash);
  serve(f, NULL);
  snprintf(url, sizeof(url), "%s/files/nope.tgz", f->base);
  mol_plugin_install_opts o = opts(f, url, hash);
  assert_int_equal(install(f, &o), MOL_EHTTP);
  assert_non_null(strstr(f->msg, "404"));
  assert_non_null(strstr(f->msg, "/files/nope.tgz"));

  char *missing = tp_path(f->tmp, "missing.tgz");
  o = opts(f, missing, hash);
  assert_int_equal(install(f, &o), MOL_ENOENT);
  assert_non_null(strstr(f->msg, "missing.tgz"));
  free(missing);

  o = opts(f, f->tmp, hash); /* a directory is not an archive */
  assert_int_not_equal(install(f, &o), 0);
  assert_non_null(strstr(f->msg, "not a regular file"));
  assert_false(tp_exists(f->plugins, "demo"));
  assert_no_litter(f);
}

/* Refused at the call, before anything is touched: cb never fires. */
static void test_bad_arguments(void **state) {
  fx *f = *state;
  char hash[65];
  demo_tarball(f, 1, 0, hash);
  mol_plugin_install_opts base = opts(f, f->tgz, hash), o;
  const char *bad_names[] = {NULL, "", "../x", "a/b", ".hidden", "-x"};
  for (size_t i = 0; i < sizeof(bad_names) / sizeof(*bad_names); i++) {
    o = base;
    o.name = bad_names[i];
    assert_int_equal(mol_plugin_install(f->loop, &o, on_installed, f, NULL), MOL_EINVAL);
  }
  o = base;
  o.dir = NULL;
  assert_int_equal(mol_plugin_install(f->loop, &o, on_installed, f, NULL), MOL_EINVAL);
  o = base;
  o.dir = "";
  assert_int_equal(mol_plugin_install(f->loop, &o, on_installed, f, NULL), MOL_EINVAL);
  o = base;
  o.expected_sha256 = "abc";
  assert_int_equal(mol_plugin_install(f->loop, &o, on_installed, f, NULL), MOL_EINVAL);
  o = base;
  o.source = "github://acme/x"; /* needs the platform */
  assert_int_equal(mol_plugin_install(f->loop, &o, on_installed, f, NULL), MOL_EINVAL);
  o = base;
  o.source = NULL; /* the platform's copy, without a platform */
  assert_int_equal(mol_plugin_install(f->loop, &o, on_installed, f, NULL), MOL_EINVAL);
  o.platform_url = f->base; /* still no workspace */
  assert_int_equal(mol_plugin_install(f->loop, &o, on_installed, f, NULL), MOL_EINVAL);
  o.workspace_id = "../elsewhere"; /* it would be a path component of the token file */
  assert_int_equal(mol_plugin_install(f->loop, &o, on_installed, f, NULL), MOL_EINVAL);
  o = base;
  assert_int_equal(mol_plugin_install(NULL, &o, on_installed, f, NULL), MOL_EINVAL);
  assert_int_equal(mol_plugin_install(f->loop, NULL, on_installed, f, NULL), MOL_EINVAL);
  assert_int_equal(mol_plugin_install(f->loop, &o, NULL, f, NULL), MOL_EINVAL);
  mol_loop_run(f->loop, MOL_RUN_NOWAIT);
  assert_int_equal(f->done, 0);
  assert_false(tp_exists(f->tmp, "plugins"));
}

/* Canceled from the progress callback once bytes flow: MOL_ECANCELED, nothing installed. */
static void test_cancel_during_fetch(void **state) {
  fx *f = *state;
  big_tarball(f, 4 << 20);
  tps_route *r = serve(f, NULL);
  r->chunk = 64 << 10;
  r->tick_ms = 1;
  mol_plugin_install_opts o = opts(f, f->file_url, NULL);
  o.allow_unverified = 1;
  f->cancel_after_bytes = 1;
  assert_int_equal(install(f, &o), MOL_ECANCELED);
  assert_int_equal(f->cancels, 1);
  assert_false(tp_exists(f->plugins, "demo"));
  assert_no_litter(f);
}

int main(void) {
  setlocale(LC_ALL, "C.UTF-8");
  signal(SIGPIPE, SIG_IGN);
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_url),
      T(test_url_keeps_token_from_third_party),
      T(test_platform),
      T(test_platform_source),
      T(test_local_file),
      T(test_url_header_is_not_verification),
      T(test_mismatch_keeps_previous),
      T(test_http_404_and_missing_file),
      T(test_bad_arguments),
      T(test_cancel_during_fetch),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
