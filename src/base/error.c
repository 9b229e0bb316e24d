/* error.c - names and messages for molecule error codes. */
#include "molecule.h"

#include <uv.h>

typedef struct {
  int code;
  const char *name;
  const char *msg;
} mol_err_entry;

static const mol_err_entry mol_errs[] = {
  {MOL_OK, "MOL_OK", "success"},
  {MOL_EHTTP, "MOL_EHTTP", "peer answered with an HTTP error status"},
  {MOL_ETLS, "MOL_ETLS", "TLS handshake or record failure"},
  {MOL_ETLSVERIFY, "MOL_ETLSVERIFY", "peer certificate not trusted or hostname mismatch"},
  {MOL_EJSON, "MOL_EJSON", "malformed JSON"},
  {MOL_ERPC, "MOL_ERPC", "peer answered with a JSON-RPC error"},
  {MOL_ETOOBIG, "MOL_ETOOBIG", "size limit exceeded"},
  {MOL_ELIMIT, "MOL_ELIMIT", "count limit exceeded"},
  {MOL_EURL, "MOL_EURL", "malformed or unsupported URL"},
  {MOL_EBADRESP, "MOL_EBADRESP", "malformed HTTP response"},
  {MOL_EPROXY, "MOL_EPROXY", "proxy unreachable or tunnel refused"},
};

static const mol_err_entry *mol_err_find(int err) {
  for (size_t i = 0; i < sizeof(mol_errs) / sizeof(mol_errs[0]); i++)
    if (mol_errs[i].code == err) return &mol_errs[i];
  return NULL;
}

const char *mol_strerror(int err) {
  const mol_err_entry *e = mol_err_find(err);
  if (e) return e->msg;
  /* Everything else is a negated errno or a libuv code. The _r variant, because plain
   * uv_strerror allocates (and leaks) a string for codes it does not know. */
  static __thread char buf[80];
  return uv_strerror_r(err, buf, sizeof(buf));
}

const char *mol_err_name(int err) {
  const mol_err_entry *e = mol_err_find(err);
  if (e) return e->name;
  static __thread char buf[48];
  return uv_err_name_r(err, buf, sizeof(buf));
}
