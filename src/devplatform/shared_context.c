/* shared_context.c - what a parent workspace shares with its children: the body of
 * GET /workspaces/:id/shared-context (the route and its auth are instructions.c's).
 *
 * Upstream reads the parent's config.yaml `shared_context: [relative paths]` from its
 * container, or from the host's template directory matching the workspace name; the dev
 * platform has no containers, so the configs directory (`molecule platform --configs DIR`)
 * plays the template directory: DIR/<workspace name>/, else DIR/<slug> (the name in lower
 * case, every byte outside [a-z0-9_.-] turned into '-'). The answer is
 * [{"path":"<rel>","content":"<text>"}] in the list's order. A path that is not relative,
 * climbs out of the directory (.., a symlink leading out), is no regular file, is larger than
 * 1 MiB or is not UTF-8 text is skipped; no directory, no config.yaml, no list: []. The files
 * are small and local, read on the loop like the SQLite store (a FIFO is no regular file: it
 * is never opened for reading). */
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "base/log.h"
#include "devplatform/dp_int.h"

#define SCOPE "platform"
#define SHARED_FILE_MAX (1u << 20)
#define SHARED_FILES_MAX 64

/* The whole of a regular file under 'max' bytes (NUL-terminated, *len set), or NULL. Opened
 * non-blocking so that a FIFO never stalls the loop; checked regular before any read. */
static char *read_regular(const char *path, size_t max, size_t *len) {
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return NULL;
  struct stat st;
  char *buf = NULL;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size <= max &&
      (buf = malloc((size_t)st.st_size + 1))) {
    size_t n = 0;
    ssize_t k;
    while (n < (size_t)st.st_size && (k = read(fd, buf + n, (size_t)st.st_size - n)) > 0)
      n += (size_t)k;
    buf[n] = '\0';
    *len = n;
  }
  close(fd);
  return buf;
}

/* Skips the value whose first event is ev (a scalar, or a whole mapping or sequence). */
static int skip_value(yaml_parser_t *p, yaml_event_t *ev) {
  int depth = 0, ok = 1;
  do {
    if (ev->type == YAML_MAPPING_START_EVENT || ev->type == YAML_SEQUENCE_START_EVENT) depth++;
    if (ev->type == YAML_MAPPING_END_EVENT || ev->type == YAML_SEQUENCE_END_EVENT) depth--;
    yaml_event_delete(ev);
    if (depth > 0 && !(ok = yaml_parser_parse(p, ev))) break;
  } while (depth > 0);
  return ok;
}

/* The scalars of a sequence whose start has been read, appended to list. */
static void read_items(yaml_parser_t *p, json_t *list) {
  yaml_event_t ev;
  while (yaml_parser_parse(p, &ev)) {
    if (ev.type == YAML_SEQUENCE_END_EVENT) {
      yaml_event_delete(&ev);
      return;
    }
    if (ev.type == YAML_SCALAR_EVENT)
      json_array_append_new(list, json_string((const char *)ev.data.scalar.value));
    if (!skip_value(p, &ev)) return;
  }
}

/* The strings of the top-level `shared_context` sequence, appended to list (nothing when the
 * document is no mapping or has no such sequence). */
static void shared_list(const char *yaml, size_t len, json_t *list) {
  yaml_parser_t p;
  yaml_event_t ev;
  if (!yaml_parser_initialize(&p)) return;
  yaml_parser_set_input_string(&p, (const unsigned char *)yaml, len);
  int ok;
  while ((ok = yaml_parser_parse(&p, &ev))) { /* stream and document start, then the map */
    yaml_event_type_t type = ev.type;
    yaml_event_delete(&ev);
    if (type == YAML_MAPPING_START_EVENT) break;
    if (type != YAML_STREAM_START_EVENT && type != YAML_DOCUMENT_START_EVENT) ok = 0;
    if (!ok) break;
  }
  while (ok && (ok = yaml_parser_parse(&p, &ev))) {
    if (ev.type != YAML_SCALAR_EVENT) { /* the map's end (or a key that is no string) */
      yaml_event_delete(&ev);
      break;
    }
    int wanted = !strcmp((const char *)ev.data.scalar.value, "shared_context");
    yaml_event_delete(&ev);
    if (!(ok = yaml_parser_parse(&p, &ev))) break;
    if (wanted && ev.type == YAML_SEQUENCE_START_EVENT) {
      yaml_event_delete(&ev);
      read_items(&p, list);
      break;
    }
    ok = skip_value(&p, &ev);
  }
  yaml_parser_delete(&p);
}

/* A relative path that stays below its directory by its words: no leading '/', no '..'. */
static int relative_path(const char *rel) {
  if (!*rel || *rel == '/') return 0;
  for (const char *s = rel; *s;) {
    size_t n = strcspn(s, "/");
    if (n == 2 && s[0] == '.' && s[1] == '.') return 0;
    s += n + (s[n] == '/');
  }
  return 1;
}

/* One listed file as {"path","content"}, or NULL (skipped). root is the realpath of the
 * parent's directory: the file's realpath must lie below it. */
static json_t *shared_file(const char *root, const char *rel) {
  char path[PATH_MAX], real[PATH_MAX];
  if (!relative_path(rel) || snprintf(path, sizeof path, "%s/%s", root, rel) >= (int)sizeof path ||
      !realpath(path, real))
    return NULL;
  size_t rl = strlen(root), len = 0;
  if (strncmp(real, root, rl) || real[rl] != '/') return NULL;
  char *text = read_regular(real, SHARED_FILE_MAX, &len);
  json_t *content = text && strlen(text) == len ? json_stringn(text, len) : NULL;
  free(text);
  return content ? json_pack("{s:s,s:o}", "path", rel, "content", content) : NULL;
}

/* DIR/<name>, else DIR/<slug>: the realpath of the first that is a directory, in out. */
static int parent_dir(const char *configs, const char *name, char out[PATH_MAX]) {
  char slug[256], path[PATH_MAX];
  size_t i = 0;
  for (; name[i] && i < sizeof slug - 1; i++) {
    unsigned char ch = (unsigned char)tolower((unsigned char)name[i]);
    slug[i] = isalnum(ch) || ch == '_' || ch == '.' || ch == '-' ? (char)ch : '-';
  }
  slug[i] = '\0';
  const char *tries[] = {strchr(name, '/') ? NULL : name, slug};
  for (size_t k = 0; k < 2; k++) {
    struct stat st;
    const char *t = tries[k];
    if (!t || !*t || !strcmp(t, ".") || !strcmp(t, "..")) continue;
    if (snprintf(path, sizeof path, "%s/%s", configs, t) < (int)sizeof path &&
        stat(path, &st) == 0 && S_ISDIR(st.st_mode) && realpath(path, out))
      return 1;
  }
  return 0;
}

json_t *mol_dp__shared_context(const mol_devplatform *dp, const char *name) {
  json_t *out = json_array();
  char root[PATH_MAX], path[PATH_MAX];
  if (!out || !dp->configs_dir || !parent_dir(dp->configs_dir, name, root)) return out;
  size_t len = 0;
  char *yaml = snprintf(path, sizeof path, "%s/config.yaml", root) < (int)sizeof path
                   ? read_regular(path, SHARED_FILE_MAX, &len) : NULL;
  json_t *list = json_array();
  if (yaml && list) shared_list(yaml, len, list);
  free(yaml);
  size_t i;
  json_t *v;
  json_array_foreach(list, i, v) {
    json_t *f = i < SHARED_FILES_MAX ? shared_file(root, json_string_value(v)) : NULL;
    if (f) json_array_append_new(out, f);
    else mol_logw(SCOPE, "shared context of %s: %s skipped", name, json_string_value(v));
  }
  json_decref(list);
  return out;
}
