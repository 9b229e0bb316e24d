/* failalloc.h - allocation-fault injection for the unit tests: the N-th allocation fails.
 *
 * A test linked with failalloc.c and the link arguments `failalloc_link_args` of
 * test/meson.build has every malloc, calloc, realloc, strdup, strndup, asprintf and free of its
 * own objects and of the project's static libraries go through here (the linker's --wrap, so
 * it works under ASan too, which owns the real allocator), and jansson's allocations as well
 * (json_set_alloc_funcs). failalloc_sweep() runs an operation with the 1st, 2nd, 3rd ...
 * allocation failing until a run in which none failed, and checks at each step that the
 * operation failed cleanly (an expected negative error) or recovered, and that everything it
 * allocated was freed. Single-threaded, like the tests. */
#ifndef FAILALLOC_H
#define FAILALLOC_H

#include <stddef.h>

/* Routes jansson's allocations through the counters; call first in main, before any JSON
 * value exists. */
void failalloc_init(void);

/* From now on count allocations; the n-th (1-based) fails, 0: none does. */
void failalloc_arm(unsigned n);
/* Stops counting and failing. */
void failalloc_disarm(void);
/* Whether the armed failure happened since failalloc_arm. */
int failalloc_fired(void);
/* Allocations made minus allocations freed since failalloc_arm. */
long failalloc_live(void);
/* Allocations made since failalloc_arm. */
unsigned long failalloc_count(void);

/* One run of the operation under test: returns 0 or a negative error, checks its own
 * outputs when it returns 0, and frees whatever it produced before returning. */
typedef int (*failalloc_op)(void *arg);

/* Runs op with allocation n = 1, 2, ... failing until a run makes no failed allocation (that
 * run must return 0). A run whose allocation failed must return one of the errors in `errs`
 * (ended by 0), or 0 when the operation recovers (op then checked its result). Every run must
 * free all it allocated. Returns how many allocations the successful run made (cmocka
 * assertions fail the test otherwise). */
unsigned failalloc_sweep(const char *what, failalloc_op op, void *arg, const int *errs);

/* Called as the armed allocation fails: break here in a debugger, with the condition
 * `failalloc_sweep_no == S && failalloc_n == N` (the S-th sweep of the process, the N-th
 * allocation; FAILALLOC_TRACE=1 in the environment prints both as the sweep goes). */
void failalloc_failing(void);
extern unsigned failalloc_sweep_no, failalloc_n;

#endif
