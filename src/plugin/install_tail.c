/* install_tail.c - the install pipeline after the swap (install.c has the steps before it):
 * setup.sh in its own process group with a timeout and a captured log, then the report to
 * the platform, whose failure is a warning, never a failed install. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/log.h"
#include "molecule.h"
#include "plugin/install_int.h"

enum { REPORT_TIMEOUT_MS = 10000 };

static void send_report(mol_plugin_pipeline *r);

static void on_setup_done(const mol_plugin_setup_result *res, void *arg) {
  mol_plugin_pipeline *r = arg;
  r->res.setup = *res;
  char line[MOL_PLUGIN_MSG_MAX];
  if (res->err == MOL_ETIMEDOUT)
    mol_plugin__msgf(line, "setup.sh timed out; its process group was killed (log: %s)",
             r->log_path);
  else if (res->term_signal || res->exit_status)
    mol_plugin__msgf(line, "setup.sh failed (%s %d; log: %s)",
             res->term_signal ? "signal" : "exit status",
             res->term_signal ? res->term_signal : res->exit_status, r->log_path);
  else line[0] = '\0';
  if (line[0]) mol_plugin__add_warning(r, line);
  send_report(r);
}

void mol_plugin__run_setup(mol_plugin_pipeline *r) {
  char script[MOL_PLUGIN__PATH_CAP + 16];
  struct stat st;
  snprintf(script, sizeof(script), "%s/setup.sh", r->target);
  if (r->skip_setup || r->canceled || lstat(script, &st) != 0 || !S_ISREG(st.st_mode)) {
    send_report(r);
    return;
  }
  mol_plugin_setup_opts so = {.dir = r->target, .log_path = r->log_path,
                              .timeout_ms = r->setup_timeout_ms,
                              .env = (const char *const *)r->setup_env};
  mol_plugin__stage(r, MOL_PLUGIN_STAGE_SETUP);
  int rc = mol_plugin__setup_run(r->loop, &so, on_setup_done, r);
  if (rc) {
    char line[MOL_PLUGIN_MSG_MAX];
    snprintf(line, sizeof(line), "setup.sh could not be started: %s", mol_strerror(rc));
    mol_plugin__add_warning(r, line);
    send_report(r);
    return;
  }
  r->res.setup_ran = 1;
  r->res.setup_log = r->log_path;
}

static void on_report_done(mol_http_request *q, int err, const mol_http_response *resp, void *arg) {
  mol_plugin_pipeline *r = arg;
  (void)q;
  char line[MOL_PLUGIN_MSG_MAX];
  r->res.report_status = resp ? resp->status : 0;
  if (!err && resp->status >= 200 && resp->status <= 299) {
    mol_plugin__finish(r);
    return;
  }
  if (!err && resp->status == 503) {
    /* What the platform answers for external workspaces (no container): expected. */
    mol_logi("plugin", "%s: install report: HTTP 503 (no container for this workspace)", r->name);
    mol_plugin__finish(r);
    return;
  }
  r->res.report_err = err ? err : MOL_EHTTP;
  if (err) snprintf(line, sizeof(line), "install report POST failed: %s", mol_strerror(err));
  else snprintf(line, sizeof(line), "install report POST answered HTTP %d: %.200s", resp->status,
                resp->body ? resp->body : "");
  mol_plugin__add_warning(r, line);
  mol_plugin__finish(r);
}

static void send_report(mol_plugin_pipeline *r) {
  if (r->skip_report || r->canceled) {
    mol_plugin__finish(r);
    return;
  }
  mol_buf url = MOL_BUF_INIT, src = MOL_BUF_INIT;
  (void)mol_buf_printf(&url, "%s/workspaces/%s/plugins", r->platform_url, r->workspace_id);
  if (r->source) (void)mol_buf_append_str(&src, r->source);
  else (void)mol_buf_printf(&src, "local://%s", r->name);
  json_t *body = json_pack("{s:s}", "source", src.data ? src.data : "");
  char *text = body ? mol_json_dump(body) : NULL;
  json_decref(body);
  mol_http_header *h = calloc(r->nheaders + 1, sizeof(*h));
  int rc = (!url.data || !text || !h) ? MOL_ENOMEM : 0;
  if (!rc) {
    memcpy(h, r->headers, r->nheaders * sizeof(*h));
    h[r->nheaders] = (mol_http_header){"Content-Type", "application/json"};
    mol_http_request_opts o = {.method = "POST", .url = url.data, .headers = h,
                               .nheaders = r->nheaders + 1, .body = text,
                               .body_len = strlen(text), .total_timeout_ms = REPORT_TIMEOUT_MS};
    mol_plugin__stage(r, MOL_PLUGIN_STAGE_REPORT);
    rc = mol_http_request_send(r->http, &o, on_report_done, r, NULL);
  }
  free(h);
  free(text);
  mol_buf_free(&url);
  mol_buf_free(&src);
  if (rc) {
    r->res.report_err = rc;
    char line[MOL_PLUGIN_MSG_MAX];
    snprintf(line, sizeof(line), "install report POST not sent: %s", mol_strerror(rc));
    mol_plugin__add_warning(r, line);
    mol_plugin__finish(r);
  }
}

