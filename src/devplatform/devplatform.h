/* devplatform.h - the embedded development platform: the Molecule platform API subset
 * (docs/devplatform.md "Endpoints") served by our HTTP server and stored in SQLite (WAL).
 *
 * One instance lives on one libuv loop. Everything (routes, the A2A proxy, idle timers, the
 * liveness sweep, the per-tick write transaction) runs on that loop; no locks.
 */
#ifndef MOL_DEVPLATFORM_H
#define MOL_DEVPLATFORM_H

#include <uv.h>

typedef struct mol_devplatform mol_devplatform;

typedef struct {                   /* zero = defaults */
  const char *db_path;             /* required: the SQLite file (created when missing) */
  int dev;                         /* --dev: loopback agent URLs allowed, rate limiter off
                                      unless rate_limit > 0, and on a loopback listener admin
                                      and operator calls that carry no Authorization header at
                                      all are let through (a presented bearer is always
                                      checked: only the admin token opens admin routes) */
  const char *admin_token;         /* NULL: env MOLECULE_ADMIN_TOKEN, then ADMIN_TOKEN, then
                                      the file below (generated at first start) */
  const char *admin_token_file;    /* NULL: "<db_path>.admin_token" (mode 0600) */
  int rate_limit;                  /* requests per minute per client IP; 0: env RATE_LIMIT or
                                      600 (unlimited in dev mode); < 0: unlimited */
  unsigned rate_window_ms;         /* 0: 60000 (tests shorten it) */
  unsigned idle_timeout_s;         /* 0: env A2A_IDLE_TIMEOUT_SECONDS, else 300 */
  unsigned ceiling_s;              /* absolute bound for workspace callers; 0: 1800 */
  unsigned liveness_ttl_s;         /* online -> offline without heartbeats; 0: 180 */
  unsigned heartbeat_interval_ms;  /* the agents' heartbeat interval; a delegation whose target
                                      has been silent for more than 10 of them is stuck;
                                      0: 30000 */
  unsigned activity_max_per_ws;    /* activity rows kept per workspace; 0: 10000 */
  unsigned activity_retention_s;   /* 0: env ACTIVITY_RETENTION_DAYS (days) or 7 days */
  unsigned queue_max_per_ws;       /* queued A2A items per target; 0: 1000 */
  unsigned max_body_bytes;         /* request body cap; 0: 1 MiB (the proxy's upstream cap) */
  const char *plugins_dir;         /* plugin downloads: DIR/<name>/ (local:// sources); NULL:
                                      downloads answer 404 */
  const char *configs_dir;         /* the workspaces' config dirs: DIR/<name>/ (or its slug),
                                      whose config.yaml shared_context files a parent shares
                                      with its children; NULL: every parent shares [] */
  unsigned token_cache_max;        /* live tokens kept in memory (hash -> workspace) so that a
                                      heartbeat needs no token query; past it the oldest goes;
                                      0: 262144 (a host of 100,000 agents fits) */
  const char *public_host;         /* host names clients use to reach the platform (comma-
                                      separated, no scheme or port), accepted in Host and
                                      Origin besides localhost and IP addresses; NULL: none */
} mol_devplatform_opts;

/* Opens (or creates and migrates) the database and builds the routes. Returns 0 or a MOL_E*
 * code (MOL_EIO for a database error, MOL_EINVAL for bad options). */
int mol_devplatform_new(uv_loop_t *loop, const mol_devplatform_opts *opts, mol_devplatform **out);

/* Starts listening. port 0 picks a free port (see mol_devplatform_port). */
int mol_devplatform_listen(mol_devplatform *dp, const char *host, int port);
int mol_devplatform_port(const mol_devplatform *dp);

/* The platform's HTTP server, for a route the embedding command adds (GET /metrics); an
 * exact route there wins over the platform's catch-all. Closed by mol_devplatform_close. */
struct mol_http_server *mol_devplatform_http(mol_devplatform *dp);

/* The admin bearer token (never NULL after a successful _new). */
const char *mol_devplatform_admin_token(const mol_devplatform *dp);

/* True when admin calls need no token (dev mode on a loopback listener). */
int mol_devplatform_admin_open(const mol_devplatform *dp);

/* Stops listening, fails in-flight proxy calls with 503 (each responded to once), commits and
 * closes the database; cb(arg) fires once everything is freed (never inside this call). */
void mol_devplatform_close(mol_devplatform *dp, void (*cb)(void *arg), void *arg);

#endif
