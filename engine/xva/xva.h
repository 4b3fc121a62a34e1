/* engine/xva: streaming reader for XenServer/XCP-ng exports (.xva).
 *
 * An XVA is a tar stream (V7, ustar, GNU or pax; possibly gzip- or
 * zstd-compressed) whose first entry is ova.xml, an XML-RPC <value> holding
 * the exported objects, followed by each data-carrying VDI's 1 MiB chunks
 * under "<VDI ref>/<number>" with a "<number>.xxhash" or ".checksum" entry
 * after each.  Nothing is ever unpacked to disk: disks are delivered to a
 * caller's callbacks as (offset, bytes) while the stream is read once.
 *
 * Sections: ova.xml model (ova.c) · stream reader (reader.c).  checksum.c
 * (chunk verification) is internal: xva-priv.h.  The exact rules — what is
 * accepted, what is rejected and why — are in docs/internals/xva.md.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

/* Flags for xva_meta_parse_flags() and the xva_reader_open*() family. */
enum xva_open_flags {
    /* For checking a file's integrity (`convoy xva verify`), not for
     * migrating it: an ova.xml that is well-formed XML but describes no
     * usable VM yields an empty meta (no VM fields, no VBDs, VIFs or VDIs)
     * instead of an error, and VDI folders that ova.xml does not name are
     * accepted and verified (their size is whatever the stream delivers).
     * Everything else (entry names, order, checksums) stays strict. */
    XVA_OPEN_LENIENT = 1 << 0,
};

/* Upper bounds on untrusted input. */
#define XVA_OVA_XML_MAX (16u * 1024 * 1024)   /* bytes of ova.xml */
#define XVA_CHUNK_MAX (1u * 1024 * 1024)      /* bytes in one chunk */
#define XVA_MAX_OBJECTS 100000                /* objects in ova.xml */

/* ------------------------------------------------------------------ */
/* ova.c: the ova.xml model                                             */

/* A virtual disk image.  All strings owned by the struct. */
struct xva_vdi {
    char *ref;            /* "Ref:12": the folder name of its chunks */
    char *uuid;           /* may be NULL */
    char *name_label;     /* may be "" */
    uint64_t virtual_size;/* bytes */
    char *sr_ref;         /* may be NULL */
    char *sr_name;        /* the SR's name_label, or NULL (for pools.map) */
    bool has_data;        /* false for CD VDIs and VDIs on ISO SRs */
};

/* A VM block device: links the VM to a VDI.  Strings owned. */
struct xva_vbd {
    char *ref;
    char *device;         /* "xvda", "hda", … ; may be "" (then userdevice) */
    char *userdevice;     /* "0", "1", "3" … */
    bool is_cd;           /* type == "CD" */
    bool bootable;
    bool empty;           /* CD drive with no disc */
    struct xva_vdi *vdi;  /* borrowed from xva_meta.vdis; NULL when empty */
};

/* A virtual NIC.  Strings owned. */
struct xva_vif {
    char *ref;
    char *device;         /* "0", "1", … */
    char *mac;            /* "aa:bb:cc:dd:ee:ff", lower-case */
    char *network_name;   /* network name_label; may be "" */
    char *bridge;         /* network bridge ("xenbr0"); may be "" */
};

struct xva_vm {
    char *name_label;
    char *uuid;
    uint64_t memory_static_max;   /* bytes */
    uint64_t memory_dynamic_max;  /* bytes (0 when absent) */
    unsigned vcpus_max;
    unsigned vcpus_at_startup;
    char *hvm_boot_policy;        /* "" means PV */
    char *hvm_boot_order;         /* HVM_boot_params order, e.g. "cd" (may be "") */
    char *pv_bootloader;          /* "pygrub", "" … */
    char *pv_bootloader_args;
    char *pv_kernel;
    char *pv_ramdisk;
    char *pv_args;
    char *domain_type;            /* "hv", "pv", "pvh", "pv_in_pvh" or "" */
    bool firmware_uefi;           /* HVM platform/firmware says uefi */
    char *platform_viridian;      /* platform:viridian or NULL */
    char *power_state;            /* as recorded ("Halted", "Running"…) */
    char *os_hint;                /* the guest metrics' os_version: its
                                   * name, else "distro major"; NULL when
                                   * the export has none */
    GPtrArray *vbds;              /* of struct xva_vbd*, owned, in device
                                   * order (xva_vm_sort_vbds) */
    GPtrArray *vifs;              /* of struct xva_vif*, owned, by device number */
};

struct xva_meta {
    unsigned version_major;       /* export version (export_vsn) */
    struct xva_vm vm;             /* the (only) VM of the export */
    GPtrArray *vdis;              /* of struct xva_vdi*, owned; data-carrying
                                   * ones sorted in stream order (string
                                   * order of ref), then the others */
};

/* Parse ova.xml (len bytes, need not be NUL-terminated).  No network
 * access, no entity expansion, no DTD loading.  Returns a new meta, caller
 * frees with xva_meta_free(); NULL with CONVOY_ERROR_FORMAT on error. */
struct xva_meta *xva_meta_parse(const char *xml, size_t len, GError **error);
/* Same, with XVA_OPEN_* flags (see XVA_OPEN_LENIENT). */
struct xva_meta *xva_meta_parse_flags(const char *xml, size_t len,
                                      unsigned flags, GError **error);
void xva_meta_free(struct xva_meta *meta);
/* A guest OS hint from XenAPI's VM_guest_metrics.os_version members
 * (each may be NULL): name up to its first '|', else "distro major", else
 * NULL.  Returns a new string. */
char *xva_os_hint(const char *name, const char *distro, const char *major);
typedef struct xva_meta xva_meta; /* for g_autoptr() only */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xva_meta, xva_meta_free)

/* Free one element of a meta's arrays (GDestroyNotify), for code that
 * builds a meta itself (the xenserver source). */
void xva_vdi_free(gpointer vdi);
void xva_vbd_free(gpointer vbd);
void xva_vif_free(gpointer vif);

/* Put a VM's VBDs in device order: by userdevice (a number), else by the
 * device name's disk letters and partition number ("xvdb" after "xvda1"),
 * export order among equals.  XenServer lists VBDs in no order; this is
 * the order disks are placed, named and booted in.  xva_meta_parse does
 * it; code that builds a meta itself (the xenserver source) calls it. */
void xva_vm_sort_vbds(struct xva_vm *vm);

/* The VDI with this ref, borrowed; NULL if none. */
struct xva_vdi *xva_meta_find_vdi(const struct xva_meta *meta, const char *ref);

/* ------------------------------------------------------------------ */
/* reader.c: the stream reader                                          */

struct xva_reader;

/* Open a .xva file, or standard input when path is "-".  Reads and parses
 * ova.xml before returning.  Caller frees with xva_reader_free(). */
struct xva_reader *xva_reader_open(const char *path, GError **error);
/* Same on an open fd; the reader takes ownership of fd. name is used in
 * messages. */
struct xva_reader *xva_reader_open_fd(int fd, const char *name, GError **error);
/* Same as xva_reader_open() with XVA_OPEN_* flags. */
struct xva_reader *xva_reader_open_flags(const char *path, unsigned flags,
                                         GError **error);
/* Same as xva_reader_open_fd() with XVA_OPEN_* flags. */
struct xva_reader *xva_reader_open_fd_flags(int fd, const char *name,
                                            unsigned flags, GError **error);
/* Read an XVA held in memory (fuzzers, tests).  Borrows buf, which must
 * outlive the reader. */
struct xva_reader *xva_reader_open_memory(const void *buf, size_t len,
                                          unsigned flags, GError **error);
void xva_reader_free(struct xva_reader *r);
typedef struct xva_reader xva_reader; /* for g_autoptr() only */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xva_reader, xva_reader_free)

/* The parsed ova.xml; borrowed, valid while the reader lives. */
const struct xva_meta *xva_reader_meta(struct xva_reader *r);
/* The raw ova.xml bytes (borrowed) and their length. */
const char *xva_reader_ova_xml(struct xva_reader *r, size_t *len);

/* Callbacks for xva_reader_stream.  Any may be NULL.  A callback returning
 * false must set *error; streaming stops and that error is returned.
 * They run on the caller's thread, in stream order (a helper thread only
 * computes checksums). */
struct xva_stream_ops {
    /* A VDI's data begins. */
    bool (*begin_disk)(void *opaque, const struct xva_vdi *vdi, GError **error);
    /* len bytes of disk content at offset (a verified chunk; may be all
     * zeros; len <= XVA_CHUNK_MAX). */
    bool (*data)(void *opaque, const struct xva_vdi *vdi, uint64_t offset,
                 const void *buf, size_t len, GError **error);
    /* A run of zeros implied by omitted chunks, len bytes at offset. */
    bool (*zero)(void *opaque, const struct xva_vdi *vdi, uint64_t offset,
                 uint64_t len, GError **error);
    /* The VDI is complete: exactly virtual_size bytes were delivered. */
    bool (*end_disk)(void *opaque, const struct xva_vdi *vdi, GError **error);
};

/* Stream the disks.  When only_ref is non-NULL, the entries of other VDIs
 * are skipped (not verified) and only that VDI is delivered.  Every
 * delivered chunk's checksum is verified before ops->data sees it; a
 * mismatch fails with CONVOY_ERROR_CHECKSUM naming the VDI and the chunk.
 * Malformed streams fail with CONVOY_ERROR_FORMAT.  Can be called once. */
bool xva_reader_stream(struct xva_reader *r, const char *only_ref,
                       const struct xva_stream_ops *ops, void *opaque,
                       GError **error);

/* Bytes consumed from the underlying file so far (for progress). */
uint64_t xva_reader_bytes_read(struct xva_reader *r);
