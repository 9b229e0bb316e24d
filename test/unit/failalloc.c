/* failalloc.c - allocation-fault injection for the unit tests (failalloc.h): the allocator
 * functions wrapped with the linker's --wrap, counted while armed, the chosen one failing. */
#include "failalloc.h"

#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);

static int armed;
static unsigned long fail_at, made, freed;
static int fired;

/* A place for a debugger's breakpoint: the armed allocation is failing now. */
__attribute__((noinline)) void failalloc_failing(void) { __asm__ volatile(""); }

/* Counts one allocation; 1 when this is the one to fail. */
static int should_fail(void) {
  if (!armed) return 0;
  if (++made == fail_at) {
    made--; /* a failed allocation holds nothing */
    fail_at = 0;
    fired = 1;
    errno = ENOMEM;
    failalloc_failing();
    return 1;
  }
  return 0;
}

static void *counted(void *p) {
  if (!p && armed) made--; /* the real allocator failed */
  return p;
}

void *__wrap_malloc(size_t n) { return should_fail() ? NULL : counted(__real_malloc(n)); }
void *__wrap_calloc(size_t n, size_t m) {
  return should_fail() ? NULL : counted(__real_calloc(n, m));
}
char *__wrap_strdup(const char *s) { return should_fail() ? NULL : counted(__real_strdup(s)); }
char *__wrap_strndup(const char *s, size_t n) {
  return should_fail() ? NULL : counted(__real_strndup(s, n));
}

void __wrap_free(void *p) {
  if (p && armed) freed++;
  __real_free(p);
}

void *__wrap_realloc(void *p, size_t n) {
  if (!p) return __wrap_malloc(n);
  if (!n) { /* frees p, as glibc does */
    __wrap_free(p);
    return NULL;
  }
  if (armed && made + 1 == fail_at) { /* a failed growth leaves p as it was */
    fail_at = 0;
    fired = 1;
    errno = ENOMEM;
    failalloc_failing();
    return NULL;
  }
  if (armed) made++; /* counted as an allocation and a free, so a growth can fail too */
  void *q = __real_realloc(p, n);
  if (armed) {
    if (q) freed++;
    else made--;
  }
  return q;
}

static int counted_vasprintf(char **out, const char *fmt, va_list ap) {
  if (should_fail()) {
    *out = NULL;
    return -1;
  }
  int n = vasprintf(out, fmt, ap); /* inside libc: its malloc is not wrapped */
  if (n < 0 && armed) made--;
  return n;
}

int __wrap_asprintf(char **out, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = counted_vasprintf(out, fmt, ap);
  va_end(ap);
  return n;
}

int __wrap___asprintf_chk(char **out, int flag, const char *fmt, ...) {
  (void)flag;
  va_list ap;
  va_start(ap, fmt);
  int n = counted_vasprintf(out, fmt, ap);
  va_end(ap);
  return n;
}

void failalloc_init(void) { json_set_alloc_funcs(__wrap_malloc, __wrap_free); }

void failalloc_arm(unsigned n) {
  armed = 1;
  fail_at = n;
  made = freed = 0;
  fired = 0;
}

void failalloc_disarm(void) { armed = 0; }
int failalloc_fired(void) { return fired; }
long failalloc_live(void) { return (long)made - (long)freed; }
unsigned long failalloc_count(void) { return made; }

static int allowed(int rc, const int *errs) {
  for (; *errs; errs++)
    if (rc == *errs) return 1;
  return 0;
}

/* Which sweep and which allocation fails, for a debugger's condition. */
unsigned failalloc_sweep_no, failalloc_n;

unsigned failalloc_sweep(const char *what, failalloc_op op, void *arg, const int *errs) {
  failalloc_sweep_no++;
  int trace = getenv("FAILALLOC_TRACE") != NULL;
  for (unsigned n = 1;; n++) {
    if (trace)
      fprintf(stderr, "failalloc: sweep %u (%s): allocation %u fails\n", failalloc_sweep_no, what, n);
    failalloc_n = n;
    failalloc_arm(n);
    int rc = op(arg);
    failalloc_disarm();
    long live = failalloc_live();
    if (live != 0 || (failalloc_fired() && rc && !allowed(rc, errs)) ||
        (!failalloc_fired() && rc))
      print_error("%s: allocation %u failing: returned %d, %ld allocation(s) not freed\n", what,
                  n, rc, live);
    assert_int_equal(live, 0);
    if (!failalloc_fired()) {
      assert_int_equal(rc, 0);
      return (unsigned)failalloc_count();
    }
    if (rc) assert_true(allowed(rc, errs));
    assert_true(n < 100000); /* an operation that never stops allocating */
  }
}
