#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/adapter.h"

static char *dump(json_t *v) {
  char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(v);
  return s;
}

static void metadata_shapes(void **state) {
  (void)state;
  mol_capabilities c = {.session = 1};
  char *s = dump(mol_runtime_metadata(&c, 900));
  assert_string_equal(s, "{\"capabilities\":{\"heartbeat\":false,\"scheduler\":false,\"session\":true,"
                         "\"status_mgmt\":false,\"retry\":false,\"activity_decoration\":false,"
                         "\"channel_dispatch\":false},\"idle_timeout_seconds\":900}");
  free(s);
  for (int v = -5; v <= 0; v += 5) {
    json_t *m = mol_runtime_metadata(&c, v);
    assert_null(json_object_get(m, "idle_timeout_seconds"));
    assert_non_null(json_object_get(m, "capabilities"));
    json_decref(m);
  }
}

static void transcript_cursor_and_bounds(void **state) {
  (void)state;
  mol_transcript *t = mol_transcript_new(5);
  char line[16];
  for (int i = 0; i < 8; i++) {
    snprintf(line, sizeof(line), "l%d", i);
    assert_int_equal(mol_transcript_append(t, line), 0);
  }
  json_t *r = mol_transcript_lines(t, "hermes", 0, 2); /* 0..2 were dropped: starts at 3 */
  assert_string_equal(json_string_value(json_array_get(json_object_get(r, "lines"), 0)), "l3");
  assert_int_equal(json_integer_value(json_object_get(r, "cursor")), 5);
  assert_true(json_is_true(json_object_get(r, "more")));
  json_decref(r);
  r = mol_transcript_lines(t, "hermes", 5, 100);
  assert_int_equal(json_array_size(json_object_get(r, "lines")), 3);
  assert_int_equal(json_integer_value(json_object_get(r, "cursor")), 8);
  assert_true(json_is_false(json_object_get(r, "more")));
  json_decref(r);
  r = mol_transcript_lines(t, "hermes", 99, 10); /* from the future: empty, cursor stays */
  assert_int_equal(json_array_size(json_object_get(r, "lines")), 0);
  assert_int_equal(json_integer_value(json_object_get(r, "cursor")), 8);
  json_decref(r);
  json_t *tail = mol_transcript_tail(t, 2);
  assert_int_equal(json_array_size(tail), 2);
  assert_string_equal(json_string_value(json_array_get(tail, 1)), "l7");
  json_decref(tail);
  mol_transcript_free(t);
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  static char buf[4096];
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static void memory_blocks_replace_and_remove(void **state) {
  (void)state;
  char dir[] = "/tmp/mol-mem-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof(path), "%s/CLAUDE.md", dir);
  FILE *f = fopen(path, "w");
  fputs("# My notes\nkeep me", f);
  fclose(f);
  assert_int_equal(mol_memory_put_block(path, "style", "rule: a.md", "Use tabs."), 1);
  assert_int_equal(mol_memory_put_block(path, "style", "rule: a.md", "Use tabs."), 0);
  assert_int_equal(mol_memory_put_block(path, "style", "rule: b.md", "Be brief.\n"), 1);
  assert_int_equal(mol_memory_put_block(path, "style", "rule: a.md", "Use spaces."), 1);
  char *text = slurp(path);
  assert_non_null(strstr(text, "# My notes\nkeep me\n"));
  assert_null(strstr(text, "Use tabs."));
  assert_non_null(strstr(text, "Use spaces."));
  assert_non_null(strstr(text, "Be brief."));
  assert_int_equal(mol_memory_put_block(path, "other", "rule: x.md", "Other."), 1);
  assert_int_equal(mol_memory_remove_plugin(path, "style"), 2);
  text = slurp(path);
  assert_null(strstr(text, "Use spaces."));
  assert_null(strstr(text, "Be brief."));
  assert_null(strstr(text, "Plugin: style"));
  assert_non_null(strstr(text, "Other."));
  assert_non_null(strstr(text, "keep me"));
  assert_int_equal(mol_memory_remove_plugin(path, "style"), 0);
  unlink(path);
  rmdir(dir);
}

/* A host keeps one transcript per agent and most never see a line: an empty one must not hold
 * its whole ring (1,000 slots, 8 KB) up front. */
static void transcript_allocates_as_it_fills(void **state) {
  (void)state;
  enum { N = 1000 };
  static mol_transcript *ts[N];
  size_t before = mallinfo2().uordblks;
  for (int i = 0; i < N; i++) assert_non_null(ts[i] = mol_transcript_new(1000));
  size_t grown = mallinfo2().uordblks - before;
  assert_true(grown < N * 256); /* the ring itself: 32 B each, not 8 KB */
  /* Filling one past several growths keeps every line in order, then wraps as before. */
  char line[16];
  for (int i = 0; i < 2500; i++) {
    snprintf(line, sizeof(line), "l%d", i);
    assert_int_equal(mol_transcript_append(ts[0], line), 0);
    if (i == 2) {
      json_t *r = mol_transcript_lines(ts[0], "x", 0, 10);
      assert_int_equal(json_array_size(json_object_get(r, "lines")), 3);
      assert_string_equal(json_string_value(json_array_get(json_object_get(r, "lines"), 2)), "l2");
      json_decref(r);
    }
  }
  json_t *r = mol_transcript_lines(ts[0], "x", 0, 1000); /* 0..1499 fell off */
  json_t *lines = json_object_get(r, "lines");
  assert_int_equal(json_array_size(lines), 1000);
  assert_string_equal(json_string_value(json_array_get(lines, 0)), "l1500");
  assert_string_equal(json_string_value(json_array_get(lines, 999)), "l2499");
  json_decref(r);
  for (int i = 0; i < N; i++) mol_transcript_free(ts[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(metadata_shapes),
    cmocka_unit_test(transcript_cursor_and_bounds),
    cmocka_unit_test(transcript_allocates_as_it_fills),
    cmocka_unit_test(memory_blocks_replace_and_remove),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
