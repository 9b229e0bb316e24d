/* plugin_install_fixture.h - the install pipeline's test fixture: a loop, a raw libuv server
 * (test_plugin_server.h) serving generated demo tarballs on loopback, an HTTP client, a
 * temporary plugins dir, and a blocking install() that returns the pipeline's result. Shared by
 * the install tests; everything is static. */
#ifndef PLUGIN_INSTALL_FIXTURE_H
#define PLUGIN_INSTALL_FIXTURE_H

/* Each test uses a different subset of these helpers. */
#pragma GCC diagnostic ignored "-Wunused-function"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>

#include "molecule.h"
#include "test_plugin_server.h"
#include "unit/test_plugin_support.h"

#define WS "7f1c2a9e-3b4d-4e5f-8a6b-1c2d3e4f5a6b"
#define DL_PATH "/workspaces/" WS "/plugins/demo/download"
#define REPORT_PATH "/workspaces/" WS "/plugins"

typedef struct {
  uv_loop_t loop;
  tps_server srv;
  mol_http_client *http;
  char *tmp, *plugins, *tgz;
  char url[64];
  char *bodies[8];
  int nbodies;
  /* last result */
  int done, err;
  char msg[1024], content[65], archive[65];
  int verified, setup_ran, report_status, report_err, nwarnings;
  char warnings[2048];
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof(*f));
  uv_loop_init(&f->loop);
  assert_int_equal(tps_start(&f->srv, &f->loop), 0);
  assert_int_equal(mol_http_client_new(&f->loop, NULL, &f->http), 0);
  f->tmp = tp_mkdtemp();
  f->plugins = tp_path(f->tmp, "plugins");
  f->tgz = tp_path(f->tmp, "p.tgz");
  snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d/", f->srv.port);
  *state = f;
  return 0;
}

static void on_closed(void *arg) { (void)arg; }

static int teardown(void **state) {
  fx *f = *state;
  mol_http_client_close(f->http, on_closed, NULL);
  tps_stop(&f->srv);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  mol_plugin__rmtree(f->tmp);
  for (int i = 0; i < f->nbodies; i++) free(f->bodies[i]);
  free(f->tmp);
  free(f->plugins);
  free(f->tgz);
  free(f);
  return 0;
}

/* Builds the demo plugin (variant v) and serves it; returns its content hash. */
static void demo_tarball(fx *f, int v, int with_setup, char hash[65]) {
  tp_tar t;
  tp_tar_open(&t, f->tgz, 1);
  tp_tar_file(&t, "plugin.yaml", "name: demo\n");
  tp_tar_file(&t, "rules/x.md", v == 1 ? "rule one\n" : "rule two\n");
  if (v == 1) tp_tar_file(&t, "only-v1.txt", "v1\n");
  else tp_tar_file(&t, "only-v2.txt", "v2\n");
  if (with_setup) {
    const char *sh = "echo out; echo err >&2; touch setup-ran; env > env.txt\n";
    tp_tar_entry(&t, "setup.sh", AE_IFREG, 0644, sh, strlen(sh), NULL, 0);
  }
  tp_tar_close(&t);
  char *d = tp_mkdtemp(), msg[MOL_PLUGIN_MSG_MAX];
  mol_plugin_extract_result xr;
  tp_extract(f->tgz, d, NULL, &xr);
  mol_plugin__extract_result_free(&xr);
  assert_int_equal(mol_plugin_hash_dir(d, hash, msg), 0);
  mol_plugin__rmtree(d);
  free(d);
}

static tps_route *serve_file(fx *f, const char *extra_headers) {
  size_t len = 0;
  char *body = tps_slurp(f->tgz, &len);
  f->bodies[f->nbodies++] = body;
  f->srv.nroutes = 0;
  tps_route *r = tps_add(&f->srv, "GET", DL_PATH, 200, body, len);
  r->extra_headers = extra_headers;
  tps_add(&f->srv, "POST", REPORT_PATH, 200, "{\"status\":\"installed\"}", 22);
  return r;
}

static void on_installed(int err, const mol_plugin_pipeline_result *res, void *arg) {
  fx *f = arg;
  f->done++;
  f->err = err;
  snprintf(f->msg, sizeof(f->msg), "%s", res->message ? res->message : "");
  memcpy(f->content, res->content_sha256, 65);
  memcpy(f->archive, res->archive_sha256, 65);
  f->verified = res->verified;
  f->setup_ran = res->setup_ran;
  f->report_status = res->report_status;
  f->report_err = res->report_err;
  f->nwarnings = (int)res->nwarnings;
  f->warnings[0] = '\0';
  for (size_t i = 0; i < res->nwarnings; i++) {
    strncat(f->warnings, res->warnings[i], sizeof(f->warnings) - strlen(f->warnings) - 2);
    strcat(f->warnings, "\n");
  }
}

static mol_plugin_pipeline_opts base_opts(fx *f, const char *sha) {
  mol_plugin_pipeline_opts o = {.platform_url = f->url, .workspace_id = WS, .name = "demo",
                               .plugins_dir = f->plugins, .auth_token = "tok-123456",
                               .expected_sha256 = sha};
  return o;
}

static int install(fx *f, const mol_plugin_pipeline_opts *o) {
  f->done = 0;
  f->srv.nreqs = 0;
  assert_int_equal(mol_plugin_pipeline_start(&f->loop, f->http, o, on_installed, f, NULL), 0);
  while (!f->done) uv_run(&f->loop, UV_RUN_ONCE);
  assert_int_equal(f->done, 1);
  return f->err;
}

/* Nothing but finished plugins (and setup logs) in the plugins dir. */
static void assert_no_litter(fx *f) {
  DIR *d = opendir(f->plugins);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    if (!strncmp(e->d_name, ".setup-", 7)) continue;
    if (e->d_name[0] == '.') fail_msg("litter left behind: %s", e->d_name);
  }
  closedir(d);
}

#endif
