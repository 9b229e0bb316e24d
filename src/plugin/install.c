/* install.c - the install pipeline on one loop:
 *
 *   prepare (worker)   lock the plugins dir, recover leftovers, make the staging dir and the
 *                      temporary archive file
 *   download (loop)    GET …/download: chunks → pipe; sha256 of the stream
 *   extract (worker)   concurrently, libarchive reads the pipe into the staging dir, and the
 *                      bytes are teed into the temporary archive file
 *   verify (loop)      content hash of what was extracted vs the out-of-band digest
 *   commit (worker)    drop the temp file, swap staging in atomically, delete the old version
 *   setup.sh (loop)    own process group, timeout, captured log
 *   report (loop)      POST /workspaces/:id/plugins, status checked
 *
 * Any failure before commit removes the staging dir and the temp file and leaves the previous
 * version untouched. The lock is held to the end, so two installs into one directory never
 * interleave and recovery never deletes a live install's staging dir. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/log.h"
#include "molecule.h"
#include "plugin/plugin.h"

enum { PATH_CAP = 4096, REPORT_TIMEOUT_MS = 10000 };

struct mol_plugin_install_req {
  uv_loop_t *loop;
  mol_http_client *http;
  mol_plugin_install_cb cb;
  void *arg;
  /* copied options */
  char *platform_url, *workspace_id, *name, *source, *plugins_dir, *auth_token;
  mol_http_header *headers;  /* Authorization + caller's extras, all copied */
  size_t nheaders;
  char **setup_env;
  char expected[MOL_SHA256_HEX_LEN + 1];
  int allow_unverified, skip_setup, skip_report;
  unsigned setup_timeout_ms, idle_timeout_ms;
  uint64_t max_download;
  mol_plugin_limits limits;
  void (*on_progress)(uint64_t, uint64_t, void *);
  void *progress_arg;
  /* state */
  char dir[PATH_CAP], staging[PATH_CAP], tgz[PATH_CAP], target[PATH_CAP], log_path[PATH_CAP];
  int lock_fd, tgz_fd, pipe_rd;
  uv_work_t work, extract_work;
  mol_plugin_download *dl;
  int dl_done, extracting, extract_done, swapped, canceled, recovered;
  mol_plugin_download_result dlres;
  mol_plugin_extract_result xres;
  int err;
  char msg[MOL_PLUGIN_MSG_MAX];
  char **warnings;
  size_t nwarnings;
  mol_plugin_result res;
};

static void finish(mol_plugin_install_req *r);
static void cleanup_and_fail(mol_plugin_install_req *r);
static void run_setup(mol_plugin_install_req *r);
static void send_report(mol_plugin_install_req *r);

static int set_err(mol_plugin_install_req *r, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int set_err(mol_plugin_install_req *r, int err, const char *fmt, ...) {
  if (r->err) return r->err;
  r->err = err;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
  va_end(ap);
  return err;
}

static void add_warning(mol_plugin_install_req *r, const char *line) {
  mol_logw("plugin", "%s: %s", r->name, line);
  char **w = realloc(r->warnings, (r->nwarnings + 1) * sizeof(*w));
  if (!w) return;
  r->warnings = w;
  if ((w[r->nwarnings] = strdup(line)) != NULL) r->nwarnings++;
}

/* ---- options ----------------------------------------------------------------------------- */

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static int copy_headers(mol_plugin_install_req *r, const mol_plugin_install_opts *o) {
  r->headers = calloc(o->nheaders + 2, sizeof(*r->headers));
  if (!r->headers) return MOL_ENOMEM;
  if (o->auth_token) {
    mol_buf b = MOL_BUF_INIT;
    if (mol_buf_printf(&b, "Bearer %s", o->auth_token)) return MOL_ENOMEM;
    r->headers[0].name = strdup("Authorization");
    r->headers[0].value = mol_buf_steal(&b);
    r->nheaders = 1;
  }
  for (size_t i = 0; i < o->nheaders; i++, r->nheaders++) {
    r->headers[r->nheaders].name = strdup(o->headers[i].name);
    r->headers[r->nheaders].value = strdup(o->headers[i].value);
  }
  for (size_t i = 0; i < r->nheaders; i++)
    if (!r->headers[i].name || !r->headers[i].value) return MOL_ENOMEM;
  return 0;
}

static int copy_env(mol_plugin_install_req *r, const char *const *env) {
  size_t n = 0;
  while (env && env[n]) n++;
  r->setup_env = calloc(n + 1, sizeof(char *));
  if (!r->setup_env) return MOL_ENOMEM;
  for (size_t i = 0; i < n; i++)
    if (!(r->setup_env[i] = strdup(env[i]))) return MOL_ENOMEM;
  return 0;
}

static void free_req(mol_plugin_install_req *r) {
  for (size_t i = 0; i < r->nheaders; i++) {
    free((char *)r->headers[i].name);
    free((char *)r->headers[i].value);
  }
  free(r->headers);
  for (char **e = r->setup_env; e && *e; e++) free(*e);
  free(r->setup_env);
  for (size_t i = 0; i < r->nwarnings; i++) free(r->warnings[i]);
  free(r->warnings);
  mol_plugin__extract_result_free(&r->xres);
  free(r->platform_url);
  free(r->workspace_id);
  free(r->name);
  free(r->source);
  free(r->plugins_dir);
  free(r->auth_token);
  free(r);
}

static int copy_opts(mol_plugin_install_req *r, const mol_plugin_install_opts *o) {
  r->platform_url = strdup(o->platform_url);
  r->workspace_id = strdup(o->workspace_id);
  r->name = strdup(o->name);
  r->source = dup_or_null(o->source);
  r->plugins_dir = strdup(o->plugins_dir);
  r->auth_token = dup_or_null(o->auth_token);
  if (!r->platform_url || !r->workspace_id || !r->name || !r->plugins_dir ||
      (o->source && !r->source) || (o->auth_token && !r->auth_token))
    return MOL_ENOMEM;
  size_t n = strlen(r->platform_url);
  while (n > 0 && r->platform_url[n - 1] == '/') r->platform_url[--n] = '\0';
  r->allow_unverified = o->allow_unverified;
  r->skip_setup = o->skip_setup;
  r->skip_report = o->skip_report;
  r->setup_timeout_ms = o->setup_timeout_ms;
  r->idle_timeout_ms = o->idle_timeout_ms;
  r->max_download = o->max_download_bytes;
  r->limits = o->limits;
  r->on_progress = o->on_progress;
  r->progress_arg = o->progress_arg;
  int rc = copy_headers(r, o);
  return rc ? rc : copy_env(r, o->setup_env);
}

/* ---- prepare (worker) -------------------------------------------------------------------- */

static void prepare_work(uv_work_t *w) {
  mol_plugin_install_req *r = w->data;
  r->lock_fd = mol_plugin__lock(r->plugins_dir);
  if (r->lock_fd < 0) {
    int e = r->lock_fd;
    set_err(r, e, "%s: %s", r->plugins_dir,
            e == MOL_EBUSY ? "another plugin install or removal is running there" : mol_strerror(e));
    return;
  }
  if (!realpath(r->plugins_dir, r->dir)) {
    set_err(r, -errno, "%s: %s", r->plugins_dir, strerror(errno));
    return;
  }
  r->recovered = mol_plugin__recover_locked(r->dir);  /* logged on the loop thread */
  char hex[9];
  if (mol_random_hex(hex, 4) != 0) {
    set_err(r, MOL_EIO, "no randomness for the staging name");
    return;
  }
  if (mol_plugin_pathf(r->staging, "%s/.staging-%s-%s", r->dir, r->name, hex) ||
      mol_plugin_pathf(r->tgz, "%s.tgz", r->staging) ||
      mol_plugin_pathf(r->target, "%s/%s", r->dir, r->name) ||
      mol_plugin_pathf(r->log_path, "%s/.setup-%s.log", r->dir, r->name)) {
    set_err(r, -ENAMETOOLONG, "%s: path too long", r->dir);
    r->staging[0] = r->tgz[0] = '\0';
    return;
  }
  if (mkdir(r->staging, 0755) != 0) {
    set_err(r, -errno, "creating %s: %s", r->staging, strerror(errno));
    return;
  }
  r->tgz_fd = open(r->tgz, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (r->tgz_fd < 0) set_err(r, -errno, "creating %s: %s", r->tgz, strerror(errno));
}

/* ---- download + extract ------------------------------------------------------------------ */

static void extract_work(uv_work_t *w) {
  mol_plugin_install_req *r = w->data;
  mol_plugin__extract_fd(r->pipe_rd, r->tgz_fd, r->staging, &r->limits, &r->xres);
  close(r->pipe_rd);
}

static void verify(mol_plugin_install_req *r);

static void after_extract(uv_work_t *w, int status) {
  mol_plugin_install_req *r = w->data;
  (void)status;  /* never cancelled: uv_cancel is not used on it */
  r->extract_done = 1;
  for (size_t i = 0; i < r->xres.nwarnings; i++) add_warning(r, r->xres.warnings[i]);
  if (r->dl_done) verify(r);
}

static int on_dl_start(int pipe_rd, void *arg) {
  mol_plugin_install_req *r = arg;
  r->pipe_rd = pipe_rd;
  r->extract_work.data = r;
  int rc = uv_queue_work(r->loop, &r->extract_work, extract_work, after_extract);
  if (rc) {
    close(pipe_rd);
    return rc;
  }
  r->extracting = 1;
  return 0;
}

static void on_dl_progress(uint64_t received, uint64_t total, void *arg) {
  mol_plugin_install_req *r = arg;
  if (r->on_progress) r->on_progress(received, total, r->progress_arg);
}

static void on_dl_done(const mol_plugin_download_result *res, void *arg) {
  mol_plugin_install_req *r = arg;
  r->dl = NULL;
  r->dl_done = 1;
  r->dlres = *res;
  if (!r->extracting || r->extract_done) verify(r);
}

/* Characters that would change the query's structure are escaped; ':' and '/' are kept so a
 * source reads "source=github://acme/x" on the wire, as upstream sends it. */
static int append_query_value(mol_buf *b, const char *v) {
  int rc = 0;
  for (const unsigned char *p = (const unsigned char *)v; !rc && *p; p++) {
    if (*p <= 0x20 || *p >= 0x7f || strchr("&#+%\"<>\\^`{|}", *p)) rc = mol_buf_printf(b, "%%%02X", *p);
    else rc = mol_buf_append(b, p, 1);
  }
  return rc;
}

static void start_download(mol_plugin_install_req *r) {
  mol_buf url = MOL_BUF_INIT;
  int rc = mol_buf_printf(&url, "%s/workspaces/%s/plugins/%s/download", r->platform_url,
                          r->workspace_id, r->name);
  if (!rc && r->source) rc = mol_buf_append_str(&url, "?source=");
  if (!rc && r->source) rc = append_query_value(&url, r->source);
  mol_plugin_download_opts o = {.url = url.data, .headers = r->headers, .nheaders = r->nheaders,
                                .max_bytes = r->max_download,
                                .idle_timeout_ms = r->idle_timeout_ms, .on_start = on_dl_start,
                                .on_progress = on_dl_progress, .on_done = on_dl_done, .arg = r};
  if (!rc) rc = mol_plugin__download_start(r->loop, r->http, &o, &r->dl);
  if (rc) set_err(r, rc, "GET %s: %s", url.data ? url.data : "?", mol_strerror(rc));
  mol_buf_free(&url);
  if (rc) cleanup_and_fail(r);
}

static void after_prepare(uv_work_t *w, int status) {
  mol_plugin_install_req *r = w->data;
  (void)status;
  if (r->recovered > 0)
    mol_logi("plugin", "removed %d leftover(s) of interrupted installs in %s", r->recovered, r->dir);
  if (!r->err && r->canceled) set_err(r, MOL_ECANCELED, "install of %s cancelled", r->name);
  if (r->err) cleanup_and_fail(r);
  else start_download(r);
}

/* ---- verify, commit ---------------------------------------------------------------------- */

static int pick_expected(mol_plugin_install_req *r, const char **expected) {
  const char *hdr = r->dlres.header_sha256[0] ? r->dlres.header_sha256 : NULL;
  const char *arg = r->expected[0] ? r->expected : NULL;
  if (arg && hdr && strcmp(arg, hdr) != 0)
    return set_err(r, MOL_PLUGIN_EMISMATCH,
                   "plugin %s: expected sha256 %s but the platform's X-Plugin-Sha256 says %s; "
                   "the previous version is untouched and setup.sh was NOT run", r->name, arg, hdr);
  *expected = arg ? arg : hdr;
  if (*expected || r->allow_unverified) return 0;
  return set_err(r, MOL_EINVAL,
                 "plugin %s: no expected sha256 (pass one, or have the platform send "
                 "X-Plugin-Sha256); refusing an unverified install (content sha256 is %s)",
                 r->name, r->xres.content_sha256);
}

static void commit_work(uv_work_t *w) {
  mol_plugin_install_req *r = w->data;
  close(r->tgz_fd);
  r->tgz_fd = -1;
  (void)unlink(r->tgz);
  char msg[MOL_PLUGIN_MSG_MAX] = "";
  int rc = mol_plugin__swap_in(r->dir, r->name, r->staging, msg);
  if (rc) set_err(r, rc, "%s", msg);
  else r->swapped = 1;
}

static void after_commit(uv_work_t *w, int status) {
  mol_plugin_install_req *r = w->data;
  (void)status;
  if (r->err) {
    cleanup_and_fail(r);
    return;
  }
  mol_logi("plugin", "installed %s in %s (content sha256 %s%s)", r->name, r->target,
           r->xres.content_sha256, r->res.verified ? ", verified" : ", NOT verified");
  run_setup(r);
}

static void verify(mol_plugin_install_req *r) {
  const char *expected = NULL;
  if (r->dlres.err) set_err(r, r->dlres.err, "%s", r->dlres.msg);
  else if (r->canceled) set_err(r, MOL_ECANCELED, "install of %s cancelled", r->name);
  else if (r->xres.err) set_err(r, r->xres.err, "plugin %s: %s", r->name, r->xres.msg);
  else if (!pick_expected(r, &expected) && expected &&
           strcmp(expected, r->xres.content_sha256) != 0)
    set_err(r, MOL_PLUGIN_EMISMATCH,
            "plugin %s sha256 mismatch - expected %s, got %s; the previous version is "
            "untouched and setup.sh was NOT run", r->name, expected, r->xres.content_sha256);
  if (r->err) {
    cleanup_and_fail(r);
    return;
  }
  r->res.verified = expected != NULL;
  if (!expected) add_warning(r, "installed WITHOUT verification: no expected sha256 was given");
  r->work.data = r;
  int rc = uv_queue_work(r->loop, &r->work, commit_work, after_commit);
  if (rc) {
    set_err(r, rc, "queueing the swap: %s", mol_strerror(rc));
    cleanup_and_fail(r);
  }
}

/* ---- failure cleanup (worker) ------------------------------------------------------------ */

static void cleanup_work(uv_work_t *w) {
  mol_plugin_install_req *r = w->data;
  if (r->tgz_fd >= 0) close(r->tgz_fd);
  r->tgz_fd = -1;
  if (r->tgz[0]) (void)unlink(r->tgz);
  if (r->staging[0] && !r->swapped) (void)mol_plugin__rmtree(r->staging);
}

static void after_cleanup(uv_work_t *w, int status) {
  (void)status;
  finish(w->data);
}

static void cleanup_and_fail(mol_plugin_install_req *r) {
  r->work.data = r;
  if (uv_queue_work(r->loop, &r->work, cleanup_work, after_cleanup) != 0) {
    cleanup_work(&r->work);  /* the pool refused: do it here rather than leave litter */
    finish(r);
  }
}

/* ---- setup.sh, report -------------------------------------------------------------------- */

static void on_setup_done(const mol_plugin_setup_result *res, void *arg) {
  mol_plugin_install_req *r = arg;
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
  if (line[0]) add_warning(r, line);
  send_report(r);
}

static void run_setup(mol_plugin_install_req *r) {
  char script[PATH_CAP + 16];
  struct stat st;
  snprintf(script, sizeof(script), "%s/setup.sh", r->target);
  if (r->skip_setup || r->canceled || lstat(script, &st) != 0 || !S_ISREG(st.st_mode)) {
    send_report(r);
    return;
  }
  mol_plugin_setup_opts so = {.dir = r->target, .log_path = r->log_path,
                              .timeout_ms = r->setup_timeout_ms,
                              .env = (const char *const *)r->setup_env};
  int rc = mol_plugin__setup_run(r->loop, &so, on_setup_done, r);
  if (rc) {
    char line[MOL_PLUGIN_MSG_MAX];
    snprintf(line, sizeof(line), "setup.sh could not be started: %s", mol_strerror(rc));
    add_warning(r, line);
    send_report(r);
    return;
  }
  r->res.setup_ran = 1;
  r->res.setup_log = r->log_path;
}

static void on_report_done(mol_http_request *q, int err, const mol_http_response *resp, void *arg) {
  mol_plugin_install_req *r = arg;
  (void)q;
  char line[MOL_PLUGIN_MSG_MAX];
  r->res.report_status = resp ? resp->status : 0;
  if (!err && resp->status >= 200 && resp->status <= 299) {
    finish(r);
    return;
  }
  if (!err && resp->status == 503) {
    /* What the platform answers for external workspaces (no container): expected. */
    mol_logi("plugin", "%s: install report: HTTP 503 (no container for this workspace)", r->name);
    finish(r);
    return;
  }
  r->res.report_err = err ? err : MOL_EHTTP;
  if (err) snprintf(line, sizeof(line), "install report POST failed: %s", mol_strerror(err));
  else snprintf(line, sizeof(line), "install report POST answered HTTP %d: %.200s", resp->status,
                resp->body ? resp->body : "");
  add_warning(r, line);
  finish(r);
}

static void send_report(mol_plugin_install_req *r) {
  if (r->skip_report || r->canceled) {
    finish(r);
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
    add_warning(r, line);
    finish(r);
  }
}

/* ---- completion -------------------------------------------------------------------------- */

static void finish(mol_plugin_install_req *r) {
  mol_plugin__unlock(r->lock_fd);
  r->lock_fd = -1;
  mol_plugin_result *res = &r->res;
  res->dir = r->swapped ? r->target : NULL;
  res->message = r->err ? r->msg : NULL;
  memcpy(res->archive_sha256, r->dlres.archive_sha256, sizeof(res->archive_sha256));
  memcpy(res->content_sha256, r->xres.content_sha256, sizeof(res->content_sha256));
  res->archive_bytes = r->dlres.bytes;
  res->content_bytes = r->xres.bytes_out;
  res->files = r->xres.files;
  res->warnings = (const char *const *)r->warnings;
  res->nwarnings = r->nwarnings;
  if (r->err) mol_logw("plugin", "install of %s failed: %s", r->name, r->msg);
  r->cb(r->err, res, r->arg);
  free_req(r);
}

int mol_plugin_install(uv_loop_t *loop, mol_http_client *http, const mol_plugin_install_opts *o,
                       mol_plugin_install_cb cb, void *arg, mol_plugin_install_req **out) {
  if (!loop || !http || !o || !cb || !o->platform_url || !o->workspace_id || !o->plugins_dir ||
      !o->workspace_id[0] || strchr(o->workspace_id, '/') || !mol_plugin__name_valid(o->name))
    return MOL_EINVAL;
  mol_plugin_install_req *r = calloc(1, sizeof(*r));
  if (!r) return MOL_ENOMEM;
  r->lock_fd = r->tgz_fd = r->pipe_rd = -1;
  int rc = copy_opts(r, o);
  if (!rc && o->expected_sha256) rc = mol_plugin_digest_parse(o->expected_sha256, r->expected);
  r->loop = loop;
  r->http = http;
  r->cb = cb;
  r->arg = arg;
  r->work.data = r;
  if (!rc) rc = uv_queue_work(loop, &r->work, prepare_work, after_prepare);
  if (rc) {
    free_req(r);
    return rc;
  }
  if (out) *out = r;
  return 0;
}

void mol_plugin_install_cancel(mol_plugin_install_req *r) {
  if (!r || r->canceled) return;
  r->canceled = 1;
  if (r->dl) mol_plugin__download_cancel(r->dl);
}
