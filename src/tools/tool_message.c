/* tool_message.c - send_message_to_user: a message for the user's chat, with files attached.
 * The files are checked and read off the loop (uv_queue_work: they may be 25 MB each), uploaded
 * in one POST /workspaces/<self>/chat/uploads, and the message goes out with the entries the
 * platform returned (POST /workspaces/<self>/notify). Any failure before the notify aborts the
 * send, as upstream: a message is never sent without the files it announces. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/json.h"
#include "tools/builtin_int.h"

#define FILE_MAX (25u << 20)
#define MAX_FILES 16

static const char send_desc[] =
    "Send a message to the user's chat (the canvas): progress updates and results the user "
    "should see now. Attach files by their absolute paths (25 MB each); do not paste download "
    "URLs into the message.";
static const char send_schema[] =
    "{\"type\":\"object\",\"properties\":{\"message\":{\"type\":\"string\",\"description\":"
    "\"The message to show the user\"},\"attachments\":{\"type\":\"array\",\"items\":{\"type\":"
    "\"string\"},\"description\":\"Absolute paths of files to attach (25 MB each)\"}},"
    "\"required\":[\"message\"]}";

typedef struct {
  char *path;
  char *data;
  size_t len;
} file_in;

typedef struct {
  file_in files[MAX_FILES];
  size_t n;
  char error[600];           /* set by the reader */
  uv_work_t work;
  mol_tools__op *op;
} send_state;

static void send_state_free(void *x) {
  send_state *s = x;
  for (size_t i = 0; i < s->n; i++) {
    free(s->files[i].path);
    free(s->files[i].data);
  }
  free(s);
}

static const char *mime_of(const char *path) {
  static const char *const map[][2] = {
      {".txt", "text/plain"},        {".md", "text/markdown"},     {".csv", "text/csv"},
      {".html", "text/html"},        {".json", "application/json"}, {".pdf", "application/pdf"},
      {".png", "image/png"},         {".jpg", "image/jpeg"},        {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},         {".svg", "image/svg+xml"},     {".zip", "application/zip"},
      {".gz", "application/gzip"},   {".tar", "application/x-tar"}, {".xml", "application/xml"},
      {".yaml", "application/yaml"}, {".yml", "application/yaml"},  {".webp", "image/webp"}};
  const char *dot = strrchr(path, '.');
  for (size_t i = 0; dot && i < sizeof map / sizeof *map; i++)
    if (!strcasecmp(dot, map[i][0])) return map[i][1];
  return "application/octet-stream";
}

/* On the thread pool: only this state is touched. */
static void read_files(uv_work_t *w) {
  send_state *s = w->data;
  for (size_t i = 0; i < s->n && !s->error[0]; i++) {
    file_in *f = &s->files[i];
    struct stat st;
    int fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
      if (fd >= 0) close(fd);
      snprintf(s->error, sizeof s->error, "Error: attachment not found: %s", f->path);
      break;
    }
    if ((uint64_t)st.st_size > FILE_MAX) {
      close(fd);
      snprintf(s->error, sizeof s->error, "Error: %s exceeds per-file limit (25 MB)", f->path);
      break;
    }
    f->data = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (f->data && got < (size_t)st.st_size) {
      ssize_t n = read(fd, f->data + got, (size_t)st.st_size - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += (size_t)n;
    }
    int e = errno;
    close(fd);
    if (!f->data || got != (size_t)st.st_size)
      snprintf(s->error, sizeof s->error, "Error reading %s: %s", f->path,
               f->data ? strerror(e ? e : EIO) : "out of memory");
    f->len = got;
  }
}

static void sent(mol_tools__op *op, int err, const mol_platform_result *res) {
  send_state *s = op->x;
  if (err == MOL_EHTTP)
    mol_tools__fail(op, "Error: platform returned %d", res->http_status);
  else if (err)
    mol_tools__fail(op, "Error sending message: %s", mol_strerror(err));
  else if (s && s->n) {
    char text[96];
    snprintf(text, sizeof text, "Message sent to user with %zu attachment(s)", s->n);
    mol_tools__done(op, text);
  } else {
    mol_tools__done(op, "Message sent to user");
  }
}

static void notify(mol_tools__op *op, const char *attachments_json) {
  op->step = sent;
  int rc =
      mol_platform_notify_attachments(op->pc, mol_tools__arg(op, "message", ""), attachments_json,
                                      NULL, mol_tools__platform_cb, op, &op->req);
  if (rc) sent(op, rc, NULL);
}

static void uploaded(mol_tools__op *op, int err, const mol_platform_result *res) {
  send_state *s = op->x;
  if (err == MOL_EHTTP) {
    mol_tools__fail(op, "Error: chat/uploads returned %d: %.200s", res->http_status,
                    res->body ? res->body : "");
    return;
  }
  if (err) {
    mol_tools__fail(op, "Error uploading attachments: %s", mol_strerror(err));
    return;
  }
  json_t *v = res->body ? json_loads(res->body, 0, NULL) : NULL;
  json_t *files = json_object_get(v, "files");
  if (!json_is_array(files)) {
    mol_tools__fail(op, "Error parsing upload response: no files list");
  } else if (json_array_size(files) != s->n) {
    mol_tools__fail(op, "Error: upload returned %zu entries for %zu files", json_array_size(files),
                    s->n);
  } else {
    char *att = json_dumps(files, JSON_COMPACT);
    if (att) notify(op, att);
    else
      mol_tools__fail(op, "Error: out of memory");
    free(att);
  }
  json_decref(v);
}

static void after_read(uv_work_t *w, int status) {
  send_state *s = w->data;
  mol_tools__op *op = s->op;
  op->x_cancel = NULL;
  if (mol_tool_call_stopping(op->call)) {
    mol_tools__done(op, "canceled");
    return;
  }
  if (status || s->error[0]) {
    mol_tools__fail(op, "%s", s->error[0] ? s->error : "Error: the files could not be read");
    return;
  }
  mol_platform_upload_file up[MAX_FILES];
  for (size_t i = 0; i < s->n; i++) {
    const char *base = strrchr(s->files[i].path, '/');
    up[i] = (mol_platform_upload_file){.name = base ? base + 1 : s->files[i].path,
                                       .mime_type = mime_of(s->files[i].path),
                                       .data = s->files[i].data, .len = s->files[i].len};
  }
  op->step = uploaded;
  int rc = mol_platform_chat_upload(op->pc, up, s->n, NULL, mol_tools__platform_cb, op, &op->req);
  if (rc == MOL_EINVAL)
    mol_tools__fail(op, "Error: an attachment's name or content cannot be uploaded");
  else if (rc)
    mol_tools__fail(op, "Error uploading attachments: %s", mol_strerror(rc));
}

/* A cancel while the files are read: the read finishes (it cannot be stopped halfway), then
 * after_read ends the call. */
static void cancel_read(mol_tools__op *op) {
  (void)op;
}

static int send_start(mol_tool_call *call, json_t *args) {
  mol_tools__op *op = mol_tools__op_start(call, args, 1);
  if (!op) return 0;
  if (!*mol_tools__arg(op, "message", "")) {
    mol_tools__fail(op, "Error: message is required");
    return 0;
  }
  json_t *list = json_object_get(args, "attachments"), *item;
  size_t i, n = 0;
  json_array_foreach(list, i, item) n += json_string_length(item) > 0; /* "" dropped, as upstream */
  if (!n) {
    notify(op, NULL);
    return 0;
  }
  if (n > MAX_FILES) {
    mol_tools__fail(op, "Error: at most %d attachments per message", MAX_FILES);
    return 0;
  }
  send_state *s = calloc(1, sizeof *s);
  if (!s) {
    mol_tools__fail(op, "Error: out of memory");
    return 0;
  }
  op->x = s;
  op->x_free = send_state_free;
  s->op = op;
  json_array_foreach(list, i, item) {
    if (json_string_length(item) == 0) continue;
    if (!(s->files[s->n].path = strdup(json_string_value(item)))) {
      mol_tools__fail(op, "Error: out of memory");
      return 0;
    }
    s->n++;
  }
  s->work.data = s;
  if (uv_queue_work(mol_tool_call_env(call)->loop, &s->work, read_files, after_read)) {
    mol_tools__fail(op, "Error: the files could not be read");
    return 0;
  }
  op->x_cancel = cancel_read;
  return 0;
}

int mol_tools__add_send_message(mol_tools *reg, mol_tools_builtin *b) {
  return mol_tools__add(reg, b, "send_message_to_user", send_desc, send_schema, send_start);
}
