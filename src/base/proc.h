/* proc.h - one handler process on the loop: `/bin/sh -c CMD` in a process group of its
 * own, input written to its stdin, stdout captured (and handed over line by line as it
 * arrives, when asked), the last non-empty line of stderr kept, a deadline and a cap on the
 * output. Nothing blocks the loop: uv_spawn, pipes and one timer; the exit status arrives
 * through libuv's SIGCHLD handling, never a blocking waitpid.
 *
 * A run is over when the shell has exited and both pipes are at end of file (a background
 * child still holding stdout keeps the run going until the deadline). Stopping a run — the
 * deadline, the output cap or mol_proc_kill — signals the whole process group: SIGTERM, then
 * SIGKILL after kill_grace_ms; if after another kill_grace_ms the pipes are still held open (a
 * descendant that left the group), they are closed and the run ends anyway: never a hang.
 *
 * on_done fires exactly once, never inside mol_proc_start or mol_proc_kill, once the shell has
 * been reaped and every handle is closed; the run is freed when it returns. All calls on the
 * loop thread. */
#ifndef MOL_BASE_PROC_H
#define MOL_BASE_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct mol_proc mol_proc;

typedef enum {
  MOL_PROC_EXITED = 0,       /* ended on its own: exit_status / term_signal say how */
  MOL_PROC_TIMED_OUT,        /* the deadline passed; the group was killed */
  MOL_PROC_TOO_MUCH_OUTPUT,  /* stdout passed max_output; the group was killed */
  MOL_PROC_KILLED            /* mol_proc_kill */
} mol_proc_end;

typedef struct {
  mol_proc_end end;
  int64_t exit_status;
  int term_signal;
  const char *out;           /* stdout as read (at most max_output bytes), NUL-terminated */
  size_t out_len;
  const char *err_line;      /* the last non-empty stderr line (at most 1,000 bytes), or "" */
} mol_proc_result;

typedef struct {
  const char *cmd;           /* required: run as /bin/sh -c CMD */
  char **env;                /* the whole environment, NULL-terminated; used during the call */
  const char *input;         /* written to stdin, then stdin is closed; copied */
  size_t input_len;
  unsigned timeout_ms;       /* 0 -> no deadline */
  unsigned kill_grace_ms;    /* SIGTERM -> SIGKILL -> give up the pipes; 0 -> 2000 */
  size_t max_output;         /* 0 -> 1 MiB */
  /* Each stdout line as it arrives (the newline included; a last line without one comes at
   * the end). Borrowed for the call. May be NULL. */
  void (*on_line)(const char *line, size_t len, void *arg);
  /* Each non-empty stderr line (at most 1,000 bytes, NUL-terminated). May be NULL. */
  void (*on_err_line)(const char *line, void *arg);
  /* The result is borrowed for the call. Required. */
  void (*on_done)(const mol_proc_result *r, void *arg);
  void *arg;
} mol_proc_opts;

/* Starts the run. Returns 0, or a negative error (MOL_EINVAL, MOL_ENOMEM, or uv_spawn's, e.g.
 * UV_ENOENT): then on_done never fires and whatever was built closes in the background. */
int mol_proc_start(uv_loop_t *loop, const mol_proc_opts *opts, mol_proc **out);

/* Stops the run (see above); on_done then reports MOL_PROC_KILLED unless the run had already
 * been stopped for another reason or had ended on its own. Idempotent until on_done. */
void mol_proc_kill(mol_proc *p);

/* The shell's process id (its process group's id too). */
int mol_proc_pid(const mol_proc *p);

#endif
