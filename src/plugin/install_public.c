/* install_public.c - mol_plugin_install, the public API (molecule/plugin.h), over the install
 * pipeline (install.c): picks the archive's origin from the source's form, reads the
 * platform token, owns an HTTP client for the install, and copies the result so the
 * callback can fire after that client has closed - the install then holds nothing. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "molecule.h"
#include "molecule/uv.h"
#include "plugin/plugin.h"

struct mol_plugin_install_req {
  mol_http_client *http;
  mol_plugin_pipeline *pipe;   /* NULL once the pipeline completed */
  mol_plugin_install_cb cb;
  void *arg;
  mol_plugin_progress_cb on_progress;
  void *progress_arg;
  mol_plugin_progress last;    /* bytes and total carry into the later stages' reports */
  int err, canceled;
  /* The result, copied out of the pipeline's (freed when its callback returns). */
  mol_plugin_result res;
  char *dir, *message, *setup_log, **warnings;
  char archive_sha256[MOL_SHA256_HEX_LEN + 1], content_sha256[MOL_SHA256_HEX_LEN + 1];
};

/* ---- where the archive comes from -------------------------------------------------------- */

typedef enum { FROM_PLATFORM, FROM_URL, FROM_FILE } origin_kind;

/* "scheme://" with an RFC 3986 scheme: the start of a URL, not of a file name. */
static int has_scheme(const char *s) {
  const char *p = s;
  if (!isalpha((unsigned char)*p)) return 0;
  while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.') p++;
  return strncmp(p, "://", 3) == 0;
}

/* Classifies source; *path is the local file for FROM_FILE. -1: unusable. */
static int classify(const char *source, const char **path) {
  if (!source) return FROM_PLATFORM;
  if (!strncasecmp(source, "http://", 7) || !strncasecmp(source, "https://", 8)) return FROM_URL;
  if (!strncasecmp(source, "file://", 7)) {
    *path = source + 7;
    return (*path)[0] == '/' ? FROM_FILE : -1; /* file:///abs only; no host part */
  }
  if (has_scheme(source)) return FROM_PLATFORM;
  *path = source;
  return *source ? FROM_FILE : -1;
}

/* ---- the platform's credentials ---------------------------------------------------------- */

/* The token as the platform client stores it (<dir>/.auth_token, whitespace around dropped);
 * NULL when there is none. */
static char *read_token(const char *token_dir, const char *workspace_id) {
  mol_buf path = MOL_BUF_INIT;
  const char *home = getenv("HOME");
  if (token_dir) (void)mol_buf_printf(&path, "%s/.auth_token", token_dir);
  else if (home) (void)mol_buf_printf(&path, "%s/.molecule/%s/.auth_token", home, workspace_id);
  FILE *f = path.data ? fopen(path.data, "r") : NULL;
  mol_buf_free(&path);
  if (!f) return NULL;
  char buf[4096];
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  while (n > 0 && isspace((unsigned char)buf[n - 1])) n--;
  buf[n] = '\0';
  size_t skip = strspn(buf, " \t\r\n");
  return buf[skip] ? strdup(buf + skip) : NULL;
}

/* Origin as the platform client sends it: the platform URL reduced to scheme://host[:port]. */
static char *origin_of(const char *url) {
  const char *host = strstr(url, "://");
  if (!host) return strdup(url);
  size_t n = (size_t)(host + 3 - url) + strcspn(host + 3, "/?#");
  return strndup(url, n);
}

/* ---- completion -------------------------------------------------------------------------- */

static void req_free(mol_plugin_install_req *r) {
  for (size_t i = 0; r->warnings && i < r->res.nwarnings; i++) free(r->warnings[i]);
  free(r->warnings);
  free(r->dir);
  free(r->message);
  free(r->setup_log);
  free(r);
}

static void on_http_closed(void *arg) {
  mol_plugin_install_req *r = arg;
  r->cb(r->err, &r->res, r->arg);
  req_free(r);
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* Copies what the caller gets; on a failed copy the lines are dropped, the outcome is not. */
static void copy_result(mol_plugin_install_req *r, const mol_plugin_pipeline_result *p) {
  mol_plugin_result *res = &r->res;
  r->dir = dup_or_null(p->dir);
  r->message = dup_or_null(p->message);
  r->setup_log = dup_or_null(p->setup_log);
  memcpy(r->archive_sha256, p->archive_sha256, sizeof(r->archive_sha256));
  memcpy(r->content_sha256, p->content_sha256, sizeof(r->content_sha256));
  r->warnings = p->nwarnings ? calloc(p->nwarnings, sizeof(char *)) : NULL;
  for (size_t i = 0; r->warnings && i < p->nwarnings; i++)
    if ((r->warnings[res->nwarnings] = strdup(p->warnings[i])) != NULL) res->nwarnings++;
  res->dir = r->dir;
  res->message = r->message ? r->message : (p->message ? "out of memory" : NULL);
  res->archive_sha256 = r->archive_sha256;
  res->content_sha256 = r->content_sha256;
  res->verified = p->verified;
  res->manifest_verified = p->manifest_verified;
  res->archive_bytes = p->archive_bytes;
  res->content_bytes = p->content_bytes;
  res->files = p->files;
  res->warnings = (const char *const *)r->warnings;
  res->setup_ran = p->setup_ran;
  res->setup_exit_status = p->setup.exit_status;
  res->setup_signal = p->setup.term_signal;
  res->setup_timed_out = p->setup.err == MOL_ETIMEDOUT;
  res->setup_log = r->setup_log;
  res->report_status = p->report_status;
  res->report_err = p->report_err;
}

static void on_pipeline_done(int err, const mol_plugin_pipeline_result *p, void *arg) {
  mol_plugin_install_req *r = arg;
  r->pipe = NULL;
  r->err = err;
  copy_result(r, p);
  mol_http_client_close(r->http, on_http_closed, r);
}

/* ---- progress ---------------------------------------------------------------------------- */

static void report(mol_plugin_install_req *r) {
  if (r->on_progress) r->on_progress(&r->last, r->progress_arg);
}

static void on_fetch(uint64_t received, uint64_t total, void *arg) {
  mol_plugin_install_req *r = arg;
  r->last = (mol_plugin_progress){MOL_PLUGIN_STAGE_FETCH, received, total};
  report(r);
}

static void on_stage(mol_plugin_stage stage, void *arg) {
  mol_plugin_install_req *r = arg;
  r->last.stage = stage;
  report(r);
}

/* ---- start, cancel ----------------------------------------------------------------------- */

typedef struct {       /* what start() allocates for the pipeline's options */
  char *token, *origin;
  mol_http_header headers[2];
} creds;

/* The workspace id becomes a path component of the token file: checked before it is used. */
static int valid_workspace(const char *id) {
  return id && *id && id[0] != '.' && !strchr(id, '/');
}

/* The pipeline's options from the public ones; 0 or MOL_EINVAL / MOL_ENOMEM. */
static int pipeline_opts(const mol_plugin_install_opts *o, mol_plugin_pipeline_opts *p,
                         creds *c) {
  const char *path = NULL;
  int kind = classify(o->source, &path);
  int platform = o->platform_url && *o->platform_url && o->workspace_id;
  if (kind < 0 || (kind == FROM_PLATFORM && !platform) || !o->dir || !*o->dir ||
      (o->workspace_id && !valid_workspace(o->workspace_id)))
    return MOL_EINVAL;
  *p = (mol_plugin_pipeline_opts){
      .name = o->name, .source = o->source, .plugins_dir = o->dir,
      .archive_url = kind == FROM_URL ? o->source : NULL,
      .archive_path = kind == FROM_FILE ? path : NULL,
      .expected_sha256 = o->expected_sha256, .allow_unverified = o->allow_unverified,
      .trust_manifest = o->trust_manifest,
      .skip_setup = o->skip_setup, .skip_report = o->skip_report,
      .setup_timeout_ms = o->setup_timeout_ms, .setup_env = o->setup_env,
      .max_download_bytes = o->max_archive_bytes, .idle_timeout_ms = o->idle_timeout_ms,
      .limits = {o->max_total_bytes, o->max_entries, o->max_ratio}};
  if (!platform) return 0;
  p->platform_url = o->platform_url;
  p->workspace_id = o->workspace_id;
  c->token = o->token ? strdup(o->token) : read_token(o->token_dir, o->workspace_id);
  c->origin = origin_of(o->platform_url);
  if ((o->token && !c->token) || !c->origin) return MOL_ENOMEM;
  p->auth_token = c->token;
  c->headers[0] = (mol_http_header){"Origin", c->origin};
  c->headers[1] = (mol_http_header){"X-Molecule-Org-Id", o->org_id};
  p->headers = c->headers;
  p->nheaders = o->org_id && *o->org_id ? 2 : 1;
  return 0;
}

static int valid_digest(const char *sha) {
  char tmp[MOL_SHA256_HEX_LEN + 1];
  return !sha || mol_plugin_digest_parse(sha, tmp) == 0;
}

int mol_plugin_install(mol_loop *loop, const mol_plugin_install_opts *o,
                       mol_plugin_install_cb cb, void *arg, mol_plugin_install_req **out) {
  if (!loop || !o || !cb || !mol_plugin_name_valid(o->name) ||
      !valid_digest(o->expected_sha256))
    return MOL_EINVAL;
  mol_plugin_pipeline_opts po;
  creds c = {0};
  mol_plugin_install_req *r = NULL;
  int rc = pipeline_opts(o, &po, &c);
  if (!rc && !(r = calloc(1, sizeof(*r)))) rc = MOL_ENOMEM;
  if (!rc) {
    *r = (mol_plugin_install_req){.cb = cb, .arg = arg, .on_progress = o->on_progress,
                                  .progress_arg = o->progress_arg};
    po.on_progress = on_fetch;
    po.on_stage = on_stage;
    po.progress_arg = r;
    rc = mol_http_client_new(mol_loop_uv(loop), NULL, &r->http);
  }
  /* The pipeline copies its options: the credentials are ours to free either way. */
  if (!rc) rc = mol_plugin_pipeline_start(mol_loop_uv(loop), r->http, &po, on_pipeline_done, r,
                                          &r->pipe);
  free(c.token);
  free(c.origin);
  if (rc) {
    /* Nothing was sent: the client closes on its own and the request goes with it. */
    if (r && r->http) mol_http_client_close(r->http, free, r);
    else free(r);
    return rc;
  }
  if (out) *out = r;
  return 0;
}

void mol_plugin_install_cancel(mol_plugin_install_req *r) {
  if (!r || !r->pipe || r->canceled) return;
  r->canceled = 1;
  mol_plugin_pipeline_cancel(r->pipe);
}
