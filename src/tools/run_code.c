/* run_code.c - the run_code tool: a program in a child process (base/proc.h) with a deadline, a
 * cap on its output and an environment of its own - nothing of the agent's (no provider keys,
 * no platform token: upstream's subprocess backend passed its whole environment on).
 *
 * Two backends, chosen at run time:
 *  - bwrap: bubblewrap (Debian package bubblewrap) when it is installed and works here (probed
 *    once by running it): new user, network, pid, ipc, uts and cgroup namespaces (no network
 *    at all), the system directories read-only, a private tmpfs /tmp as the work directory,
 *    nothing else of the host's file system (no home, no token files), killed with its parent;
 *  - plain: /bin/sh in a process group of its own, in a fresh temporary directory removed
 *    afterwards; the same clean environment, but the host's file system and network.
 * SANDBOX_BACKEND=bwrap insists on the first, =subprocess picks the second.
 *
 * The program text reaches the interpreter as one argument through an environment variable
 * that the wrapper unsets before exec: no shell interpolation, and stdin stays free (at EOF). */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/proc.h"
#include "tools/builtin_int.h"

#define CODE_MAX (120 * 1024) /* below the kernel's 128 KiB per argument / env string */
#define CLEAN_PATH "/usr/local/bin:/usr/bin:/bin"
#define PROBE_TIMEOUT_MS 10000

static const char run_desc[] =
    "Run a short program and return its exit code, stdout and stderr. Runs isolated from the "
    "agent (no secrets; with the bubblewrap backend also no network and a private /tmp), with a "
    "time limit and an output cap.\n\nArgs:\n    code: the program text\n    language: python "
    "(default), javascript, shell or bash";
static const char run_schema[] =
    "{\"type\":\"object\",\"properties\":{\"code\":{\"type\":\"string\"},\"language\":{\"type\":"
    "\"string\",\"default\":\"python\"}},\"required\":[\"code\"]}";

typedef struct {
  mol_proc *proc;
  const char *interp;          /* "python3 -c" ... */
  const char *language;
  int bwrap;                   /* the backend of this run */
  char dir[64];                /* plain: the work directory, "" once removed or never made */
  mol_buf err;                 /* stderr lines kept */
  size_t err_dropped;
  json_t *result;              /* built in on_done, sent after the directory is gone */
  uv_work_t rm;
} run_state;

static void run_state_free(void *x) {
  run_state *r = x;
  mol_buf_free(&r->err);
  json_decref(r->result);
  free(r);
}

static const char *interpreter(const char *language) {
  if (!strcasecmp(language, "python")) return "python3 -c";
  if (!strcasecmp(language, "javascript")) return "node -e";
  if (!strcasecmp(language, "shell")) return "sh -c";
  if (!strcasecmp(language, "bash")) return "bash -c";
  return NULL;
}

/* ---- the bubblewrap command line ---------------------------------------------------------------- */

/* The flags: the top-level system directories read-only as they are on this host (merged-/usr
 * symlinks stay symlinks), a few files of /etc that programs need, a private /tmp. */
static const char *bwrap_flags(void) {
  static char flags[2048];
  if (flags[0]) return flags;
  mol_buf b = MOL_BUF_INIT;
  mol_buf_append_str(&b, "--unshare-all --die-with-parent --new-session --ro-bind /usr /usr");
  static const char *const tops[] = {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"};
  for (size_t i = 0; i < sizeof tops / sizeof *tops; i++) {
    struct stat st;
    char target[256];
    if (lstat(tops[i], &st)) continue;
    ssize_t n = S_ISLNK(st.st_mode) ? readlink(tops[i], target, sizeof target - 1) : -1;
    if (n > 0 && !strchr((target[n] = '\0', target), '\''))
      mol_buf_printf(&b, " --symlink '%s' %s", target, tops[i]);
    else if (S_ISDIR(st.st_mode))
      mol_buf_printf(&b, " --ro-bind %s %s", tops[i], tops[i]);
  }
  static const char *const etc[] = {"ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives",
                                    "localtime", "passwd", "group", "nsswitch.conf", "ssl",
                                    "mime.types"};
  for (size_t i = 0; i < sizeof etc / sizeof *etc; i++)
    mol_buf_printf(&b, " --ro-bind-try /etc/%s /etc/%s", etc[i], etc[i]);
  mol_buf_append_str(&b, " --proc /proc --dev /dev --tmpfs /tmp --chdir /tmp");
  if (b.data && b.len < sizeof flags) memcpy(flags, b.data, b.len + 1);
  mol_buf_free(&b);
  return flags;
}

/* ---- the run ------------------------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s[0..n), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
  size_t len = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3
             : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
  if (!len || len > n || (len == 2 && s[0] < 0xC2) || (len == 4 && s[0] > 0xF4)) return 0;
  for (size_t i = 1; i < len; i++)
    if ((s[i] & 0xC0) != 0x80) return 0;
  if (len == 3 && ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F))) return 0;
  if (len == 4 && ((s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] > 0x8F))) return 0;
  return len;
}

/* A program's bytes as a JSON string: what is not UTF-8 becomes U+FFFD, byte by byte. */
static json_t *text_of(const char *data, size_t n) {
  mol_buf b = MOL_BUF_INIT;
  const unsigned char *s = (const unsigned char *)data;
  for (size_t i = 0; i < n;) {
    size_t len = utf8_seq(s + i, n - i);
    if (len) mol_buf_append(&b, s + i, len);
    else mol_buf_append(&b, "\xef\xbf\xbd", 3);
    i += len ? len : 1;
  }
  json_t *v = json_stringn(b.data ? b.data : "", b.len);
  mol_buf_free(&b);
  return v;
}

static void on_err_line(const char *line, void *arg) {
  mol_tools__op *op = arg;
  run_state *r = op->x;
  size_t n = strlen(line), cap = op->b->o.run_code_max_output;
  if (r->err.len + n + 1 > cap) {
    r->err_dropped += n + 1;
    return;
  }
  mol_buf_printf(&r->err, "%s%s", r->err.len ? "\n" : "", line);
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  remove(p);
  return 0;
}

static void rm_work(uv_work_t *w) { /* on the thread pool: r->dir is not touched elsewhere */
  mol_tools__op *op = w->data;
  nftw(((run_state *)op->x)->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Every outcome is a result object, as upstream's dict (errors under "error"): it can be long
 * (the output kept), so it ends the call as a result, never as a short error text. */
static void send_result(mol_tools__op *op) {
  run_state *r = op->x;
  json_t *v = r->result;
  r->result = NULL;
  mol_tools__done_json(op, v);
}

static void after_rm(uv_work_t *w, int status) {
  (void)status;
  mol_tools__op *op = w->data;
  ((run_state *)op->x)->dir[0] = '\0';
  send_result(op);
}

static void on_run_done(const mol_proc_result *res, void *arg) {
  mol_tools__op *op = arg;
  run_state *r = op->x;
  r->proc = NULL;
  if (r->err_dropped) mol_buf_printf(&r->err, "\n[%zu bytes of stderr dropped]", r->err_dropped);
  json_t *v = json_pack("{s:o,s:o,s:s,s:s}", "stdout", text_of(res->out, res->out_len),
                        "stderr", text_of(r->err.data, r->err.len), "language", r->language,
                        "backend", r->bwrap ? "bwrap" : "subprocess");
  long long code = res->term_signal ? -res->term_signal : (long long)res->exit_status;
  char msg[160] = "";
  if (res->end == MOL_PROC_TIMED_OUT)
    snprintf(msg, sizeof msg, "Timeout after %gs", op->b->o.run_code_timeout_ms / 1000.0);
  else if (res->end == MOL_PROC_TOO_MUCH_OUTPUT)
    snprintf(msg, sizeof msg, "Output cap of %zu bytes reached; the program was stopped",
             op->b->o.run_code_max_output);
  else if (res->end == MOL_PROC_KILLED)
    snprintf(msg, sizeof msg, "Canceled");
  if (msg[0]) json_object_set_new(v, "error", json_string(msg));
  json_object_set_new(v, "exit_code", json_integer(msg[0] ? -1 : code));
  r->result = v;
  if (!r->dir[0]) {
    send_result(op);
    return;
  }
  /* The directory may hold many files: removed off the loop, the call ends after. */
  r->rm.data = op;
  if (uv_queue_work(mol_tool_call_env(op->call)->loop, &r->rm, rm_work, after_rm)) {
    send_result(op);
  }
}

static void kill_run(mol_tools__op *op) {
  run_state *r = op->x;
  if (r->proc) mol_proc_kill(r->proc); /* on_run_done ends the call */
}

/* ---- starting it -------------------------------------------------------------------------------- */

static void run_start(mol_tools__op *op) {
  run_state *r = op->x;
  const char *code = mol_tools__arg(op, "code", "");
  char *env[6], cmd[3072];
  size_t n = 0;
  mol_buf code_var = MOL_BUF_INIT;
  env[n++] = "PATH=" CLEAN_PATH;
  env[n++] = "LANG=C.UTF-8";
  if (r->bwrap) {
    env[n++] = "HOME=/tmp";
    snprintf(cmd, sizeof cmd, "c=$MOLECULE_CODE; unset MOLECULE_CODE; exec bwrap %s -- %s \"$c\"",
             bwrap_flags(), r->interp);
  } else {
    snprintf(r->dir, sizeof r->dir, "/tmp/molecule-run-XXXXXX");
    if (!mkdtemp(r->dir)) {
      r->dir[0] = '\0';
      mol_tools__done_json(
          op, json_pack("{s:s,s:i}", "error", "cannot create a work directory", "exit_code", -1));
      return;
    }
    static __thread char home[80], tmp[80];
    snprintf(home, sizeof home, "HOME=%s", r->dir);
    snprintf(tmp, sizeof tmp, "TMPDIR=%s", r->dir);
    env[n++] = home;
    env[n++] = tmp;
    snprintf(cmd, sizeof cmd, "cd '%s' || exit 126; c=$MOLECULE_CODE; unset MOLECULE_CODE; "
             "exec %s \"$c\"", r->dir, r->interp);
  }
  mol_buf_printf(&code_var, "MOLECULE_CODE=%s", code);
  env[n++] = code_var.data;
  env[n] = NULL;
  mol_proc_opts o = {.cmd = cmd, .env = env, .timeout_ms = op->b->o.run_code_timeout_ms,
                     .kill_grace_ms = 1000, .max_output = op->b->o.run_code_max_output,
                     .on_err_line = on_err_line, .on_done = on_run_done, .arg = op};
  int rc = code_var.data ? mol_proc_start(mol_tool_call_env(op->call)->loop, &o, &r->proc)
                         : MOL_ENOMEM;
  mol_buf_free(&code_var);
  if (rc) {
    char msg[128];
    snprintf(msg, sizeof msg, "cannot start the program: %s", mol_strerror(rc));
    r->result = json_pack("{s:s,s:i}", "error", msg, "exit_code", -1);
    if (r->dir[0]) {
      r->rm.data = op;
      if (!uv_queue_work(mol_tool_call_env(op->call)->loop, &r->rm, rm_work, after_rm)) return;
    }
    send_result(op);
    return;
  }
  op->x_cancel = kill_run;
}

/* The probe: can bubblewrap build its sandbox here? (Installed is not enough: a container may
 * forbid user namespaces.) Decided once per state, by running it. */
static void on_probe_done(const mol_proc_result *res, void *arg) {
  mol_tools__op *op = arg;
  run_state *r = op->x;
  r->proc = NULL;
  op->x_cancel = NULL;
  int usable = res->end == MOL_PROC_EXITED && res->exit_status == 0 && !res->term_signal;
  if (res->end != MOL_PROC_KILLED) op->b->bwrap = usable;
  if (mol_tool_call_stopping(op->call)) {
    mol_tools__done(op, "canceled");
    return;
  }
  if (!usable && op->b->o.sandbox == MOL_TOOLS_SANDBOX_BWRAP) {
    mol_tools__done_json(
        op, json_pack("{s:s,s:i}", "error", "SANDBOX_BACKEND=bwrap, but bubblewrap cannot run here",
                      "exit_code", -1));
    return;
  }
  r->bwrap = usable;
  run_start(op);
}

static void probe(mol_tools__op *op) {
  run_state *r = op->x;
  char cmd[2400];
  snprintf(cmd, sizeof cmd, "exec bwrap %s -- true", bwrap_flags());
  char *env[] = {"PATH=" CLEAN_PATH, NULL};
  mol_proc_opts o = {.cmd = cmd, .env = env, .timeout_ms = PROBE_TIMEOUT_MS,
                     .kill_grace_ms = 500, .on_done = on_probe_done, .arg = op};
  if (mol_proc_start(mol_tool_call_env(op->call)->loop, &o, &r->proc)) {
    mol_proc_result none = {.end = MOL_PROC_EXITED, .exit_status = 127, .out = "",
                            .err_line = ""};
    on_probe_done(&none, op);
    return;
  }
  op->x_cancel = kill_run;
}

static int run_code_start(mol_tool_call *call, json_t *args) {
  mol_tools__op *op = mol_tools__op_start(call, args, 0);
  if (!op) return 0;
  run_state *r = calloc(1, sizeof *r);
  if (!r) {
    mol_tools__fail(op, "Error: out of memory");
    return 0;
  }
  op->x = r;
  op->x_free = run_state_free;
  r->language = mol_tools__arg(op, "language", "python");
  if (!*r->language) r->language = "python";
  r->interp = interpreter(r->language);
  char msg[160];
  if (!r->interp) {
    mol_tools__done_json(op, json_pack("{s:s+,s:i}", "error", "Unsupported language: ", r->language,
                                       "exit_code", -1));
  } else if (strlen(mol_tools__arg(op, "code", "")) > CODE_MAX) {
    snprintf(msg, sizeof msg, "code is longer than %d bytes", CODE_MAX);
    mol_tools__done_json(op, json_pack("{s:s,s:i}", "error", msg, "exit_code", -1));
  } else if (op->b->o.sandbox == MOL_TOOLS_SANDBOX_PLAIN) {
    run_start(op);
  } else if (op->b->bwrap < 0) {
    probe(op);
  } else if (!op->b->bwrap && op->b->o.sandbox == MOL_TOOLS_SANDBOX_BWRAP) {
    mol_tools__done_json(
        op, json_pack("{s:s,s:i}", "error", "SANDBOX_BACKEND=bwrap, but bubblewrap cannot run here",
                      "exit_code", -1));
  } else {
    r->bwrap = op->b->bwrap;
    run_start(op);
  }
  return 0;
}

int mol_tools__add_run_code(mol_tools *reg, mol_tools_builtin *b) {
  return mol_tools__add(reg, b, "run_code", run_desc, run_schema, run_code_start);
}
