/* engine/sources: every source kind behind one interface.  Discovery is
 * read-only: describe() yields the facts of one VM (the Xen-flavoured
 * domain XML, its disks, identity); copy_disk() streams one disk's content
 * to a sink.  Nothing here ever writes to a source.
 *
 * Sections: registry (source.c) · xva files, directories and URLs (xva.c)
 * · XenServer/XCP-ng pools over XenAPI (xenserver.c) · dumped domain XML
 * (libvirtxml.c) · libvirt connections (libvirt.c) · the xl.cfg parser
 * (xl-cfg.c) · xl.cfg files with local disks (xl.c) · the inventory
 * of a whole source for discover (inventory.c) · webhooks
 * (source_http_post_json, http.c).  Shared driver internals (HTTP, XVA
 * over HTTP, secrets, XML-RPC, local disks) are in sources-priv.h.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <libxml/tree.h>

#include "manifest/manifest.h"

/* A disk of a source VM, as the source names it. */
struct source_disk {
    char *id;             /* stable id at the source (XVA: VDI ref) */
    char *xen_dev;        /* "xvda" */
    char *xml_source;     /* the disk's source text in domain_xml, which
                           * identifies it there ("xva-vdi:Ref:12") */
    uint64_t size;        /* virtual size in bytes */
    char *storage;        /* where it lives at the source, for a target's
                           * pools.map: the SR name_label (XenServer, XVA)
                           * or the disk's path (file sources); may be NULL */
    enum disk_format format; /* the image's format at the source, from its
                           * content (qcow2 is read as its guest content,
                           * size is its virtual size) */
    bool seekable;        /* copy_disk_from can start past 0: a resume
                           * starts at its checkpoint */
    char *volume;         /* libvirt: the storage volume's key, when the
                           * disk is read as a volume stream; else NULL */
    bool local;           /* id is a file or block device this host reads
                           * directly (plan --inspect can look inside) */
    char *pool;           /* libvirt: the pool of a <disk type='volume'>
                           * while discovery resolves it (id is then the
                           * volume's name); else NULL */
};

/* Everything discovery learns about one VM.  Owned; source_vm_free(). */
struct source_vm {
    char *name;           /* name at the source */
    char *uuid;           /* may be NULL */
    char *location;       /* human-readable origin: the .xva path, URL… */
    char *identity;       /* canonical identity text (enters fingerprints) */
    char *domain_xml;     /* Xen-flavoured libvirt domain XML */
    GPtrArray *disks;     /* of struct source_disk*, owned, in device order */
    GHashTable *xen_networks; /* lower-case MAC → Xen network name, owned */
    bool powered_on;      /* false when unknown or not applicable */
    char *power_state;    /* "running", "halted", "paused", "suspended",
                           * "exported" (an XVA file); NULL when the source
                           * cannot say (an xl.cfg file) */
    char *os_hint;        /* the guest OS as the source names it ("debian
                           * 12", "Microsoft Windows Server 2019"); NULL when
                           * the source has no hint */
    GPtrArray *warnings;  /* of char*, owned; may be NULL: what the plan
                           * should say (a disk format the XML misnames) */
};
void source_vm_free(struct source_vm *v);
typedef struct source_vm source_vm; /* for g_autoptr() only */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(source_vm, source_vm_free)

/* Where a disk's content goes while it streams. */
struct source_sink {
    bool (*data)(void *opaque, uint64_t offset, const void *buf, size_t len,
                 GError **error);
    bool (*zero)(void *opaque, uint64_t offset, uint64_t len, GError **error);
    /* Bytes read from the source so far, for progress (may be NULL). */
    void (*progress)(void *opaque, uint64_t source_bytes);
};

struct source;

/* One VM a source holds, as list() finds it.  Owned;
 * source_entry_free(). */
struct source_entry {
    char *name;           /* its name at the source */
    char *key;            /* the name describe() finds it by: the name, or
                           * the uuid where the name is not unique (XenAPI) */
    char *file;           /* the file describe() is pinned to (an .xva, an
                           * xl.cfg); NULL for pools and hosts */
    char *error;          /* a file list() found but could not read, and
                           * why; NULL for a VM describe() can look at */
};
void source_entry_free(gpointer p);

/* What a source kind can or must do, for the planner: flags of
 * source_ops.caps, narrowed per opened source in source.caps. */
enum source_cap {
    /* describe() of different VMs may run on several threads at once
     * (nothing shared but what the driver locks itself): xva files. */
    SOURCE_CAP_PARALLEL_DESCRIBE = 1u << 0,
    /* Disks of a running VM cannot be exported: the plan warns when such
     * a VM is running and source_power is leave (XenAPI). */
    SOURCE_CAP_EXPORTS_HALTED_ONLY = 1u << 1,
};

struct source_ops {
    const char *kind;                 /* manifest type: "xva" */
    unsigned caps;                    /* enum source_cap flags of the kind */
    /* Open a source from its manifest entry (no I/O beyond checks). */
    struct source *(*open)(const struct manifest_source *ms, GError **error);
    /* Find and describe one VM. */
    struct source_vm *(*describe)(struct source *s,
                                  const struct manifest_vm *vm,
                                  GError **error);
    /* Optional: every VM the source holds (not templates, snapshots nor
     * control domains), read-only, for convoy discover: a new array of
     * struct source_entry*, sorted by name.  NULL when the kind cannot
     * list (dumped domain XML). */
    GPtrArray *(*list)(struct source *s, GError **error);
    /* Stream one disk to sink, delivering every byte from 0 to size in
     * increasing order. */
    bool (*copy_disk)(struct source *s, const struct source_vm *v,
                      const struct source_disk *d,
                      const struct source_sink *sink, void *opaque,
                      GError **error);
    /* Optional: like copy_disk, but from offset start (d->seekable only),
     * so that a resume re-reads nothing before its checkpoint. */
    bool (*copy_disk_from)(struct source *s, const struct source_vm *v,
                           const struct source_disk *d, uint64_t start,
                           const struct source_sink *sink, void *opaque,
                           GError **error);
    /* Shut the VM down (source_power: shutdown); NULL when the kind
     * cannot.  On success *how is a new string saying what was done
     * ("clean", "hard", "already halted"). */
    bool (*shutdown)(struct source *s, const struct source_vm *v, char **how,
                     GError **error);
    void (*close)(struct source *s);
};

/* The ops of a kind; NULL when convoy does not support it yet. */
const struct source_ops *source_ops_for(enum manifest_source_kind kind);

/* An opened source: ops + driver state. */
struct source {
    const struct source_ops *ops;
    const struct manifest_source *ms; /* borrowed */
    void *priv;                       /* driver state */
    unsigned caps_dropped;            /* enum source_cap flags of the kind
                                       * that open found this source lacks
                                       * (an XVA URL is read over one
                                       * connection) */
    char *note;                       /* owned: a notice from open for the
                                       * plan's warnings (keepalive off), or
                                       * NULL */
};

/* The source's enum source_cap flags: its kind's, less what open
 * dropped. */
unsigned source_caps(const struct source *s);

/* Open by kind; CONVOY_ERROR_FAILED naming the source if unsupported. */
struct source *source_open(const struct manifest_source *ms, GError **error);
void source_close(struct source *s);
typedef struct source source; /* for g_autoptr() only */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(source, source_close)

/* ------------------------------------------------------------------ */
/* inventory.c: every VM of a source, for convoy discover */

/* A NIC of a discovered VM. */
struct source_nic {
    char *device;         /* "0", "1"…: its index, as Xen numbers vifs */
    char *mac;            /* lower case; may be NULL */
    char *network;        /* the Xen network name_label (or libvirt
                           * network); may be NULL */
    char *bridge;         /* the bridge it is on; may be NULL */
};

/* One VM of the inventory.  Owned; source_found_free(). */
struct source_found {
    struct source_entry *entry; /* owned: how list() found it */
    struct source_vm *vm;       /* owned: describe()'s facts; NULL when it
                                 * failed */
    char *error;                /* why it could not be described, or NULL */
    GPtrArray *nics;            /* of struct source_nic*, owned; NULL with
                                 * error */
};
void source_found_free(gpointer p);

/* List every VM of s with its list() op and describe each, read-only.
 * Returns a new array of struct source_found* in list() order; fails only
 * when the source cannot list (no list op: CONVOY_ERROR_FAILED). */
GPtrArray *source_discover(struct source *s, GError **error);

/* ------------------------------------------------------------------ */
/* xl-cfg.c: xl.cfg(5) files → Xen-flavoured libvirt domain XML */

/* Bounds on one xl.cfg file. */
#define XL_CFG_MAX_BYTES (1u * 1024 * 1024)
#define XL_CFG_MAX_ITEMS 4096 /* settings plus list items */

/* Parse an xl.cfg text (pure code, no file access) into the domain XML
 * the Xen rules convert: type='xen', name, uuid, memory, vcpus, PV
 * (bootloader or kernel/ramdisk/cmdline), PVH or HVM os (hvmloader or
 * OVMF, boot order), disks, vifs, vfb/vnc, serial, lifecycle actions,
 * clock, usb input.  name is FILE in messages.  Keys convoy does not
 * know are not errors: each adds "FILE:LINE:COL: warning: …" to warnings
 * (a GPtrArray of new strings; may be NULL), as do settings that are not
 * carried over.  Syntax and value errors are CONVOY_ERROR_INVALID, every
 * problem (up to 50) as "FILE:LINE:COL: error: …".  Returns a new doc,
 * caller frees. */
xmlDoc *xl_cfg_parse(const char *name, const char *data, size_t len, GPtrArray *warnings,
                     GError **error);

/* POST a JSON body to a webhook (http or https), with the sources' TLS
 * rules (verified, with ca_file when given, unless insecure) and a bearer
 * token from token_file when given.  name names it in errors; the token
 * never appears in one.  CONVOY_ERROR_IO on failure (http.c). */
bool source_http_post_json(const char *name, const char *url,
                           const char *token_file, const char *ca_file,
                           bool insecure, const char *body, long timeout_s,
                           GError **error);
