/* plugins.c - GET /workspaces/:id/plugins/:name/download from a local directory
 * (`--plugins DIR`, source scheme local:// only).
 *
 * The archive is made by the system tar in a child process: tar/gzip writing is libarchive's
 * job, and libarchive is walled off in src/plugin/ (which this layer may not include). Entry
 * names are relative ("plugin.yaml", "skills/x/SKILL.md"), directories are included, symlinks
 * are skipped, owners are zeroed. As upstream, the whole archive is collected before the
 * answer (bounded), so a packing failure is a clean 500, never a truncated 200. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/log.h"
#include "devplatform/dp_int.h"
#include "http/server.h"
#include "molecule.h"

#define PLUGIN_MAX_BYTES (100u << 20)

static const char *const pack_script =
    "cd \"$1\" && find . -mindepth 1 ! -type l -print0 | LC_ALL=C sort -z |"
    " tar --null --no-recursion -T - -czf - --transform 's,^\\./,,'"
    " --owner=0 --group=0 --numeric-owner";

typedef struct {
  mol_devplatform *dp;
  mol_http_req *req;
  uv_process_t proc;
  uv_pipe_t out;                   /* the holds' last handle */
  mol_holds holds;                 /* the job's own until answered; the process handle */
  mol_buf buf;
  int exited, eof, too_big;
  int64_t status;
  char name[129];
  char source[300];
} pack_job;

/* The holds' finish: answered, and both handles closed. */
static void job_free(void *arg) {
  pack_job *j = arg;
  mol_devplatform *dp = j->dp;
  mol_buf_free(&j->buf);
  free(j);
  mol_holds_drop(&dp->holds);
}

static void on_proc_closed(uv_handle_t *h) {
  pack_job *j = h->data;
  mol_holds_drop(&j->holds);
}

static void job_answer(pack_job *j) {
  mol_dp__reply r = {.retry_after = -1};
  if (j->too_big) {
    mol_dp__reply_err(&r, 413, "staged plugin exceeds size limit");
  } else if (j->status != 0 || j->buf.len == 0) {
    mol_dp__reply_err(&r, 500, "failed to pack plugin");
  } else {
    char disp[200];
    snprintf(disp, sizeof disp, "attachment; filename=\"%s.tar.gz\"", j->name);
    mol_http_resp_header(j->req, "Content-Disposition", disp);
    mol_http_resp_header(j->req, "X-Plugin-Name", j->name);
    mol_http_resp_header(j->req, "X-Plugin-Source", j->source);
    mol_http_respond(j->req, 200, "application/gzip", j->buf.data, j->buf.len);
    return;
  }
  mol_dp__respond(j->dp, j->req, &r);
  mol_dp__reply_free(&r);
}

/* Answers, then lets the handles go: the process's now, the pipe's once that has closed. */
static void job_end(pack_job *j) {
  job_answer(j);
  uv_close((uv_handle_t *)&j->proc, on_proc_closed);
  mol_holds_drop(&j->holds);
}

static void end_when_over(pack_job *j) {
  if (j->exited && j->eof) job_end(j);
}

static void on_pack_exit(uv_process_t *p, int64_t status, int sig) {
  pack_job *j = p->data;
  j->exited = 1;
  j->status = sig ? -1 : status;
  end_when_over(j);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  pack_job *j = h->data;
  (void)hint;
  if (mol_buf_reserve(&j->buf, 65536)) {
    b->base = NULL;
    b->len = 0;
    return;
  }
  b->base = j->buf.data + j->buf.len;
  b->len = j->buf.cap - j->buf.len - 1; /* keep the NUL slot */
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  pack_job *j = s->data;
  (void)b;
  if (n > 0) {
    j->buf.len += (size_t)n;
    j->buf.data[j->buf.len] = '\0';
    if (j->buf.len > PLUGIN_MAX_BYTES && !j->too_big) {
      j->too_big = 1;
      uv_process_kill(&j->proc, SIGKILL);
    }
    return;
  }
  if (n == 0) return;
  uv_read_stop(s);
  j->eof = 1;
  end_when_over(j);
}

static int spawn_pack(pack_job *j, const char *dir) {
  uv_loop_t *loop = j->dp->loop;
  j->proc.data = j;
  char *args[] = {"/bin/sh", "-c", (char *)pack_script, "sh", (char *)dir, NULL};
  uv_stdio_container_t stdio[3] = {{.flags = UV_IGNORE},
                                   {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE,
                                    .data.stream = (uv_stream_t *)&j->out},
                                   {.flags = UV_IGNORE}};
  uv_process_options_t o = {.file = "/bin/sh", .args = args, .exit_cb = on_pack_exit,
                            .stdio_count = 3, .stdio = stdio};
  int rc = uv_spawn(loop, &j->proc, &o);
  if (rc) return rc; /* the handle is initialised even then, and closed by job_end */
  return uv_read_start((uv_stream_t *)&j->out, on_alloc, on_read);
}

static int valid_name(const char *n) {
  return *n && strlen(n) <= 128 && !strchr(n, '/') && !strchr(n, '\\') && !strstr(n, "..");
}

/* Resolves ?source= to the plugin directory; fills r and returns 0 when it cannot. */
static int resolve_source(mol_dp__call *c, const char *name, char *source, size_t cap, char *dir,
                          size_t dcap, mol_dp__reply *r) {
  if (mol_dp__query_get(c, "source", source, cap) <= 0 || !source[0])
    snprintf(source, cap, "local://%s", name);
  if (strncmp(source, "local://", 8) != 0) {
    mol_dp__reply_set(r, 400, json_pack("{s:s,s:[s]}", "error", "failed to resolve plugin source",
                                        "available_schemes", "local"));
    return 0;
  }
  const char *spec = source + 8;
  if (strcmp(spec, name) != 0) {
    mol_dp__reply_set(r, 400,
                      json_pack("{s:s,s:s,s:s}", "error", "source resolved to another plugin",
                                "resolved_name", spec, "requested_name", name));
    return 0;
  }
  struct stat sb;
  const char *root = c->dp->plugins_dir;
  if (!root || snprintf(dir, dcap, "%s/%s", root, name) >= (int)dcap || stat(dir, &sb) != 0 ||
      !S_ISDIR(sb.st_mode)) {
    mol_dp__reply_set(r, 404, json_pack("{s:s,s:s}", "error", "failed to fetch plugin from local",
                                        "source", source));
    return 0;
  }
  return 1;
}

void mol_dp__h_plugin_download(mol_dp__call *c, const char *ws, const char *name,
                               mol_dp__reply *r) {
  if (!mol_dp__auth_workspace(c, ws, r)) return;
  if (!valid_name(name)) {
    mol_dp__reply_err(r, 400, "invalid plugin name");
    return;
  }
  if (c->dp->closing) { /* it would hold the platform open again */
    mol_dp__reply_err(r, 503, "platform shutting down");
    return;
  }
  char source[300], dir[4096];
  if (!resolve_source(c, name, source, sizeof source, dir, sizeof dir, r)) return;
  pack_job *j = calloc(1, sizeof *j);
  if (!j) {
    mol_dp__reply_err(r, 500, "out of memory");
    return;
  }
  j->dp = c->dp;
  j->req = c->req;
  snprintf(j->name, sizeof j->name, "%s", name);
  snprintf(j->source, sizeof j->source, "%s", source);
  mol_holds_take(&c->dp->holds); /* until both handles have closed */
  c->async = 1;
  uv_pipe_init(c->dp->loop, &j->out, 0);
  j->out.data = j;
  mol_holds_init(&j->holds, (uv_handle_t *)&j->out, job_free, j);
  mol_holds_take(&j->holds); /* the process handle: uv_spawn initialises it, even on failure */
  int rc = spawn_pack(j, dir);
  if (rc) {
    mol_logw("devplatform", "plugin %s: cannot run tar: %s", name, mol_strerror(rc));
    j->exited = j->eof = 1;
    j->status = -1;
    job_end(j);
  }
}

/* Installing into a container: external workspaces have none (upstream answers the same). */
void mol_dp__h_plugin_install(mol_dp__call *c, const char *ws, mol_dp__reply *r) {
  if (!mol_dp__auth_workspace(c, ws, r)) return;
  mol_dp__reply_err(r, 503, "workspace container not running");
}
