/* install_int.h - the install pipeline's state, shared by install.c (options, fetch,
 * extraction, verification, swap, completion) and install_tail.c (setup.sh and the report,
 * the steps after the swap). Internal to src/plugin. */
#ifndef MOL_PLUGIN_INSTALL_INT_H
#define MOL_PLUGIN_INSTALL_INT_H

#include "plugin/plugin.h"

enum { MOL_PLUGIN__PATH_CAP = 4096 };

struct mol_plugin_pipeline {
  uv_loop_t *loop;
  mol_http_client *http;
  mol_plugin_pipeline_cb cb;
  void *arg;
  /* copied options */
  char *platform_url, *workspace_id, *name, *source, *plugins_dir, *auth_token;
  char *archive_url, *archive_path;
  mol_http_header *headers;  /* Authorization + caller's extras, all copied */
  size_t nheaders;
  char **setup_env;
  char expected[MOL_SHA256_HEX_LEN + 1];
  char manifest_sha256[MOL_SHA256_HEX_LEN + 1]; /* plugin.yaml's, in the manifest trust mode */
  int allow_unverified, trust_manifest, skip_setup, skip_report;
  unsigned setup_timeout_ms, idle_timeout_ms;
  uint64_t max_download;
  mol_plugin_limits limits;
  void (*on_progress)(uint64_t, uint64_t, void *);
  void (*on_stage)(mol_plugin_stage, void *);
  void *progress_arg;
  /* state */
  char dir[MOL_PLUGIN__PATH_CAP], staging[MOL_PLUGIN__PATH_CAP], tgz[MOL_PLUGIN__PATH_CAP], target[MOL_PLUGIN__PATH_CAP], log_path[MOL_PLUGIN__PATH_CAP];
  int lock_fd, tgz_fd, pipe_rd, local_fd;
  uint64_t local_size;
  uv_work_t work, extract_work;
  mol_plugin_download *dl;
  int dl_done, extracting, extract_done, swapped, canceled, recovered;
  mol_plugin_download_result dlres;
  mol_plugin_extract_result xres;
  int err;
  char msg[MOL_PLUGIN_MSG_MAX];
  char **warnings;
  size_t nwarnings;
  mol_plugin_pipeline_result res;
};

/* Reports the start of a stage to the caller's on_stage, if any. */
void mol_plugin__stage(mol_plugin_pipeline *r, mol_plugin_stage s);
/* Logs a warning and keeps it for the result. */
void mol_plugin__add_warning(mol_plugin_pipeline *r, const char *line);
/* After the swap: setup.sh (unless skipped, cancelled or absent), then the report, then
 * mol_plugin__finish. */
void mol_plugin__run_setup(mol_plugin_pipeline *r);
/* Releases the lock, fires the callback with the result and frees r. */
void mol_plugin__finish(mol_plugin_pipeline *r);

#endif
