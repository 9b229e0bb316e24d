/* agent.c - a complete Molecule agent with logic of its own, on a libuv loop.
 *
 * "countdown N" counts down from N (at most 100000) at one line per 100 ms, streamed as chunks
 * of one artifact, and stops when the caller cancels; any other text is answered at once with
 * its words in reverse order (an artifact when the caller streams). With PLATFORM_URL and WORKSPACE_ID set (the token from
 * MOLECULE_WORKSPACE_TOKEN or the token file) it registers and heartbeats; without, it serves
 * alone. SIGINT or SIGTERM stops it gracefully. Usage: agent [PORT] */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <molecule.h>
#include <molecule/uv.h>

typedef struct {
  uv_timer_t timer;
  mol_turn *turn;
  long next;
  int sent;
} countdown;

static void countdown_free(uv_handle_t *h) { free(h->data); }

static void tick(uv_timer_t *timer) {
  countdown *c = timer->data;
  char line[32] = "liftoff\n";
  int last = c->next <= 0;
  if (!last) snprintf(line, sizeof(line), "%ld\n", c->next--);
  mol_artifact_chunk chunk = {.name = "countdown", .text = line, .append = c->sent++ > 0,
                              .last_chunk = last};
  mol_turn_artifact(c->turn, &chunk);
  if (!last) return;
  uv_close((uv_handle_t *)&c->timer, countdown_free);
  mol_turn_complete(c->turn, "liftoff");
}

static int reply_reversed(mol_turn *turn, const char *text) {
  char *out = malloc(strlen(text) + 1), *o = out;
  if (!out) return MOL_ENOMEM;
  for (const char *end = text + strlen(text); end > text;) { /* the last word first */
    const char *w = end;
    while (w > text && w[-1] != ' ') w--;
    memcpy(o, w, (size_t)(end - w));
    o += end - w;
    for (end = w; end > text && end[-1] == ' ';) end--;
    if (end > text) *o++ = ' ';
  }
  *o = '\0';
  mol_artifact_chunk chunk = {.name = "reversed", .text = out, .last_chunk = 1};
  int rc = mol_turn_streaming(turn) /* a stream shows artifacts; a send returns a reply */
               ? (mol_turn_artifact(turn, &chunk), mol_turn_complete(turn, NULL))
               : mol_turn_reply_text(turn, out);
  free(out);
  return rc;
}

static int execute(mol_turn *turn, void *arg) {
  (void)arg;
  long n;
  if (sscanf(mol_turn_text(turn), "countdown %ld", &n) != 1 || n < 0 || n > 100000)
    return reply_reversed(turn, mol_turn_text(turn));
  countdown *c = malloc(sizeof(*c));
  if (!c) return MOL_ENOMEM;
  *c = (countdown){.turn = turn, .next = n};
  mol_turn_set_data(turn, c);
  mol_turn_working(turn, "counting down");
  uv_timer_init(mol_turn_loop(turn), &c->timer);
  c->timer.data = c;
  return uv_timer_start(&c->timer, tick, 0, 100);
}

static void cancel(mol_turn *turn, void *arg) { /* only countdowns are still running */
  (void)arg;
  countdown *c = mol_turn_data(turn);
  uv_close((uv_handle_t *)&c->timer, countdown_free);
  mol_turn_canceled(turn);
}

static mol_agent *agent;
static uv_signal_t signals[2];
static int exit_status;

static void on_signal(uv_signal_t *s, int signum) { (void)s, (void)signum; mol_agent_stop(agent); }

static void on_registered(mol_agent *a, void *arg) {
  (void)arg;
  printf("registered %s\n", mol_agent_url(a));
  fflush(stdout);
}

static void on_end(mol_agent *a, mol_agent_end why, int err, void *arg) {
  (void)a, (void)arg;
  fprintf(stderr, "agent ended (%d) %s\n", (int)why, err ? mol_strerror(err) : "");
  exit_status = why == MOL_AGENT_STOPPED || why == MOL_AGENT_PAUSED ? 0 : 1;
  for (int i = 0; i < 2; i++) uv_close((uv_handle_t *)&signals[i], NULL);
}

int main(int argc, char **argv) {
  uv_loop_t *loop = uv_default_loop();
  mol_platform_opts po = {0};
  int on_platform = mol_platform_opts_from_env(&po) == 0;
  if (!on_platform && (po.platform_url || po.workspace_id))
    return fprintf(stderr, "agent: set both PLATFORM_URL and WORKSPACE_ID, or neither\n"), 2;
  mol_executor ex = {.execute = execute, .cancel = cancel, .name = "countdown"};
  mol_agent_params p = {.name = "countdown", .description = "counts down; reverses words",
    .executor = &ex, .listen_port = argc > 1 ? atoi(argv[1]) : 0,
    .platform_url = on_platform ? po.platform_url : NULL, .workspace_id = po.workspace_id,
    .token_dir = po.token_dir, .platform = &po, .capabilities = MOL_PLATFORM_CAP_HEARTBEAT,
    .idle_timeout_s = 300, .on_registered = on_registered};
  int rc = mol_agent_new(loop, &p, on_end, NULL, &agent);
  if (rc) return fprintf(stderr, "agent: %s\n", mol_strerror(rc)), 1;
  printf("serving %s\n", mol_agent_url(agent));
  fflush(stdout);
  for (int i = 0; i < 2; i++) {
    uv_signal_init(loop, &signals[i]);
    uv_signal_start(&signals[i], on_signal, i ? SIGTERM : SIGINT);
  }
  uv_run(loop, UV_RUN_DEFAULT);
  return uv_loop_close(loop) ? 1 : exit_status;
}
