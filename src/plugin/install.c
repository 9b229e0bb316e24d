/* install.c - the install pipeline on one loop:
 *
 *   prepare (worker)   lock the plugins dir, recover leftovers, make the staging dir and the
 *                      temporary archive file (or open the local archive)
 *   download (loop)    GET …/download (or the archive URL): chunks → pipe; sha256 of the stream
 *   extract (worker)   concurrently, libarchive reads the pipe into the staging dir, and the
 *                      bytes are teed into the temporary archive file; a local archive is
 *                      read straight from its file, hashed on the way
 *   verify (loop)      content hash of what was extracted vs the out-of-band digest
 *   commit (worker)    drop the temp file, swap staging in atomically, delete the old version
 *   setup.sh (loop)    own process group, timeout, captured log      (install_tail.c)
 *   report (loop)      POST /workspaces/:id/plugins, status checked  (install_tail.c)
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
#include "base/log.h"
#include "molecule.h"
#include "plugin/install_int.h"

#define DEFAULT_MAX_ARCHIVE (512ull << 20) /* download.c's default, for local archives */

static void cleanup_and_fail(mol_plugin_pipeline *r);

static int set_err(mol_plugin_pipeline *r, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int set_err(mol_plugin_pipeline *r, int err, const char *fmt, ...) {
  if (r->err) return r->err;
  r->err = err;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
  va_end(ap);
  return err;
}

void mol_plugin__stage(mol_plugin_pipeline *r, mol_plugin_stage s) {
  if (r->on_stage) r->on_stage(s, r->progress_arg);
}

void mol_plugin__add_warning(mol_plugin_pipeline *r, const char *line) {
  mol_logw("plugin", "%s: %s", r->name, line);
  char **w = realloc(r->warnings, (r->nwarnings + 1) * sizeof(*w));
  if (!w) return;
  r->warnings = w;
  if ((w[r->nwarnings] = strdup(line)) != NULL) r->nwarnings++;
}

/* ---- options ----------------------------------------------------------------------------- */

static int copy_headers(mol_plugin_pipeline *r, const mol_plugin_pipeline_opts *o) {
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

static int copy_env(mol_plugin_pipeline *r, const char *const *env) {
  size_t n = 0;
  while (env && env[n]) n++;
  r->setup_env = calloc(n + 1, sizeof(char *));
  if (!r->setup_env) return MOL_ENOMEM;
  for (size_t i = 0; i < n; i++)
    if (!(r->setup_env[i] = strdup(env[i]))) return MOL_ENOMEM;
  return 0;
}

static void free_req(mol_plugin_pipeline *r) {
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
  free(r->archive_url);
  free(r->archive_path);
  free(r);
}

static int copy_opts(mol_plugin_pipeline *r, const mol_plugin_pipeline_opts *o) {
  const char *in[] = {o->platform_url, o->workspace_id, o->name, o->source, o->plugins_dir,
                      o->auth_token, o->archive_url, o->archive_path};
  char **out[] = {&r->platform_url, &r->workspace_id, &r->name, &r->source, &r->plugins_dir,
                  &r->auth_token, &r->archive_url, &r->archive_path};
  for (size_t i = 0; i < sizeof(in) / sizeof(*in); i++)
    if (in[i] && !(*out[i] = strdup(in[i]))) return MOL_ENOMEM;
  size_t n = r->platform_url ? strlen(r->platform_url) : 0;
  while (n > 0 && r->platform_url[n - 1] == '/') r->platform_url[--n] = '\0';
  r->allow_unverified = o->allow_unverified;
  r->trust_manifest = o->trust_manifest;
  r->skip_setup = o->skip_setup;
  r->skip_report = o->skip_report || !r->platform_url || !r->workspace_id;
  r->setup_timeout_ms = o->setup_timeout_ms;
  r->idle_timeout_ms = o->idle_timeout_ms;
  r->max_download = o->max_download_bytes;
  r->limits = o->limits;
  r->on_progress = o->on_progress;
  r->on_stage = o->on_stage;
  r->progress_arg = o->progress_arg;
  int rc = copy_headers(r, o);
  return rc ? rc : copy_env(r, o->setup_env);
}

/* ---- prepare (worker) -------------------------------------------------------------------- */

/* The local archive: a regular file (a FIFO or a device could block the worker forever)
 * within the same size cap as a download. */
static void open_local(mol_plugin_pipeline *r) {
  struct stat st;
  uint64_t cap = r->max_download ? r->max_download : DEFAULT_MAX_ARCHIVE;
  r->local_fd = open(r->archive_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (r->local_fd < 0) {
    set_err(r, -errno, "archive %s: %s", r->archive_path, strerror(errno));
    return;
  }
  if (fstat(r->local_fd, &st) != 0) set_err(r, -errno, "archive %s: %s", r->archive_path,
                                            strerror(errno));
  else if (!S_ISREG(st.st_mode))
    set_err(r, MOL_EINVAL, "archive %s: not a regular file", r->archive_path);
  else if ((uint64_t)st.st_size > cap)
    set_err(r, MOL_ETOOBIG, "archive %s: %llu bytes, over the limit of %llu", r->archive_path,
            (unsigned long long)st.st_size, (unsigned long long)cap);
  r->local_size = (uint64_t)st.st_size;
  if (r->err) {
    close(r->local_fd);
    r->local_fd = -1;
  }
}

static void prepare_work(uv_work_t *w) {
  mol_plugin_pipeline *r = w->data;
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
  if (r->archive_path) {
    r->tgz[0] = '\0'; /* a local archive needs no copy */
    open_local(r);
    return;
  }
  r->tgz_fd = open(r->tgz, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (r->tgz_fd < 0) set_err(r, -errno, "creating %s: %s", r->tgz, strerror(errno));
}

/* ---- download + extract ------------------------------------------------------------------ */

static void extract_work(uv_work_t *w) {
  mol_plugin_pipeline *r = w->data;
  mol_plugin__extract_fd(r->pipe_rd, r->tgz_fd, r->staging, &r->limits, &r->xres);
  close(r->pipe_rd);
}

static void extract_local_work(uv_work_t *w) {
  mol_plugin_pipeline *r = w->data;
  mol_plugin__extract_file(r->local_fd, r->staging, &r->limits, &r->xres);
  close(r->local_fd);
  r->local_fd = -1;
}

static void verify(mol_plugin_pipeline *r);

static void after_extract(uv_work_t *w, int status) {
  mol_plugin_pipeline *r = w->data;
  (void)status;  /* never cancelled: uv_cancel is not used on it */
  r->extract_done = 1;
  for (size_t i = 0; i < r->xres.nwarnings; i++)
    mol_plugin__add_warning(r, r->xres.warnings[i]);
  if (r->archive_path) { /* the extractor was the download */
    memcpy(r->dlres.archive_sha256, r->xres.archive_sha256, sizeof(r->dlres.archive_sha256));
    r->dlres.bytes = r->xres.bytes_in;
    if (r->on_progress) r->on_progress(r->xres.bytes_in, r->local_size, r->progress_arg);
  }
  if (r->dl_done) verify(r);
}

static void start_local(mol_plugin_pipeline *r) {
  if (r->on_progress) r->on_progress(0, r->local_size, r->progress_arg);
  r->dl_done = 1;
  r->extract_work.data = r;
  int rc = uv_queue_work(r->loop, &r->extract_work, extract_local_work, after_extract);
  if (rc) {
    set_err(r, rc, "queueing the extraction: %s", mol_strerror(rc));
    cleanup_and_fail(r);
    return;
  }
  r->extracting = 1;
}

static int on_dl_start(int pipe_rd, void *arg) {
  mol_plugin_pipeline *r = arg;
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
  mol_plugin_pipeline *r = arg;
  if (r->on_progress) r->on_progress(received, total, r->progress_arg);
}

static void on_dl_done(const mol_plugin_download_result *res, void *arg) {
  mol_plugin_pipeline *r = arg;
  r->dl = NULL;
  r->dl_done = 1;
  r->dlres = *res;
  /* A digest header from the archive's own server is no more than the archive says about
   * itself; only the platform's counts as out of band. */
  if (r->archive_url) r->dlres.header_sha256[0] = '\0';
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

static void start_download(mol_plugin_pipeline *r) {
  mol_buf url = MOL_BUF_INIT;
  int rc, platform = !r->archive_url;
  if (!platform) rc = mol_buf_append_str(&url, r->archive_url);
  else rc = mol_buf_printf(&url, "%s/workspaces/%s/plugins/%s/download", r->platform_url,
                           r->workspace_id, r->name);
  if (!rc && platform && r->source) rc = mol_buf_append_str(&url, "?source=");
  if (!rc && platform && r->source) rc = append_query_value(&url, r->source);
  /* The bearer and tenant headers are the platform's: never sent to another server. */
  mol_plugin_download_opts o = {.url = url.data, .headers = platform ? r->headers : NULL,
                                .nheaders = platform ? r->nheaders : 0,
                                .max_bytes = r->max_download,
                                .idle_timeout_ms = r->idle_timeout_ms, .on_start = on_dl_start,
                                .on_progress = on_dl_progress, .on_done = on_dl_done, .arg = r};
  if (!rc) rc = mol_plugin__download_start(r->loop, r->http, &o, &r->dl);
  if (rc) set_err(r, rc, "GET %s: %s", url.data ? url.data : "?", mol_strerror(rc));
  mol_buf_free(&url);
  if (rc) cleanup_and_fail(r);
}

static void after_prepare(uv_work_t *w, int status) {
  mol_plugin_pipeline *r = w->data;
  (void)status;
  if (r->recovered > 0)
    mol_logi("plugin", "removed %d leftover(s) of interrupted installs in %s", r->recovered, r->dir);
  if (!r->err && r->canceled) set_err(r, MOL_ECANCELED, "install of %s cancelled", r->name);
  if (r->err) cleanup_and_fail(r);
  else if (r->archive_path) start_local(r);
  else start_download(r);
}

/* ---- verify, commit ---------------------------------------------------------------------- */

/* The manifest trust mode: the digest the plugin's own plugin.yaml declares. It catches a
 * corrupted or truncated archive, not a hostile one (whoever wrote the archive wrote the
 * digest too), so it is taken only when asked for, and said in the log and the warnings. */
static int pick_manifest(mol_plugin_pipeline *r, const char **expected) {
  const mol_plugin_extract_result *x = &r->xres;
  int rc = x->manifest_too_big ? MOL_ETOOBIG
           : x->manifest_yaml ? mol_plugin__manifest_sha256(x->manifest_yaml, x->manifest_len,
                                                            r->manifest_sha256)
                              : MOL_ENOENT;
  if (rc == MOL_ENOENT && r->allow_unverified) return 0;
  if (rc == MOL_ENOENT)
    return set_err(r, MOL_EINVAL,
                   "plugin %s: trusting the manifest, but %s declares no sha256; refusing an "
                   "unverified install (content sha256 is %s)", r->name,
                   x->manifest_yaml ? "its plugin.yaml" : "it has no plugin.yaml and so",
                   x->content_sha256);
  if (rc)
    return set_err(r, MOL_PLUGIN_EMISMATCH,
                   "plugin %s: the sha256 in its plugin.yaml cannot be read (%s); the previous "
                   "version is untouched and setup.sh was NOT run", r->name,
                   rc == MOL_ETOOBIG ? "the file is larger than 64 KiB"
                                     : "it must be a top-level `sha256: <64 hex digits>`");
  *expected = r->manifest_sha256;
  r->res.manifest_verified = 1;
  return 0;
}

static int pick_expected(mol_plugin_pipeline *r, const char **expected) {
  const char *hdr = r->dlres.header_sha256[0] ? r->dlres.header_sha256 : NULL;
  const char *arg = r->expected[0] ? r->expected : NULL;
  if (arg && hdr && strcmp(arg, hdr) != 0)
    return set_err(r, MOL_PLUGIN_EMISMATCH,
                   "plugin %s: expected sha256 %s but the platform's X-Plugin-Sha256 says %s; "
                   "the previous version is untouched and setup.sh was NOT run", r->name, arg, hdr);
  *expected = arg ? arg : hdr;
  if (*expected) return 0;
  if (r->trust_manifest) return pick_manifest(r, expected);
  if (r->allow_unverified) return 0;
  return set_err(r, MOL_EINVAL,
                 "plugin %s: no expected sha256 (pass one, or have the platform send "
                 "X-Plugin-Sha256); refusing an unverified install (content sha256 is %s)",
                 r->name, r->xres.content_sha256);
}

static void commit_work(uv_work_t *w) {
  mol_plugin_pipeline *r = w->data;
  if (r->tgz_fd >= 0) close(r->tgz_fd);
  r->tgz_fd = -1;
  if (r->tgz[0]) (void)unlink(r->tgz);
  char msg[MOL_PLUGIN_MSG_MAX] = "";
  int rc = mol_plugin__swap_in(r->dir, r->name, r->staging, msg);
  if (rc) set_err(r, rc, "%s", msg);
  else r->swapped = 1;
}

static void after_commit(uv_work_t *w, int status) {
  mol_plugin_pipeline *r = w->data;
  (void)status;
  if (r->err) {
    cleanup_and_fail(r);
    return;
  }
  mol_logi("plugin", "installed %s in %s (content sha256 %s, %s)", r->name, r->target,
           r->xres.content_sha256,
           r->res.verified            ? "verified"
           : r->res.manifest_verified ? "verified against its own plugin.yaml only"
                                      : "NOT verified");
  mol_plugin__run_setup(r);
}

/* Why the extracted tree may not be swapped in, if anything: the first failure of the
 * download, a cancel, the extraction, then the digest check. */
static int check_extracted(mol_plugin_pipeline *r, const char **expected) {
  if (r->dlres.err) return set_err(r, r->dlres.err, "%s", r->dlres.msg);
  if (r->canceled) return set_err(r, MOL_ECANCELED, "install of %s cancelled", r->name);
  if (r->xres.err) return set_err(r, r->xres.err, "plugin %s: %s", r->name, r->xres.msg);
  mol_plugin__stage(r, MOL_PLUGIN_STAGE_VERIFY);
  if (pick_expected(r, expected)) return r->err;
  if (*expected && strcmp(*expected, r->xres.content_sha256) != 0)
    return set_err(r, MOL_PLUGIN_EMISMATCH,
                   "plugin %s sha256 mismatch - %s %s, got %s; the previous version is "
                   "untouched and setup.sh was NOT run", r->name,
                   r->res.manifest_verified ? "its plugin.yaml declares" : "expected", *expected,
                   r->xres.content_sha256);
  return 0;
}

static void verify(mol_plugin_pipeline *r) {
  const char *expected = NULL;
  if (check_extracted(r, &expected)) {
    cleanup_and_fail(r);
    return;
  }
  mol_plugin__stage(r, MOL_PLUGIN_STAGE_SWAP);
  r->res.verified = expected != NULL && !r->res.manifest_verified;
  if (!expected)
    mol_plugin__add_warning(r, "installed WITHOUT verification: no expected sha256 was given");
  else if (r->res.manifest_verified)
    mol_plugin__add_warning(r, "verified only against the sha256 in the plugin's own "
                               "plugin.yaml: this catches corruption, not a hostile archive");
  r->work.data = r;
  int rc = uv_queue_work(r->loop, &r->work, commit_work, after_commit);
  if (rc) {
    set_err(r, rc, "queueing the swap: %s", mol_strerror(rc));
    cleanup_and_fail(r);
  }
}

/* ---- failure cleanup (worker) ------------------------------------------------------------ */

static void cleanup_work(uv_work_t *w) {
  mol_plugin_pipeline *r = w->data;
  if (r->tgz_fd >= 0) close(r->tgz_fd);
  r->tgz_fd = -1;
  if (r->local_fd >= 0) close(r->local_fd); /* opened, then the install was cancelled */
  r->local_fd = -1;
  if (r->tgz[0]) (void)unlink(r->tgz);
  if (r->staging[0] && !r->swapped) (void)mol_plugin__rmtree(r->staging);
}

static void after_cleanup(uv_work_t *w, int status) {
  (void)status;
  mol_plugin__finish(w->data);
}

static void cleanup_and_fail(mol_plugin_pipeline *r) {
  r->work.data = r;
  if (uv_queue_work(r->loop, &r->work, cleanup_work, after_cleanup) != 0) {
    cleanup_work(&r->work);  /* the pool refused: do it here rather than leave litter */
    mol_plugin__finish(r);
  }
}

/* ---- completion -------------------------------------------------------------------------- */

void mol_plugin__finish(mol_plugin_pipeline *r) {
  mol_plugin__unlock(r->lock_fd);
  r->lock_fd = -1;
  mol_plugin_pipeline_result *res = &r->res;
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

int mol_plugin_pipeline_start(uv_loop_t *loop, mol_http_client *http,
                              const mol_plugin_pipeline_opts *o, mol_plugin_pipeline_cb cb,
                              void *arg, mol_plugin_pipeline **out) {
  int from_platform = !o || (!o->archive_url && !o->archive_path);
  if (!loop || !http || !o || !cb || !o->plugins_dir || !mol_plugin_name_valid(o->name) ||
      (from_platform && (!o->platform_url || !o->workspace_id)) ||
      (o->workspace_id && (!o->workspace_id[0] || strchr(o->workspace_id, '/'))))
    return MOL_EINVAL;
  mol_plugin_pipeline *r = calloc(1, sizeof(*r));
  if (!r) return MOL_ENOMEM;
  r->lock_fd = r->tgz_fd = r->pipe_rd = r->local_fd = -1;
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

void mol_plugin_pipeline_cancel(mol_plugin_pipeline *r) {
  if (!r || r->canceled) return;
  r->canceled = 1;
  if (r->dl) mol_plugin__download_cancel(r->dl);
}
