/* engine/sources internals shared by the drivers: the HTTP(S) client on
 * libcurl (http.c), secrets (secret.c) and the XML-RPC codec of XenAPI
 * (xmlrpc.c).  Not for use outside engine/sources and its tests.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "manifest/manifest.h"

/* ------------------------------------------------------------------ */
/* source.c: helpers of every driver                                  */

struct xva_meta;
struct source_disk;

/* The source_vm of an ova.xml model (from an XVA or built from XenAPI
 * records): domain XML, disks (id = VDI ref), Xen networks.  where is
 * the location shown in messages.  identity is left NULL. */
struct source_vm *source_vm_from_meta(const struct xva_meta *meta,
                                      const char *where, GError **error);
void source_disk_free(gpointer p);
/* GCompareFunc of struct source_entry* in a GPtrArray: by name, then file
 * or key. */
int source_entry_cmp(gconstpointer a, gconstpointer b);

/* ------------------------------------------------------------------ */
/* libvirtxml.c: libvirt domain XML with local disks                   */

struct source_sink;

struct disk_image_info;

/* How source_vm_from_domain_xml() treats the disks of the XML. */
enum source_xml_disks {
    SOURCE_XML_DISKS_PROBE,   /* open and probe each local disk now */
    SOURCE_XML_DISKS_LIST,    /* only list them: size 0, format as the XML
                               * declares, a <disk type='volume'> with its
                               * pool; the caller resolves them */
};

/* The source_vm of a libvirt domain XML (len bytes; file names it in
 * messages): its disks (files or block devices, id and xml_source = the
 * path), with PROBE probed now (source_local_disk()) and in the identity
 * with their size and mtime; the identity has the XML digest. */
struct source_vm *source_vm_from_domain_xml(const char *data, size_t len,
                                            const char *file,
                                            enum source_xml_disks how,
                                            GError **error);
/* A local disk dev at path, probed by its content (never by declared,
 * the format its config names, which may be NULL): raw or qcow2 (size =
 * virtual size), other formats refused, a qcow2 header with a backing
 * file refused unless declared qcow2, a mismatch with declared added to
 * warnings (may be NULL).  where names the config in messages.  Fills
 * info.  Returns a new disk (id, xml_source, storage = path). */
struct source_disk *source_local_disk(const char *where, const char *dev,
                                      const char *path, const char *declared,
                                      GPtrArray *warnings,
                                      struct disk_image_info *info,
                                      GError **error);
/* Stream a local disk (d->id is its path) to sink, zeros as zeros; a
 * qcow2 (d->format) is read as its guest content through a read-only
 * qemu-nbd. */
bool source_copy_local_disk(const struct source_disk *d,
                            const struct source_sink *sink, void *opaque,
                            GError **error);

/* ------------------------------------------------------------------ */
/* secret.c: secrets from files or the environment                    */

/* The secret named by password_file (first line, without its newline)
 * or password_env of ms; what names which secret (for messages).
 * The secret never appears in an error.  Caller frees with
 * secret_free(), which wipes it. */
char *secret_read_file(const char *source_name, const char *what,
                       const char *path, GError **error);
char *secret_read_env(const char *source_name, const char *what,
                      const char *var, GError **error);
char *secret_read_password(const struct manifest_source *ms, GError **error);
void secret_free(char *s);

/* ------------------------------------------------------------------ */
/* http.c: HTTP(S) through libcurl                                    */

struct http_client;

enum http_client_flags {
    /* Send the source's credentials as HTTP basic auth (username +
     * password) or a bearer token (token_file). */
    HTTP_CLIENT_AUTH = 1 << 0,
};

/* A client with the source's TLS settings (ca_file, insecure) and, with
 * HTTP_CLIENT_AUTH, its credentials (read now).  Caller frees. */
struct http_client *http_client_new(const struct manifest_source *ms,
                                    unsigned flags, GError **error);
void http_client_free(struct http_client *c);
typedef struct http_client http_client; /* for g_autoptr() only */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(http_client, http_client_free)

/* POST body to url and return the response body (2xx only).  label
 * names the request in errors instead of the URL, which may hold a
 * secret.  timeout_s 0 means none.  Failures are CONVOY_ERROR_IO
 * "curl: LABEL: …"; *transient (may be NULL) says whether a retry may
 * help (dropped connection, timeout, HTTP 5xx). */
GBytes *http_post(struct http_client *c, const char *url, const char *label,
                  const char *content_type, const char *body, long timeout_s,
                  bool *transient, GError **error);

/* A GET whose body streams into a socket read by the caller (an XVA
 * reader) on a helper thread: nothing is buffered on disk. */
struct http_stream;

/* Start GET url.  Redirects are followed.  Returns the stream; read its
 * body from http_stream_take_fd(). */
struct http_stream *http_stream_open(struct http_client *c, const char *url,
                                     const char *label, GError **error);
/* The read end of the body; the caller owns it from now on and closing
 * it stops the transfer. */
int http_stream_take_fd(struct http_stream *s);
/* Wait for the transfer to end (close the fd first to stop it early).
 * Returns false with the transfer's error if it failed; a transfer
 * stopped because the reader closed its end is not an error; *transient
 * as for http_post(). */
bool http_stream_finish(struct http_stream *s, bool *transient,
                        GError **error);
/* The response's Content-Length, ETag and Last-Modified as
 * "key=value\n" lines (those present), for identities.  Valid once the
 * first body byte has been read.  New string. */
char *http_stream_identity(struct http_stream *s);
void http_stream_free(struct http_stream *s);
typedef struct http_stream http_stream; /* for g_autoptr() only */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(http_stream, http_stream_free)

/* Sleep before retry number attempt (1, 2, …): exponential backoff from
 * $CONVOY_HTTP_RETRY_MS (default 500) milliseconds, capped at 30 s. */
void http_backoff(unsigned attempt);
/* Attempts for a transfer, including the first ($CONVOY_HTTP_ATTEMPTS,
 * default 5). */
unsigned http_max_attempts(void);
/* url without user info, query or fragment, for messages; new string. */
char *http_url_for_display(const char *url);

/* ------------------------------------------------------------------ */
/* xva-http.c: XVA streams over HTTP(S)                               */

struct xva_stream_ops;

/* GET url and read only up to ova.xml, then stop the transfer.  Returns
 * a copy of the ova.xml bytes (*len of them) and in *identity the
 * response's identity lines (http_stream_identity()).  Transient
 * failures are retried with backoff. */
char *xva_http_fetch_ova(struct http_client *c, const char *url,
                         const char *label, size_t *len, char **identity,
                         GError **error);
/* GET url and stream one VDI of the XVA to ops (data and zero only):
 * vdi_ref, or when vdi_uuid is non-NULL the VDI with that uuid.  A
 * transient failure re-reads the stream from the start and delivers
 * only the bytes past those already delivered, so ops sees every byte
 * once, in order.  A failing ops callback is never retried. */
bool xva_http_stream_disk(struct http_client *c, const char *url,
                          const char *label, const char *vdi_ref,
                          const char *vdi_uuid,
                          const struct xva_stream_ops *ops, void *opaque,
                          GError **error);

/* GET url, a raw disk image of size bytes, to ops (data and zero; vdi
 * NULL), with the same retry rule as xva_http_stream_disk(). */
bool http_stream_raw_disk(struct http_client *c, const char *url,
                          const char *label, uint64_t size,
                          const struct xva_stream_ops *ops, void *opaque,
                          GError **error);

/* ------------------------------------------------------------------ */
/* xmlrpc.c: XML-RPC values, requests and XenAPI results               */

enum xmlrpc_type {
    XMLRPC_STRING,
    XMLRPC_INT,
    XMLRPC_BOOL,
    XMLRPC_DOUBLE,
    XMLRPC_DATETIME,
    XMLRPC_ARRAY,
    XMLRPC_STRUCT,
    XMLRPC_NIL,
    XMLRPC_LAST,
};

struct xmlrpc_value {
    enum xmlrpc_type type;
    char *str;            /* STRING, DATETIME, DOUBLE text; INT/BOOL text */
    gint64 i;             /* INT, BOOL */
    GPtrArray *items;     /* ARRAY: of struct xmlrpc_value*, owned */
    GHashTable *members;  /* STRUCT: char* → struct xmlrpc_value*, owned */
};
void xmlrpc_value_free(struct xmlrpc_value *v);
typedef struct xmlrpc_value xmlrpc_value; /* for g_autoptr() only */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlrpc_value, xmlrpc_value_free)

/* A <methodCall> with string parameters (n_params of them).  New
 * string. */
char *xmlrpc_request(const char *method, const char *const *params,
                     size_t n_params);
/* The XenAPI result of a <methodResponse>: Status "Success" returns
 * Value; "Failure" fails with CONVOY_ERROR_FAILED and sets
 * *error_code (if non-NULL) to a new copy of ErrorDescription[0], and
 * *error_args to the rest (a NULL-terminated strv).  Malformed XML
 * fails with CONVOY_ERROR_XML. */
struct xmlrpc_value *xmlrpc_xenapi_result(const char *xml, size_t len,
                                          char **error_code,
                                          char ***error_args,
                                          GError **error);

/* Lookups; NULL / default when absent or of another type. */
const struct xmlrpc_value *xmlrpc_member(const struct xmlrpc_value *v,
                                         const char *name);
const char *xmlrpc_member_string(const struct xmlrpc_value *v,
                                 const char *name);
uint64_t xmlrpc_member_uint64(const struct xmlrpc_value *v, const char *name);
bool xmlrpc_member_bool(const struct xmlrpc_value *v, const char *name);
