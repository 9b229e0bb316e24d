/* plugin.h - plugin install: streamed download, safe extraction, content hash, atomic swap,
 * setup.sh. Internal API of src/plugin (docs/plugins.md describes the pipeline and rules).
 *
 * Pieces, each usable alone (and tested alone):
 *  - hash.c     the upstream-compatible content hash (pure; docs/plugins.md);
 *  - extract.c  libarchive extraction from a file descriptor into a staging directory with
 *               our path/type/mode/limit checks, hashing file contents on the way
 *               (blocking: runs on a worker thread);
 *  - download.c the streamed GET: bytes go into a pipe that feeds the extractor (which tees
 *               them into a temporary file), SHA-256 of the stream on the way, back-pressure
 *               by pausing;
 *  - swap.c     staging names, the atomic exchange, removal and crash recovery (blocking);
 *  - setup_sh.c setup.sh in its own process group with a timeout and a capped log;
 *  - install.c  the pipeline tying them together on one loop.
 * Every function runs on the loop thread unless it says it blocks (then call it from a
 * worker, as install.c does, or from a tool).
 *
 * Names: what other layers call (the install pipeline and its cancel, remove, recover, the
 * content hash of a directory, digest parsing, name validity, pathf) is mol_plugin_name;
 * what only the files of this folder and its tests share is mol_plugin__name. The public
 * install (molecule/plugin.h, install_public.c) keeps its public names.
 */
#ifndef MOL_PLUGIN_PLUGIN_H
#define MOL_PLUGIN_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/crypto.h"
#include "http/client.h"
#include "molecule.h" /* MOL_PLUGIN_EMISMATCH, mol_plugin_stage (molecule/plugin.h) */

enum { MOL_PLUGIN_MSG_MAX = 512, MOL_PLUGIN_NAME_MAX = 128 };

/* snprintf into a MOL_PLUGIN_MSG_MAX buffer; long paths are cut, which is fine for a message. */
void mol_plugin__msgf(char *msg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* snprintf into a PATH_MAX (4096) buffer. Returns 0 or -ENAMETOOLONG (never a cut path). */
int mol_plugin_pathf(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- SHA-256 for bulk data (sha256.c) --------------------------------------------------- */

/* Incremental SHA-256 that uses the x86 SHA extensions when the CPU has them (~4x mbedTLS)
 * and mol_sha256 otherwise. Same results either way. */
typedef struct {
  int ni;
  uint32_t st[8];
  uint8_t buf[64];
  size_t buflen;
  uint64_t total;
  mol_sha256 sw;
} mol_plugin_sha256;

void mol_plugin__sha256_init(mol_plugin_sha256 *h);
void mol_plugin__sha256_update(mol_plugin_sha256 *h, const void *data, size_t len);
void mol_plugin__sha256_final(mol_plugin_sha256 *h, uint8_t out[MOL_SHA256_LEN]);
/* Tests: portable=1 forces the mbedTLS path for contexts initialised afterwards. */
void mol_plugin__sha256_select(int portable);

/* ---- names and digests (pure) ----------------------------------------------------------- */

/* 1 when name is a safe plugin directory name: 1..128 bytes of [A-Za-z0-9._-], not starting
 * with '.' or '-'. Everything else (/, \, .., spaces, control bytes) is refused before any
 * filesystem operation. */
int mol_plugin_name_valid(const char *name);

/* Validates an expected content digest: exactly 64 hex digits. Upper case is accepted and
 * lower-cased (hex case carries no meaning). Writes 64 lower-case chars + NUL. Returns 0 or
 * MOL_EINVAL. */
int mol_plugin_digest_parse(const char *in, char out[MOL_SHA256_HEX_LEN + 1]);

/* ---- content hash (hash.c, pure) -------------------------------------------------------- */

/* The list of (relative path, sha256 hex of content) pairs the content hash is made of. */
typedef struct {
  char *path;                          /* relative, '/'-separated, as extracted */
  char hex[MOL_SHA256_HEX_LEN + 1];
} mol_plugin_file;

typedef struct {
  mol_plugin_file *items;
  size_t len, cap;
} mol_plugin_manifest;

/* Appends a copy of path with its digest. Returns 0 or MOL_ENOMEM. */
int mol_plugin__manifest_add(mol_plugin_manifest *m, const char *path,
                            const uint8_t digest[MOL_SHA256_LEN]);
void mol_plugin__manifest_free(mol_plugin_manifest *m);
/* Sorts in Python string order (code points; undecodable bytes as surrogateescape does),
 * drops the root "plugin.yaml", and serialises like Python's json.dumps into *json (caller
 * frees). Returns 0, MOL_EEXIST (two entries with the same path) or MOL_ENOMEM. */
int mol_plugin__manifest_json(mol_plugin_manifest *m, char **json, size_t *len);
/* The content hash of the manifest: SHA-256 of the JSON above, lower-case hex. */
int mol_plugin__manifest_digest(mol_plugin_manifest *m, char out[MOL_SHA256_HEX_LEN + 1]);

/* Walks dir like upstream's rglob("*") + is_file() (file symlinks followed, symlinked
 * directories not entered), hashes every regular file and writes the content hash.
 * Blocking. Returns 0 or a negative errno-style code with a message in msg. */
int mol_plugin_hash_dir(const char *dir, char out[MOL_SHA256_HEX_LEN + 1],
                        char msg[MOL_PLUGIN_MSG_MAX]);

/* ---- extraction (extract.c, blocking) --------------------------------------------------- */

typedef struct {            /* zero = default */
  uint64_t max_total_bytes; /* sum of regular file sizes, 0 -> 1 GiB */
  uint64_t max_entries;     /* archive entries of any kind, 0 -> 50000 */
  uint64_t max_ratio;       /* uncompressed/compressed, 0 -> 200 (checked past 1 MiB) */
} mol_plugin_limits;

typedef struct {
  int err;                            /* 0 or MOL_E* */
  char msg[MOL_PLUGIN_MSG_MAX];       /* why, naming the entry */
  char content_sha256[MOL_SHA256_HEX_LEN + 1];
  char archive_sha256[MOL_SHA256_HEX_LEN + 1]; /* mol_plugin__extract_file only */
  uint64_t files, dirs, skipped_links, bytes_out, bytes_in;
  char **warnings;                    /* one line per skipped link, capped; free with */
  size_t nwarnings;                   /* mol_plugin__extract_result_free */
  char *manifest_yaml;                /* the root plugin.yaml, NUL-terminated; NULL if none */
  size_t manifest_len;
  int manifest_too_big;               /* plugin.yaml is larger than 64 KiB (not read) */
} mol_plugin_extract_result;

/* Reads <dir>/plugin.yaml (a regular file, at most 64 KiB) into res->manifest_yaml; a missing
 * file is not an error. Blocking: worker threads only. 0 or MOL_E*. */
int mol_plugin__read_manifest(const char *dir, mol_plugin_extract_result *res);
/* The top-level `sha256` the manifest text declares, lower-cased: 0, MOL_ENOENT when it
 * declares none, MOL_EINVAL when it is not 64 hex digits or not written as a plain block
 * key (see manifest_sha.c). */
int mol_plugin__manifest_sha256(const char *yaml, size_t len, char out[MOL_SHA256_HEX_LEN + 1]);

/* Reads a gzip-compressed tar from fd until EOF - copying every byte read to tee_fd as well,
 * unless it is -1 - and extracts it into dest (an existing,
 * empty directory given as an absolute path without symlinks). Entries: regular files and
 * directories are written (modes reduced to 0777 bits with owner rw/rwx kept; never chowned;
 * special bits dropped); symlinks and hardlinks are skipped with a warning; absolute names,
 * names that leave dest after lexical normalisation, devices, FIFOs and other types are
 * refused; a second regular file with the same normalised name is refused. On failure dest
 * may hold partial output (the caller removes it). Always reads fd to EOF, so a writer
 * feeding a pipe never blocks forever. Blocking; safe on any thread. */
void mol_plugin__extract_fd(int fd, int tee_fd, const char *dest, const mol_plugin_limits *limits,
                           mol_plugin_extract_result *res);
/* The same from a local archive file (no tee), also hashing the archive's bytes into
 * res->archive_sha256. Blocking. */
void mol_plugin__extract_file(int fd, const char *dest, const mol_plugin_limits *limits,
                             mol_plugin_extract_result *res);
void mol_plugin__extract_result_free(mol_plugin_extract_result *res);

/* ---- staging, swap, recovery (swap.c, blocking) ------------------------------------------ */

/* Takes an exclusive, non-blocking flock on the plugins directory (created if missing).
 * Returns an fd >= 0 or MOL_EBUSY (another install or removal runs) / a negative errno. */
int mol_plugin__lock(const char *plugins_dir);
void mol_plugin__unlock(int fd);

/* Removes what interrupted installs left behind in plugins_dir: ".staging-*" entries and
 * ".old-*" entries (an ".old-<name>-*" is renamed back to <name> when <name> is missing: the
 * fallback swap was cut between its two renames). Caller holds the lock. Returns the number
 * of entries cleaned or a negative code. */
int mol_plugin__recover_locked(const char *plugins_dir);

/* Makes staging the live <plugins_dir>/<name>: renameat2(RENAME_EXCHANGE) when a previous
 * version exists (then deletes it), a plain no-replace rename otherwise; falls back to
 * old-aside + rename where the filesystem lacks RENAME_EXCHANGE. Caller holds the lock. */
int mol_plugin__swap_in(const char *plugins_dir, const char *name, const char *staging,
                       char msg[MOL_PLUGIN_MSG_MAX]);

/* Removes <plugins_dir>/<name> atomically (rename aside, then delete). Takes the lock.
 * Returns 0, MOL_ENOENT, MOL_EBUSY or a negative errno. */
int mol_plugin_remove(const char *plugins_dir, const char *name, char msg[MOL_PLUGIN_MSG_MAX]);

/* Takes the lock and runs recovery; what a process calls once at start. */
int mol_plugin_recover(const char *plugins_dir);

/* rm -rf that never follows symlinks. Returns 0 or a negative errno. */
int mol_plugin__rmtree(const char *path);

/* ---- setup.sh (setup_sh.c, loop thread) -------------------------------------------------- */

typedef struct {
  int err;              /* 0 when it ran to completion; MOL_ETIMEDOUT; spawn error */
  int exit_status;      /* bash's exit status when it exited */
  int term_signal;      /* signal that ended bash, 0 if none */
  int pid;              /* bash's pid = the process group id (already dead at the callback) */
} mol_plugin_setup_result;

typedef struct {
  const char *dir;                 /* plugin directory: cwd, and where setup.sh is */
  const char *log_path;            /* stdout+stderr go here (truncated, 0600), capped */
  unsigned timeout_ms;             /* 0 -> 120 s */
  const char *const *env;          /* extra "KEY=value" entries, NULL-terminated, or NULL */
  size_t max_log_bytes;            /* 0 -> 1 MiB; the rest is dropped with a note */
} mol_plugin_setup_opts;

typedef void (*mol_plugin_setup_cb)(const mol_plugin_setup_result *res, void *arg);

/* Runs `bash <dir>/setup.sh` (any mode) with cwd = dir in a new session/process group and an
 * allow-listed environment (PATH, HOME, USER, LOGNAME, LANG, LC_*, TZ, TMPDIR, TERM) plus
 * PLUGIN_DIR and the extra entries. On timeout the whole group gets SIGTERM, then SIGKILL
 * after 2 s; when bash exits, survivors of the group are killed too. cb fires exactly once,
 * never inside this call. Returns 0, or an error (cb will not fire). */
int mol_plugin__setup_run(uv_loop_t *loop, const mol_plugin_setup_opts *o, mol_plugin_setup_cb cb,
                         void *arg);

/* ---- streamed download (download.c, loop thread) ----------------------------------------- */

typedef struct mol_plugin_download mol_plugin_download;

typedef struct {
  int err;                       /* 0, MOL_EHTTP (see status), MOL_ETOOBIG, transport error */
  int status;                    /* HTTP status, 0 if none */
  char msg[MOL_PLUGIN_MSG_MAX];
  char archive_sha256[MOL_SHA256_HEX_LEN + 1]; /* of the bytes received */
  char header_sha256[MOL_SHA256_HEX_LEN + 1];  /* X-Plugin-Sha256, "" when absent */
  uint64_t bytes;
} mol_plugin_download_result;

typedef struct {
  const char *url;
  const mol_http_header *headers;
  size_t nheaders;
  uint64_t max_bytes;            /* 0 -> 512 MiB */
  unsigned idle_timeout_ms;      /* 0 -> 60 s */
  /* Called on the first 2xx head, before any body byte, with the blocking read end of a pipe
   * that carries the body; the callee owns it (and must read it to EOF: see extract.c). The
   * download owns the write end and closes it after the last byte, or early on failure (the
   * reader then sees a truncated stream). Non-zero aborts the download. */
  int (*on_start)(int pipe_read_fd, void *arg);
  void (*on_progress)(uint64_t received, uint64_t total, void *arg); /* total 0: unknown */
  void (*on_done)(const mol_plugin_download_result *res, void *arg); /* exactly once */
  void *arg;
} mol_plugin_download_opts;

/* Starts the download. Returns 0 (on_done will fire, never inside this call) or an error. */
int mol_plugin__download_start(uv_loop_t *loop, mol_http_client *http,
                              const mol_plugin_download_opts *o, mol_plugin_download **out);
/* Aborts: on_done fires with MOL_ECANCELED (unless it already fired). */
void mol_plugin__download_cancel(mol_plugin_download *d);

/* ---- the pipeline (install.c, loop thread) ----------------------------------------------- */

typedef struct mol_plugin_pipeline mol_plugin_pipeline;

typedef struct {                      /* zero = default */
  const char *platform_url;           /* trailing '/' ignored; NULL: no report */
  const char *workspace_id;           /* NULL: no report */
  const char *name;                   /* validated with mol_plugin_name_valid */
  const char *source;                 /* NULL: none in the query; reported as local://<name> */
  /* Where the archive comes from, instead of GET <platform>/workspaces/<id>/plugins/<name>/
   * download: archive_url is fetched without the auth and extra headers (they are the
   * platform's), and its X-Plugin-Sha256 header is ignored (the archive's own server vouching
   * for it is not an out-of-band digest); archive_path is a local file, read by the extractor
   * and hashed on the way (a regular file, within max_download_bytes). */
  const char *archive_url;
  const char *archive_path;
  const char *plugins_dir;            /* <plugins_dir>/<name> is the install */
  const char *auth_token;             /* Authorization: Bearer, NULL: none */
  const mol_http_header *headers;     /* extra request headers (tenant), copied */
  size_t nheaders;
  const char *expected_sha256;        /* content hash supplied out of band */
  int allow_unverified;               /* install without any out-of-band digest */
  int trust_manifest;                 /* without one, accept plugin.yaml's own sha256 */
  int skip_setup;                     /* do not run setup.sh */
  int skip_report;                    /* do not POST /workspaces/:id/plugins */
  unsigned setup_timeout_ms;          /* 0 -> 120 s */
  const char *const *setup_env;       /* extra "K=V" for setup.sh, NULL-terminated */
  uint64_t max_download_bytes;        /* 0 -> 512 MiB */
  unsigned idle_timeout_ms;           /* 0 -> 60 s without a byte */
  mol_plugin_limits limits;
  void (*on_progress)(uint64_t received, uint64_t total, void *arg);
  /* Each stage after the fetch as it begins (verify, swap, setup, report), with progress_arg;
   * the fetch reports through on_progress. */
  void (*on_stage)(mol_plugin_stage stage, void *arg);
  void *progress_arg;
} mol_plugin_pipeline_opts;

typedef struct {
  const char *dir;                    /* the installed directory */
  const char *message;                /* on error: what failed and why */
  char archive_sha256[MOL_SHA256_HEX_LEN + 1];
  char content_sha256[MOL_SHA256_HEX_LEN + 1];
  int verified;                       /* checked against an out-of-band digest */
  int manifest_verified;              /* checked only against plugin.yaml's own sha256 */
  uint64_t archive_bytes, content_bytes, files;
  const char *const *warnings;        /* skipped links, setup and report problems */
  size_t nwarnings;
  int setup_ran;                      /* setup.sh existed and was started */
  mol_plugin_setup_result setup;
  const char *setup_log;              /* path of the captured output, NULL if not run */
  int report_status;                  /* HTTP status of the report, 0 if not sent */
  int report_err;                     /* 0 or why the report failed (never fails install) */
} mol_plugin_pipeline_result;

/* err 0: installed. Everything in res is freed when the callback returns. */
typedef void (*mol_plugin_pipeline_cb)(int err, const mol_plugin_pipeline_result *res, void *arg);

/* Installs a plugin: lock, recover leftovers, stream GET …/plugins/:name/download (or the
 * archive URL) to a temp file and into the extractor (or extract the local archive), verify
 * the content hash against expected_sha256 (or the X-Plugin-Sha256 header; both must agree
 * when both are given) - without either, refuse unless allow_unverified - swap atomically,
 * run setup.sh, report. cb fires exactly once,
 * never inside this call; on 0 *out (if not NULL) is valid until then. Returns 0 or
 * MOL_EINVAL (bad name, missing field: the platform's URL and workspace id are needed without
 * an archive_url or archive_path) - then cb does not fire. */
int mol_plugin_pipeline_start(uv_loop_t *loop, mol_http_client *http,
                              const mol_plugin_pipeline_opts *o, mol_plugin_pipeline_cb cb,
                              void *arg, mol_plugin_pipeline **out);
/* Cancels: cb fires with MOL_ECANCELED unless the swap already happened (then the install
 * completes, skipping setup.sh and the report). */
void mol_plugin_pipeline_cancel(mol_plugin_pipeline *r);

#endif
