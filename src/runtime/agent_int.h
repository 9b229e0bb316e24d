/* agent_int.h - shared by agent.c (lifecycle, platform) and agent_turns.c (the metering
 * executor, the transcript and the snapshot). */
#ifndef MOL_RUNTIME_AGENT_INT_H
#define MOL_RUNTIME_AGENT_INT_H

#include "a2a_uv/server.h"
#include "runtime/agent.h"

typedef struct agent_turn agent_turn;

struct mol_agent {
  uv_loop_t *loop;
  mol_http_server *http;
  mol_http_client *client;
  mol_agent_opts o;            /* strings below are owned copies */
  char *name, *description, *platform_url, *workspace_id, *token_dir, *url, *snapshot_path;
  char *chat_api_base, *chat_model, *chat_system_prompt;
  mol_a2a_executor inner;      /* what answers turns */
  mol_a2a_executor meter;      /* wraps inner: counts and times turns */
  int inner_live;              /* inner must be freed / closed */
  mol_a2a_server *a2a;
  mol_platform_client *pc;
  int pc_running;              /* mol_platform_run's status callback is still due */
  uv_timer_t timer;            /* register retries, then the stop drain */
  int timer_open;
  mol_transcript *transcript;
  agent_turn *live;            /* turns in flight, newest first */
  unsigned live_n;
  char platform_status[32];
  uint64_t started_ms, drain_until;
  unsigned reg_failures;
  mol_agent_stats st;          /* counters; string fields filled by mol_agent_stats_get */
  int snap_busy;               /* a snapshot write is in the thread pool */
  int ending, silent;          /* silent: a failed start tears down without on_end */
  mol_agent_end why;
  int err;
  mol_agent_end_cb on_end;
  void *arg;
};

/* agent_turns.c */
void agent_meter_init(mol_agent *a);
/* The newest live turn's text, shortened ("" when idle); valid until the next turn event. */
const char *agent_current_task(const mol_agent *a);
/* Restores the transcript from an adapter state ({"transcript_lines":[...]}). */
void agent_transcript_restore(mol_agent *a, const json_t *state);
/* Writes the snapshot in the thread pool; agent_maybe_finish() runs when it is done. Returns 0
 * (started) or an error (nothing is pending). */
int agent_snapshot_start(mol_agent *a);

/* agent.c */
void agent_maybe_finish(mol_agent *a);
/* A turn started or ended: asks the platform loop for a heartbeat soon (current_task,
 * active_tasks, error_rate, sample_error) rather than at the next interval. */
void agent_push_soon(mol_agent *a);

#endif
