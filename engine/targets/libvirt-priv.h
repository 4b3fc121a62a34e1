/* Internals of the libvirt target shared by libvirt.c, libvirt-conn.c and
 * libvirt-check.c. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <libvirt/libvirt.h>

#include "targets/targets.h"

struct lv_target {
    char *uri;                /* owned */
    virConnectPtr conn;       /* owned; NULL while disconnected */
    GMutex lock;              /* guards conn while workers reconnect */
    bool remote;              /* the URI names a transport or a host */
    bool stream;              /* write volumes through upload streams */
    char *keepalive_note;     /* why keepalive is off, once, or NULL */
    GHashTable *planned;      /* pool name → uint64_t* bytes the checks so
                               * far planned there (preallocated), owned */
    GHashTable *planned_max;  /* pool name → uint64_t* virtual sizes */
    GMutex probe_lock;        /* guards local_pools */
    GHashTable *local_pools;  /* pool name → GINT_TO_POINTER(1) when the
                               * marker probe proved its folder is the
                               * daemon's, (2) when it did not; owned */
};

/* libvirt-conn.c */

/* Open the connection once (no retries: a plan must fail fast); keepalive
 * on remote URIs.  CONVOY_ERROR_LIBVIRT naming the URI. */
bool lv_connect(struct lv_target *lt, GError **error);
/* The live connection (one reconnect at a time across workers; the handle
 * itself is thread-safe): when it dropped, reconnect with backoff
 * (0.25 s doubling, CONVOY_LIBVIRT_RETRIES tries, default 6). */
virConnectPtr lv_conn(struct lv_target *lt, GError **error);
/* Set the error "libvirt: WHAT: <libvirt's message>", CONVOY_ERROR_LIBVIRT
 * when the connection failed (transient), else CONVOY_ERROR_FAILED (see
 * virt_error_code()); returns false. */
bool lv_error(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* "pool/volume" → its parts (new strings); false if malformed. */
bool lv_split_location(const char *location, char **pool, char **vol);
/* The pool's type ("dir") and target path from its XML; new strings,
 * either may be NULL. */
void lv_pool_facts(virStoragePoolPtr pool, char **type, char **path);

/* libvirt-check.c */
void lv_check(struct target *t, const struct target_vm_req *req,
              GPtrArray *problems, GPtrArray *notes);

/* libvirt-migrate.c */
bool lv_domain_state(struct target *t, const char *vm,
                     struct target_domain_state *out, GError **error);
bool lv_migrate(struct target *t, struct target *dst, const char *vm,
                const struct target_migration *how, GError **error);
