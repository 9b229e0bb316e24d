/* host_reload.c - SIGHUP for `molecule host`: the host file read again and applied to the
 * running host (runtime/host.h, mol_host_reload). A file that does not load (bad YAML, a bad
 * field) is one error line naming the problem, and every agent keeps running as it was. */
#include "cli/host_reload.h"

#include <signal.h>
#include <stdio.h>

#include "base/log.h"
#include "cli/cli_util.h"
#include "devplatform/taskdb.h"
#include "molecule.h"

static struct {
  uv_signal_t sig;
  int on;
  mol_host *h;
  const char *path, *listen_host;
  int listen_port;
} hup;

static void on_sighup(uv_signal_t *sig, int signum) {
  (void)sig;
  (void)signum;
  mol_host_config cfg;
  char err[512];
  mol_logi("host", "SIGHUP: reloading %s", hup.path);
  if (mol_host_config_load(hup.path, &cfg, err, sizeof(err))) {
    mol_logx(MOL_LOG_ERROR, "host", MOL_FIELDS(MOL_F_STR("err", err)),
             "reload refused, the agents keep running as they were: %s", err);
    return;
  }
  cfg.data_backend = mol_dp_taskdb_backend(); /* as at start: data_dir's stores in SQLite */
  if (hup.listen_host) {
    snprintf(cfg.listen_host, sizeof(cfg.listen_host), "%s", hup.listen_host);
    cfg.listen_port = hup.listen_port;
  }
  mol_log_level lv;
  if (cfg.log_level && mol_log_level_parse(cfg.log_level, &lv) == 0) mol_log_set_level(lv);
  mol_cli__log_from_env(); /* the environment and the flags still win over the file */
  int rc = mol_host_reload(hup.h, &cfg);
  if (rc) mol_loge("host", "reload: %s", mol_strerror(rc));
}

void mol_cli__host_reload_on_sighup(uv_loop_t *loop, mol_host *h, const char *path,
                                    const char *listen_host, int listen_port) {
  hup.h = h;
  hup.path = path;
  hup.listen_host = listen_host;
  hup.listen_port = listen_port;
  uv_signal_init(loop, &hup.sig);
  uv_signal_start(&hup.sig, on_sighup, SIGHUP);
  uv_unref((uv_handle_t *)&hup.sig);
  hup.on = 1;
}

void mol_cli__host_reload_close(void) {
  if (!hup.on) return;
  hup.on = 0;
  uv_close((uv_handle_t *)&hup.sig, NULL);
}
