/* uploads.c - chat attachments: POST /workspaces/<self>/chat/uploads (multipart/form-data, one
 * part named "files" per file) and POST /workspaces/<self>/notify with the entries it returned
 * as attachments. The files' bytes are passed in by the caller (read off the loop by it); the
 * body is built in memory. Never retried: a POST. */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/str.h"
#include "platform/platform_int.h"

#define UPLOAD_TIMEOUT_MS 60000

/* A name for a header's quoted string: no quote, CR, LF or NUL. */
static int header_safe(const char *s) {
  return s && *s && !strpbrk(s, "\"\r\n");
}

static char *multipart_body(const mol_platform_upload_file *files, size_t n, size_t *len) {
  static const char delim[] = "--" MOL_PLATFORM__BOUNDARY;
  mol_buf b = MOL_BUF_INIT;
  int rc = 0;
  for (size_t i = 0; !rc && i < n; i++) {
    const mol_platform_upload_file *f = &files[i];
    rc = mol_buf_printf(&b,
                        "%s\r\nContent-Disposition: form-data; name=\"files\"; filename=\"%s\""
                        "\r\nContent-Type: %s\r\n\r\n",
                        delim, f->name, f->mime_type ? f->mime_type : "application/octet-stream");
    if (!rc) rc = mol_buf_append(&b, f->data, f->len);
    if (!rc) rc = mol_buf_append_str(&b, "\r\n");
  }
  if (!rc) rc = mol_buf_printf(&b, "%s--\r\n", delim);
  if (rc) {
    mol_buf_free(&b);
    return NULL;
  }
  *len = b.len;
  return mol_buf_steal(&b);
}

typedef struct {
  const mol_platform_upload_file *files;
  size_t n;
} upload_args;

static int upload_start(mol_platform_req *r, const void *ctx) {
  const upload_args *a = ctx;
  mol_platform_client *c = r->c;
  size_t len = 0;
  char *body = multipart_body(a->files, a->n, &len);
  if (!body) return MOL_ENOMEM;
  return mol_platform__exchange(r, "POST",
                                mol_platform__url(c, "/workspaces/%s/chat/uploads", c->ws_id),
                                body, len,
                                MOL_PLATFORM__H_AUTH | MOL_PLATFORM__H_TENANT |
                                    MOL_PLATFORM__H_WS | MOL_PLATFORM__H_MULTIPART |
                                    MOL_PLATFORM__REAUTH,
                                UPLOAD_TIMEOUT_MS, mol_platform__json_done);
}

int mol_platform_chat_upload(mol_platform_client *c, const mol_platform_upload_file *files,
                             size_t n, const mol_platform_call *call, mol_platform_cb cb,
                             void *arg, mol_platform_req **out) {
  if (!c || !files || n == 0) return MOL_EINVAL;
  static const char delim[] = "\r\n--" MOL_PLATFORM__BOUNDARY;
  for (size_t i = 0; i < n; i++) {
    if (!header_safe(files[i].name) || (files[i].len && !files[i].data) ||
        (files[i].mime_type && strpbrk(files[i].mime_type, "\r\n")))
      return MOL_EINVAL;
    if (files[i].len && memmem(files[i].data, files[i].len, delim, sizeof delim - 1))
      return MOL_EINVAL; /* would end its part early: refused, never sent cut */
  }
  upload_args a = {files, n};
  return mol_platform__call(c, call, cb, arg, upload_start, &a, out);
}

int mol_platform_notify_attachments(mol_platform_client *c, const char *text,
                                    const char *attachments_json, const mol_platform_call *call,
                                    mol_platform_cb cb, void *arg, mol_platform_req **out) {
  if (!c || mol_str_is_blank(text)) return MOL_EINVAL;
  json_t *att = attachments_json
                    ? mol_json_parse(attachments_json, strlen(attachments_json), NULL, 0)
                    : NULL;
  if (attachments_json && !json_is_array(att)) {
    json_decref(att);
    return MOL_EINVAL;
  }
  json_t *b = json_pack("{s:s}", "message", text);
  if (b && att && json_array_size(att)) json_object_set(b, "attachments", att);
  json_decref(att);
  char *body = mol_platform__dump(b);
  if (!body) return MOL_ENOMEM;
  return mol_platform__json_call(c, "POST",
                                 mol_platform__url(c, "/workspaces/%s/notify", c->ws_id), body,
                                 0, NULL, call, cb, arg, out);
}
