/* molecule/plugin.h - install a plugin: fetch its gzip tar archive (from a URL, a local file or
 * the Molecule platform), extract it with safety checks, verify its content hash, swap it in
 * atomically, run its setup.sh and tell the platform. Included by molecule.h; the conventions
 * (error codes, callbacks exactly once) are molecule.h's. The extraction rules, the content
 * hash and the recovery after a crash are described in docs/plugins.md. */
#ifndef MOLECULE_PLUGIN_H
#define MOLECULE_PLUGIN_H

#include "molecule.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The content hash of what was extracted differs from the expected digest (the value of
 * -EBADMSG, so mol_strerror() names it). The previous version is untouched. */
#define MOL_PLUGIN_EMISMATCH (-74)

typedef struct mol_plugin_install_req mol_plugin_install_req;

/* Where an install is. Stages only move forward; an install that fails stops reporting. */
typedef enum {
  MOL_PLUGIN_STAGE_FETCH = 0, /* archive bytes arriving and being extracted */
  MOL_PLUGIN_STAGE_VERIFY,    /* all extracted; comparing the content hash */
  MOL_PLUGIN_STAGE_SWAP,      /* moving the verified version into place */
  MOL_PLUGIN_STAGE_SETUP,     /* setup.sh running */
  MOL_PLUGIN_STAGE_REPORT     /* telling the platform */
} mol_plugin_stage;

typedef struct {
  mol_plugin_stage stage;
  uint64_t bytes;             /* archive bytes fetched so far */
  uint64_t total;             /* the archive's size when known (Content-Length, file size),
                                 else 0 */
} mol_plugin_progress;

/* Called on the loop thread, never inside mol_plugin_install(): once per stage as it begins,
 * and during MOL_PLUGIN_STAGE_FETCH as bytes arrive. p is valid during the call. */
typedef void (*mol_plugin_progress_cb)(const mol_plugin_progress *p, void *arg);

typedef struct {
  const char *name;           /* required: the directory <dir>/<name>; 1..128 bytes of
                                 [A-Za-z0-9._-], not starting with '.' or '-' */
  const char *dir;            /* required: the plugins directory, created if missing */
  /* Where the archive comes from:
   *  "http://..." or "https://...": fetched directly (never sent the platform's token);
   *  another "scheme://..." (github://acme/x#v1, local://x): resolved by the platform, which
   *      needs platform_url and workspace_id (GET .../plugins/<name>/download?source=...);
   *  "file:///path" or any other string: a local .tar.gz file;
   *  NULL: the platform's own copy of <name> (needs platform_url and workspace_id). */
  const char *source;
  /* The Molecule platform, optional except as said above. When set (with workspace_id) the
   * install is reported with POST /workspaces/<id>/plugins {"source": source or
   * "local://<name>"} unless skip_report; a failed report is a warning, not a failure. */
  const char *platform_url;
  const char *workspace_id;
  const char *token;          /* bearer for the platform; NULL: read <token_dir>/.auth_token if
                                 it exists, else no Authorization */
  const char *token_dir;      /* NULL -> $HOME/.molecule/<workspace_id> */
  const char *org_id;         /* SaaS: X-Molecule-Org-Id to the platform; NULL/"": none */
  /* The content hash expected (64 hex digits, case ignored), as `molecule plugin hash`
   * prints it. Without it the platform's X-Plugin-Sha256 header is used (never a header from
   * a direct URL); without either the install is refused (MOL_EINVAL) unless
   * allow_unverified. */
  const char *expected_sha256;
  int allow_unverified;       /* 1: install without any expected digest (a warning says so) */
  int skip_setup;             /* 1: do not run setup.sh */
  int skip_report;            /* 1: do not report to the platform */
  unsigned setup_timeout_ms;  /* 0 -> 120000; then the whole process group is killed */
  const char *const *setup_env; /* extra "KEY=value" for setup.sh, NULL-terminated, or NULL */
  uint64_t max_archive_bytes; /* 0 -> 512 MiB */
  unsigned idle_timeout_ms;   /* a download without a byte for this long fails; 0 -> 60000 */
  uint64_t max_total_bytes;   /* extracted regular files together; 0 -> 1 GiB */
  uint64_t max_entries;       /* archive entries; 0 -> 50000 */
  uint64_t max_ratio;         /* extracted / compressed bytes; 0 -> 200 */
  mol_plugin_progress_cb on_progress; /* NULL: no progress */
  void *progress_arg;
  /* 1: when neither expected_sha256 nor the platform's header gives a digest, check the
   * content hash against the `sha256` the plugin's own root plugin.yaml declares (as
   * upstream's SDK does by default). This catches a corrupted archive, not a hostile one -
   * the archive's author wrote both - so it is a weaker trust level, logged and reported in
   * the warnings and result.manifest_verified. Without a declared sha256 the install is
   * refused unless allow_unverified; an unreadable one (not a top-level `sha256: <64 hex>`)
   * or a mismatch fails with nothing changed. */
  int trust_manifest;
} mol_plugin_install_opts;

typedef struct {
  const char *dir;            /* the installed directory; NULL when nothing was installed */
  const char *message;        /* on failure: what failed and why; NULL on success */
  const char *archive_sha256; /* SHA-256 of the archive's bytes, hex; "" when none came */
  const char *content_sha256; /* the content hash of what was extracted; "" when not computed */
  int verified;               /* 1: checked against expected_sha256 or the platform's header */
  int manifest_verified;      /* 1: trust_manifest: checked only against the plugin.yaml's own
                                 sha256 (verified stays 0: that is a weaker trust) */
  uint64_t archive_bytes;     /* archive bytes fetched */
  uint64_t content_bytes;     /* bytes of the extracted regular files */
  uint64_t files;             /* regular files extracted */
  const char *const *warnings;/* skipped links, setup.sh and report problems, an unverified
                                 install: nwarnings lines */
  size_t nwarnings;
  int setup_ran;              /* setup.sh existed and was started */
  int setup_exit_status;      /* its exit status when it exited */
  int setup_signal;           /* the signal that ended it, 0 if none */
  int setup_timed_out;        /* 1: killed at setup_timeout_ms */
  const char *setup_log;      /* its captured stdout and stderr; NULL when it did not run */
  int report_status;          /* HTTP status of the report; 0 when none was sent */
  int report_err;             /* 0, or why the report failed */
} mol_plugin_result;

/* err is 0 when the plugin is installed (res->dir), else: MOL_PLUGIN_EMISMATCH; MOL_EINVAL (no
 * expected digest, an entry escaping the directory, a device); MOL_EPROTO (not a gzip tar);
 * MOL_ETOOBIG / MOL_ELIMIT (a limit above); MOL_EHTTP (res->message has the status);
 * MOL_EBUSY (another install or removal in dir right now); MOL_ECANCELED; MOL_ENOENT (no such
 * local file); a transport or file-system error. res->message says which. On every failure
 * the previous version, if any, is untouched and no litter is left in dir. Everything
 * reachable from res is freed when the callback returns. */
typedef void (*mol_plugin_install_cb)(int err, const mol_plugin_result *res, void *arg);

/* Installs a plugin on loop: the steps run on the loop and libuv's thread pool (the
 * extraction holds one pool thread while the archive arrives). cb fires exactly once, never
 * inside this call, after the install has released everything it held (its files, its
 * connections). *out (optional) is valid for mol_plugin_install_cancel() until cb returns.
 * Returns 0, MOL_EINVAL (a missing or invalid field, a source that needs the platform without
 * platform_url and workspace_id, a malformed expected_sha256) or MOL_ENOMEM; cb does not fire
 * then and nothing was touched. */
MOL_EXTERN int mol_plugin_install(mol_loop *loop, const mol_plugin_install_opts *opts,
                                  mol_plugin_install_cb cb, void *arg,
                                  mol_plugin_install_req **out);

/* Cancels an install: cb fires with MOL_ECANCELED, unless the new version was already swapped
 * in (then the install completes, without setup.sh and the report). A local archive being
 * extracted is read to its end first. Calling it again, or from cb, does nothing. */
MOL_EXTERN void mol_plugin_install_cancel(mol_plugin_install_req *req);

#ifdef __cplusplus
}
#endif
#endif /* MOLECULE_PLUGIN_H */
