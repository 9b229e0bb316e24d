/* dev_org.c - `molecule dev`: platform, organisation, agents, demo, status, shutdown.
 * Everything is a callback chain on one loop: org -> agents -> online -> demo -> status. */
#include "cli/dev_org.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/holds.h"
#include "base/json.h"
#include "http/proxy.h"
#include "base/log.h"
#include "base/sdnotify.h"
#include "cli/cli_util.h"
#include "cli/dev_agents.h"
#include "cli/metrics_proc.h"
#include "devplatform/devplatform.h"
#include "molecule/uv.h"
#include "runtime/agent.h"
#include "runtime/revive.h"

#define MEMBERS 3 /* the coordinator, then its workers */

typedef struct dev dev;

typedef struct {
  dev *d;
  const char *name, *role;
  char id[40];
  char token_dir[4200]; /* <db>.tokens/<id>: the demo keeps its state beside its database */
  mol_agent *agent;
  int state; /* 0 not started, 1 started, 2 online */
  int ended;
  mol_agent_end why;
  mol_revive *revive;  /* paused: waiting for its workspace to be resumed */
} member;

struct dev {
  const dev_opts *o;
  uv_loop_t loop;
  mol_devplatform *dp;
  mol_http_client *http;
  mol_http_server *agents_http;
  mol_cli__metrics platform_metrics, agents_metrics; /* GET /metrics on both listeners */
  char platform_url[200];
  member m[MEMBERS];
  dev_coordinator coord;
  mol_agent_tools *tools[MEMBERS];   /* each member's core tools, acting as its agent */
  mol_tools_builtin *route_b;        /* the state of the coordinator's route_task_to_team */
  mol_a2a_executor coord_ex;
  dev_worker workers[MEMBERS - 1];
  mol_a2a_executor worker_ex[MEMBERS - 1];
  int use_chat;
  uv_timer_t tick;        /* the status ticks; the holds' last handle */
  mol_holds holds;        /* its own until stopped; each agent until it ends */
  int online, demo_done, stopping, exit_code, tty;
  int agents_port; /* the listener's, which the OS picked when --listen asked for port 0 */
  mol_buf transcript;     /* the conversation so far, shown in the status view */
  char last_table[1024];
};

static void dev_stop(void *arg);

static void say(dev *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(dev *d, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  mol_buf line = MOL_BUF_INIT;
  mol_buf_vprintf(&line, fmt, ap);
  va_end(ap);
  mol_buf_append(&d->transcript, line.data, line.len);
  mol_buf_append_str(&d->transcript, "\n");
  if (!d->tty) {
    printf("%s\n", line.data);
    fflush(stdout);
  }
  mol_buf_free(&line);
}

/* ---- the platform's operator API ------------------------------------------------------------ */

typedef void (*api_cb)(dev *d, int status, json_t *body, void *arg);
typedef struct {
  dev *d;
  api_cb cb;
  void *arg;
} api_call;

static void on_api_done(mol_http_request *r, int err, const mol_http_response *resp, void *arg) {
  (void)r;
  api_call *c = arg;
  json_t *body = !err && resp && resp->body ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
  c->cb(c->d, err ? err : resp->status, body, c->arg);
  json_decref(body);
  free(c);
}

static void api(dev *d, const char *method, const char *path, json_t *body, api_cb cb, void *arg) {
  char url[400];
  snprintf(url, sizeof(url), "%s%s", d->platform_url, path);
  char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  json_decref(body);
  mol_http_header h[1] = {{"Content-Type", "application/json"}};
  mol_http_request_opts o = {.method = method, .url = url, .headers = h, .nheaders = 1,
                             .body = text, .body_len = text ? strlen(text) : 0,
                             .total_timeout_ms = 90000};
  api_call *c = malloc(sizeof(*c));
  int rc = MOL_ENOMEM;
  if (c) {
    *c = (api_call){d, cb, arg};
    rc = mol_http_request_send(d->http, &o, on_api_done, c, NULL);
  }
  free(text);
  if (rc) {
    free(c);
    cb(d, rc, NULL, arg);
  }
}

/* ---- status view ---------------------------------------------------------------------------- */

static const char *end_name(mol_agent_end why) {
  return why == MOL_AGENT_PAUSED ? "paused" : why == MOL_AGENT_DELETED ? "deleted"
       : why == MOL_AGENT_FAILED ? "failed" : "stopped";
}

static void status_view(dev *d) {
  char table[1024];
  size_t n = 0;
  for (int i = 0; i < MEMBERS; i++) {
    member *mb = &d->m[i];
    mol_agent_stats st = {0};
    if (mb->agent && !mb->ended) mol_agent_stats_get(mb->agent, &st);
    const char *status = mb->ended ? end_name(mb->why)
                       : st.platform_status && *st.platform_status ? st.platform_status : "starting";
    n += (size_t)snprintf(table + n, sizeof(table) - n,
                          "  %-12s %-11s %-9s turns %-4llu heartbeats %-4llu live %u\n", mb->name,
                          mb->role, status, st.turns, st.heartbeats, st.live_turns);
  }
  if (d->tty) { /* redraw the whole screen: header, conversation, agents */
    printf("\033[H\033[2Jmolecule dev - platform %s, agents %s:%d (Ctrl-C to stop)\n\n%s\n%s",
           d->platform_url, d->o->agents_host, d->agents_port,
           d->transcript.data ? d->transcript.data : "", table);
  } else if (strcmp(table, d->last_table) != 0) { /* plain output: only what changed */
    printf("agents:\n%s", table);
  }
  snprintf(d->last_table, sizeof(d->last_table), "%s", table);
  fflush(stdout);
}

/* ---- demo ----------------------------------------------------------------------------------- */

static void on_demo_reply(dev *d, int status, json_t *body, void *arg) {
  (void)arg;
  d->demo_done = 1;
  json_t *parts = json_object_get(json_object_get(body, "result"), "parts");
  const char *text = json_string_value(json_object_get(json_array_get(parts, 0), "text"));
  if (status == 200 && text) {
    say(d, "[coordinator -> canvas]\n%s", text);
    /* The coordinator answers even when its team did not: a delegation that failed, or a
     * worker whose model could not be reached (the chat bridge's documented reply markers),
     * is a failed run for --once, so scripts and CI see it. */
    if (d->coord.failures || strstr(text, "[hermes-agent unreachable]") ||
        strstr(text, "[hermes-agent error ")) {
      say(d, "demo failed: a worker failed (see its answer above)");
      d->exit_code = 1;
    }
  } else {
    char *raw = body ? json_dumps(body, JSON_COMPACT) : NULL;
    say(d, "demo failed: %s %s", status > 0 ? "HTTP" : mol_strerror(status), raw ? raw : "");
    free(raw);
    d->exit_code = 1;
  }
  if (d->o->once) dev_stop(d);
}

static void send_demo(dev *d) {
  say(d, "[canvas -> coordinator, through the platform] %s", d->o->question);
  json_t *body = json_pack("{s:s,s:s,s:s,s:{s:{s:s,s:s,s:[{s:s,s:s}]}}}", "jsonrpc", "2.0", "id",
                           "demo-1", "method", "message/send", "params", "message", "role", "user",
                           "messageId", "demo-question", "parts", "kind", "text", "text", d->o->question);
  char path[100];
  snprintf(path, sizeof(path), "/workspaces/%s/a2a", d->m[0].id);
  api(d, "POST", path, body, on_demo_reply, NULL);
}

/* Each member's core tools act as its agent (its platform client, its token), once all are
 * registered: the demo's executors call them. */
static int member_tools(dev *d, int i) {
  mol_platform_client *pc = mol_agent_platform_client(d->m[i].agent);
  mol_agent_tools_opts to = {.loop = &d->loop, .platform = pc, .workspace_id = d->m[i].id,
                             .set = MOL_TOOLS_SET_CORE};
  if (i > 0) d->workers[i - 1].tools = NULL;
  else d->coord.tools = NULL;
  mol_agent_tools_free(d->tools[i]); /* a revived member's old ones (its agent has ended) */
  d->tools[i] = NULL;
  int rc = pc ? mol_agent_tools_new(&to, &d->tools[i]) : MOL_EINVAL;
  if (rc) return rc;
  mol_tools *reg = mol_agent_tools_registry(d->tools[i]);
  if (i > 0) {
    d->workers[i - 1].tools = reg;
    return 0;
  }
  /* The coordinator finds its team on the platform (its children) through route_task_to_team,
   * as any hosted agent in coordinator mode does. */
  if (!d->route_b && !(d->route_b = mol_tools_builtin_new(NULL))) return MOL_ENOMEM;
  rc = mol_tools_add_route(reg, d->route_b);
  if (!rc) d->coord.tools = reg;
  return rc;
}

static int give_tools(dev *d) {
  int rc = 0;
  for (int i = 0; i < MEMBERS && !rc; i++) rc = member_tools(d, i);
  return rc;
}

static void on_member_state(dev *d, int status, json_t *body, void *arg) {
  member *mb = arg;
  const char *st = mol_json_str(body, "status");
  if (status == 200 && st && strcmp(st, "online") == 0 && mb->state == 1) mb->state = 2;
  int all = 1;
  for (int i = 0; i < MEMBERS; i++) all &= d->m[i].state == 2;
  if (all && !d->online && !d->stopping) {
    d->online = 1;
    say(d, "all three agents registered and online");
    int rc = give_tools(d);
    if (rc) {
      say(d, "demo failed: the agents' tools: %s", mol_strerror(rc));
      d->exit_code = 1;
      dev_stop(d);
      return;
    }
    send_demo(d);
  }
}

static void on_tick(uv_timer_t *t) {
  dev *d = t->data;
  if (d->stopping) return;
  if (d->online) {
    status_view(d);
    return;
  }
  char path[100];
  for (int i = 0; i < MEMBERS; i++) {
    if (d->m[i].state != 1) continue;
    snprintf(path, sizeof(path), "/workspaces/%s", d->m[i].id);
    api(d, "GET", path, NULL, on_member_state, &d->m[i]);
  }
}

/* ---- agents --------------------------------------------------------------------------------- */

static int start_member(dev *d, int i);

static void on_revive(int resumed, void *arg) {
  member *mb = arg;
  dev *d = mb->d;
  mb->revive = NULL;
  if (resumed && !d->stopping) {
    int i = (int)(mb - d->m);
    int rc = start_member(d, i);
    if (!rc && d->online) rc = member_tools(d, i);
    if (rc) say(d, "agent %s could not start again: %s", mb->name, mol_strerror(rc));
    else say(d, "agent %s resumed", mb->name);
  }
  mol_holds_drop(&d->holds); /* the watcher's */
}

/* A paused agent comes back when its workspace is resumed (`molecule platform resume ID`); the
 * watch polls with the agent's own token (a is the agent that just ended). */
static void watch_paused(member *mb, mol_agent *a) {
  dev *d = mb->d;
  int rc = mol_revive_agent(a, NULL, on_revive, mb, &mb->revive);
  if (rc) say(d, "agent %s: cannot watch its paused workspace: %s", mb->name, mol_strerror(rc));
  else mol_holds_take(&d->holds); /* until the watcher has closed */
}

static void on_agent_end(mol_agent *a, mol_agent_end why, int err, void *arg) {
  member *mb = arg;
  mb->ended = 1;
  mb->why = why;
  mb->agent = NULL;
  if (why != MOL_AGENT_STOPPED)
    say(mb->d, "agent %s ended: %s%s%s", mb->name, end_name(why), err ? ": " : "",
        err ? mol_strerror(err) : "");
  if (why == MOL_AGENT_PAUSED && !mb->d->stopping) watch_paused(mb, a);
  mol_holds_drop(&mb->d->holds); /* the agent's */
}

static int start_member(dev *d, int i) {
  member *mb = &d->m[i];
  char url[300];
  snprintf(url, sizeof(url), "http://%s:%d/agents/%s/", d->o->agents_host, d->agents_port, mb->name);
  /* Tokens beside the database rather than in ~/.molecule, so that deleting the demo's
   * database forgets the demo and two demos with different --db never share a token. */
  char dir[sizeof mb->token_dir];
  int n = snprintf(dir, sizeof dir, "%s.tokens/%s", d->o->db, mb->id);
  if (n < 0 || (size_t)n >= sizeof dir) return MOL_ETOOBIG;
  memcpy(mb->token_dir, dir, (size_t)n + 1);
  mol_agent_opts o = {.name = mb->name, .description = mb->role, .platform_url = d->platform_url,
                      .workspace_id = mb->id, .public_url = url, .token_dir = mb->token_dir,
                      .heartbeat_ms = 2000, .state_poll_ms = 2000};
  if (i == 0) {
    o.exec = MOL_AGENT_EXEC_CUSTOM;
    o.custom = &d->coord_ex;
  } else if (d->use_chat) {
    o.exec = MOL_AGENT_EXEC_CHAT;
    o.chat_system_prompt = mb->role;
  } else {
    o.exec = MOL_AGENT_EXEC_CUSTOM;
    o.custom = &d->worker_ex[i - 1];
  }
  int rc = mol_agent_start(&d->loop, d->agents_http, d->http, &o, on_agent_end, mb, &mb->agent);
  if (rc) return rc;
  mol_holds_take(&d->holds); /* until on_agent_end */
  mb->ended = 0;
  if (mb->state == 0) mb->state = 1; /* a revived member stays online for the status view */
  return 0;
}

static void note(void *arg, const char *line) { say(arg, "%s", line); }

static int start_agents(dev *d) {
  int rc = 0;
  d->coord.note = note;
  d->coord.note_arg = d;
  for (int i = 1; i < MEMBERS; i++) {
    d->workers[i - 1] = (dev_worker){.role = d->m[i].role, .note = note, .note_arg = d};
    mol_cli__dev_worker_executor(&d->workers[i - 1], &d->worker_ex[i - 1]);
  }
  mol_cli__dev_coordinator_executor(&d->coord, &d->coord_ex);
  for (int i = 0; i < MEMBERS && !rc; i++) rc = start_member(d, i);
  if (!rc) say(d, "agents started on http://%s:%d/agents/<name>/ (%s)", d->o->agents_host,
               d->agents_port, d->use_chat ? "workers answer with HERMES_API_BASE" : "built-in answers");
  return rc;
}

/* ---- organisation: found by name on a second run, created otherwise ------------------------- */

static void ensure_next(dev *d);

static void on_created(dev *d, int status, json_t *body, void *arg) {
  member *mb = arg;
  const char *id = mol_json_str(body, "id");
  if (status != 201 || !id) {
    fprintf(stderr, "molecule dev: creating workspace %s failed (%d)\n", mb->name, status);
    d->exit_code = 1;
    dev_stop(d);
    return;
  }
  snprintf(mb->id, sizeof(mb->id), "%s", id);
  say(d, "created workspace %-12s %s", mb->name, mb->id);
  ensure_next(d);
}

static void ensure_next(dev *d) {
  if (d->stopping) return;
  for (int i = 0; i < MEMBERS; i++) {
    member *mb = &d->m[i];
    if (mb->id[0]) continue;
    json_t *b = json_pack("{s:s,s:s}", "name", mb->name, "role", mb->role);
    if (i > 0) json_object_set_new(b, "parent_id", json_string(d->m[0].id));
    api(d, "POST", "/workspaces", b, on_created, mb);
    return;
  }
  int rc = start_agents(d);
  if (rc) {
    fprintf(stderr, "molecule dev: starting agents failed: %s\n", mol_strerror(rc));
    d->exit_code = 1;
    dev_stop(d);
  }
}

static void on_listed(dev *d, int status, json_t *body, void *arg) {
  (void)arg;
  size_t i;
  json_t *w;
  json_array_foreach(status == 200 ? body : NULL, i, w) {
    const char *name = mol_json_str(w, "name"), *id = mol_json_str(w, "id");
    for (int k = 0; k < MEMBERS && name && id; k++)
      if (!d->m[k].id[0] && strcmp(name, d->m[k].name) == 0) {
        snprintf(d->m[k].id, sizeof(d->m[k].id), "%s", id);
        say(d, "found workspace %-12s %s", name, id);
      }
  }
  ensure_next(d);
}

/* ---- shutdown ------------------------------------------------------------------------------- */

static void on_dp_closed(void *arg) {
  (void)arg;
  mol_cli__signals_close();
}

static void on_agents_http_closed(void *arg) {
  dev *d = arg;
  mol_http_client_close(d->http, NULL, NULL);
  mol_devplatform_close(d->dp, on_dp_closed, d);
}

/* The holds' finish: stopping, and every agent has ended. */
static void close_rest(void *arg) {
  dev *d = arg;
  for (int i = 0; i < MEMBERS; i++) mol_agent_tools_free(d->tools[i]); /* agents ended */
  mol_tools_builtin_release(d->route_b);
  mol_http_server_close(d->agents_http, 1000, on_agents_http_closed, d);
}

static void dev_stop(void *arg) {
  dev *d = arg;
  if (d->stopping) return;
  d->stopping = 1;
  if (d->tty) status_view(d);
  printf("stopping...\n");
  fflush(stdout);
  uv_timer_stop(&d->tick);
  for (int i = 0; i < MEMBERS; i++) {
    if (d->m[i].agent && !d->m[i].ended) mol_agent_stop(d->m[i].agent);
    if (d->m[i].revive) mol_revive_cancel(d->m[i].revive);
  }
  mol_holds_drop(&d->holds); /* its own: the rest closes once every agent has ended */
}

/* ---- start ---------------------------------------------------------------------------------- */

static int start_platform(dev *d) {
  mol_devplatform_opts po = {.db_path = d->o->db, .dev = 1};
  int rc = mol_devplatform_new(&d->loop, &po, &d->dp);
  if (rc) { /* the database, not the address */
    fprintf(stderr, "molecule dev: cannot open the database '%s': %s (see --db)\n", d->o->db,
            mol_strerror(rc));
    return rc;
  }
  rc = mol_devplatform_listen(d->dp, d->o->platform_host, d->o->platform_port);
  if (rc) {
    fprintf(stderr, "molecule dev: platform on %s:%d: %s (try --platform-listen)\n",
            d->o->platform_host, d->o->platform_port, mol_strerror(rc));
    return rc;
  }
  snprintf(d->platform_url, sizeof(d->platform_url), "http://%s:%d", d->o->platform_host,
           mol_devplatform_port(d->dp));
  say(d, "platform: %s (database %s)", d->platform_url, d->o->db);
  return 0;
}

static int start_listener(dev *d) {
  int rc = mol_http_server_new(&d->loop, NULL, &d->agents_http);
  if (!rc) rc = mol_http_server_listen(d->agents_http, d->o->agents_host, d->o->agents_port);
  if (rc) fprintf(stderr, "molecule dev: agents on %s:%d: %s (try --listen)\n", d->o->agents_host,
                  d->o->agents_port, mol_strerror(rc));
  else d->agents_port = mol_http_server_port(d->agents_http);
  return rc;
}

/* GET /metrics on both listeners (metrics_proc.c), each with its own requests. */
static int start_metrics(dev *d) {
  int rc = mol_cli__metrics_route(&d->platform_metrics, mol_devplatform_http(d->dp), NULL, NULL);
  if (!rc) rc = mol_cli__metrics_route(&d->agents_metrics, d->agents_http, NULL, NULL);
  if (rc) fprintf(stderr, "molecule dev: /metrics: %s\n", mol_strerror(rc));
  return rc;
}

int mol_cli__dev_run(const dev_opts *o) {
  static dev d; /* lives as long as the process; the loop refers to it until the end */
  memset(&d, 0, sizeof(d));
  d.o = o;
  d.tty = isatty(1);
  const char *names[MEMBERS] = {"coordinator", "researcher", "writer"};
  const char *roles[MEMBERS] = {"coordinator", "researcher", "writer"};
  for (int i = 0; i < MEMBERS; i++) d.m[i] = (member){.d = &d, .name = names[i], .role = roles[i]};
  const char *base = getenv("HERMES_API_BASE");
  d.use_chat = base && *base;
  uv_loop_init(&d.loop);
  /* The demo's platform and agents are on this machine: the environment's proxies stay for a
   * model backend elsewhere (HERMES_API_BASE), and loopback is added to NO_PROXY for every
   * client the demo creates (each reads the environment when it is made). */
  char no_proxy[2048];
  const char *np = mol_http__no_proxy_env();
  snprintf(no_proxy, sizeof no_proxy, "%s%slocalhost,127.0.0.0/8,::1", np ? np : "",
           np && *np ? "," : "");
  setenv("no_proxy", no_proxy, 1);
  setenv("NO_PROXY", no_proxy, 1);
  mol_http_client_opts co = {.max_conns_per_origin = 32};
  if (mol_http_client_new(&d.loop, &co, &d.http) || start_platform(&d) || start_listener(&d) ||
      start_metrics(&d)) {
    return 1; /* the process ends here; nothing was started that must be stopped */
  }
  mol_sd_notify("READY=1");
  uv_timer_init(&d.loop, &d.tick);
  d.tick.data = &d;
  mol_holds_init(&d.holds, (uv_handle_t *)&d.tick, close_rest, &d);
  uv_timer_start(&d.tick, on_tick, 200, d.tty ? 1000 : 500);
  mol_cli__on_stop_signal(&d.loop, dev_stop, &d);
  api(&d, "GET", "/workspaces", NULL, on_listed, NULL);
  uv_run(&d.loop, UV_RUN_DEFAULT);
  uv_run(&d.loop, UV_RUN_DEFAULT);
  mol_buf_free(&d.transcript);
  int leftover = uv_loop_close(&d.loop);
  if (leftover) mol_logw("dev", "loop closed with handles still open");
  printf("stopped\n");
  return d.exit_code;
}
