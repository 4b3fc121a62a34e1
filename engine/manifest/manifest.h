/* engine/manifest: YAML manifests → validated, typed model.
 *
 * manifest_load() reads one or more files (or directories of *.yaml),
 * builds ynode trees (positions, anchors, aliases, ${env:NAME}), validates
 * everything at once (unknown keys with "did you mean", types, enums,
 * references, duplicates, impossible values) and returns the resolved
 * model: every VM carries its effective settings (defaults ← wave ← VM).
 *
 * Sections: model (model.c) · loader and validation (load.c) ·
 * waves and their VMs (waves.c) · host moves (moves.c) ·
 * canonical fragments for fingerprints (canon.c).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "disk/disk.h"

#define MANIFEST_MAX_VMS 100000
#define MANIFEST_MAX_ERRORS 50
/* The least memory a VM may be given (memory:); less does not boot. */
#define MANIFEST_MEMORY_MIN (64ull << 20)

/* Where a model object was written; file borrowed from struct manifest. */
struct manifest_loc {
    const char *file;
    unsigned line;
    unsigned col;
};

enum manifest_source_kind {
    MANIFEST_SOURCE_XVA,
    MANIFEST_SOURCE_XENSERVER,
    MANIFEST_SOURCE_LIBVIRT,
    MANIFEST_SOURCE_LIBVIRTXML,
    MANIFEST_SOURCE_XL,
    MANIFEST_SOURCE_LAST,
};

enum manifest_target_kind {
    MANIFEST_TARGET_DIRECTORY,
    MANIFEST_TARGET_LIBVIRT,
    MANIFEST_TARGET_LAST,
};

enum manifest_source_power {
    MANIFEST_SOURCE_POWER_LEAVE,
    MANIFEST_SOURCE_POWER_SHUTDOWN,
    MANIFEST_SOURCE_POWER_LAST,
};

/* libvirt sources: how disks are read. */
/* xenserver export: which HTTP handler streams the disks. */
enum manifest_export {
    MANIFEST_EXPORT_AUTO,     /* /export_raw_vdi, /export where it is 404 */
    MANIFEST_EXPORT_XVA,      /* GET /export: the whole VM once per disk */
    MANIFEST_EXPORT_RAW_VDI,  /* GET /export_raw_vdi only; 404 fails */
};

enum manifest_disk_access {
    MANIFEST_DISK_ACCESS_AUTO,    /* path on a local URI when readable,
                                   * else a volume download stream */
    MANIFEST_DISK_ACCESS_PATH,    /* the disk's path, on this host */
    MANIFEST_DISK_ACCESS_STREAM,  /* virStorageVolDownload, always */
    MANIFEST_DISK_ACCESS_LAST,
};

const char *manifest_source_kind_name(enum manifest_source_kind k);
const char *manifest_target_kind_name(enum manifest_target_kind k);
const char *manifest_source_power_name(enum manifest_source_power p);

/* All strings owned by their struct; paths are absolute (resolved against
 * the directory of the manifest file that wrote them). */
struct manifest_source {
    char *name;
    enum manifest_source_kind kind;
    struct manifest_loc loc;
    char *path;           /* xva: a .xva file or a directory of them */
    char *url;            /* xva over http(s), xenserver */
    char *uri;            /* libvirt */
    char *username;
    char *password_file;  /* the secret itself is never loaded here */
    char *password_env;
    char *ca_file;
    bool insecure;
    char *token_file;     /* xva over http(s): bearer token file */
    /* xenserver: */
    bool use_compression;         /* GET /export with use_compression=zstd */
    enum manifest_export export_mode; /* /export_raw_vdi, /export or either */
    /* xenserver and libvirt: */
    uint64_t shutdown_timeout;    /* seconds for a clean shutdown (default 600) */
    uint64_t hard_shutdown_after; /* seconds; 0: never force a shutdown */
    /* libvirt: */
    enum manifest_disk_access disk_access;
};

enum manifest_net_from {
    MANIFEST_NET_FROM_BRIDGE,   /* Xen bridge name (xenbr0) */
    MANIFEST_NET_FROM_NETWORK,  /* Xen network name_label ("VLAN 20") */
    MANIFEST_NET_FROM_MAC,      /* one NIC by MAC */
    MANIFEST_NET_FROM_ANY,      /* catch-all: from: any */
    MANIFEST_NET_FROM_LAST,
};

enum manifest_net_to {
    MANIFEST_NET_TO_NETWORK,    /* libvirt network */
    MANIFEST_NET_TO_BRIDGE,     /* host bridge */
    MANIFEST_NET_TO_LAST,
};

struct manifest_netmap {
    enum manifest_net_from from;
    char *from_value;     /* NULL for ANY */
    enum manifest_net_to to;
    char *to_value;
    struct manifest_loc loc;
};

struct manifest_target {
    char *name;
    enum manifest_target_kind kind;
    struct manifest_loc loc;
    char *path;           /* directory target */
    char *uri;            /* libvirt target */
    char *domain_type;    /* "kvm" (default) or "qemu" */
    char *pool_default;   /* may be NULL */
    GHashTable *pool_map; /* char* → char*, owned; may be empty */
    GPtrArray *networks;  /* of struct manifest_netmap*, owned, in order */
    bool upload_stream;   /* libvirt: 'upload: stream' forces volume upload
                           * streams even on a local connection */
};

enum manifest_on_failure {
    MANIFEST_ON_FAILURE_CONTINUE,   /* other VMs go on (default) */
    MANIFEST_ON_FAILURE_STOP_WAVE,  /* no new VM of the wave starts */
    MANIFEST_ON_FAILURE_LAST,
};

const char *manifest_on_failure_name(enum manifest_on_failure f);

/* Hooks: shell commands run before and after a VM (wave or VM level). */
struct manifest_hooks {
    char *pre;            /* NULL: none; a failing pre-hook skips the VM */
    char *post;
    unsigned timeout;     /* seconds; default 600 */
};

struct manifest_wave;

/* guest: in-guest repair (the guest-fixup step). */
enum manifest_guest_boot {
    MANIFEST_GUEST_BOOT_AUTO,
    MANIFEST_GUEST_BOOT_BOOTLOADER,
    MANIFEST_GUEST_BOOT_DIRECT,
    MANIFEST_GUEST_BOOT_KEEP,
};
enum manifest_guest_tcg {
    MANIFEST_GUEST_TCG_AUTO,
    MANIFEST_GUEST_TCG_ON,
    MANIFEST_GUEST_TCG_OFF,
};
struct manifest_guest {
    bool fixup;           /* plan a guest-fixup step; default true */
    bool fixup_auto;      /* fixup: auto (the default): only for a domain
                           * from Xen and a target whose disks are local,
                           * and a guest OS that no rule set handles is
                           * refused (plan and apply) */
    GPtrArray *rules;     /* of char*, owned: set names; "auto" = every
                           * set whose when: matches (the default) */
    enum manifest_guest_boot boot;
    enum manifest_guest_tcg tcg;
    unsigned timeout;     /* seconds per command; default 600 */
};
/* "auto", "bootloader", "direct", "keep" / "auto", "true", "false". */
const char *manifest_guest_boot_name(enum manifest_guest_boot b);
const char *manifest_guest_tcg_name(enum manifest_guest_tcg t);

struct manifest_vm {
    char *name;           /* name at the source (XVA name_label, …) */
    char *rename;         /* NULL: keep name */
    char *source;         /* source name (validated to exist) */
    char *file;           /* xva: pinned file (absolute) or NULL */
    struct manifest_loc loc;
    struct manifest_wave *wave;   /* borrowed */
    /* Effective settings (defaults ← wave ← vm): */
    char *target;         /* target name (validated to exist) */
    enum disk_format disk_format;
    enum disk_allocation allocation;
    enum manifest_source_power source_power;
    bool start;
    bool autostart;       /* libvirt: mark the domain autostart */
    bool adopt;           /* take over a same-named domain/volume (vm only) */
    GPtrArray *rules;     /* of char*, owned: rule set names, in order */
    uint64_t memory;      /* bytes; 0 = as the source */
    unsigned vcpus;       /* 0 = as the source */
    struct manifest_hooks hooks; /* effective: the VM's, else the wave's */
    char *boot_dir;       /* PV direct-kernel boot: where the kernel and
                           * initrd are on the KVM host; NULL: the guest
                           * boots from its disk */
    GHashTable *cdroms;   /* converted CD-ROM dev ("sdc") → ISO path on the
                           * KVM host, owned; NULL when none */
    GHashTable *volumes;  /* converted disk dev ("vda") → volume or file
                           * name on the target, owned; NULL when none */
    struct manifest_guest guest;
};

/* The name the VM has on the target: rename or name. */
const char *manifest_vm_target_name(const struct manifest_vm *vm);

struct manifest_wave {
    char *name;
    struct manifest_loc loc;
    GPtrArray *after;     /* of char*, owned: names of earlier waves */
    unsigned max_parallel;/* >= 1; default 1 */
    /* limits: 0 = none */
    unsigned per_source_host;
    unsigned per_target_host;
    unsigned per_pool;
    enum manifest_on_failure on_failure;
    unsigned retries;     /* extra attempts of a retryable step; default 2 */
    /* window: absolute (RFC 3339 text) and/or weekly */
    char *not_before;
    char *not_after;
    char *weekly;         /* "Sat 22:00-Sun 04:00" or NULL */
    unsigned weekly_start;/* minutes since Monday 00:00 */
    unsigned weekly_end;  /* the same; may be < start (wraps the week) */
    char *timezone;       /* of weekly: "Europe/Paris"; NULL = UTC */
    struct manifest_hooks hooks;
    GPtrArray *vms;       /* of struct manifest_vm*, borrowed, in order */
    GPtrArray *moves;     /* of struct manifest_move*, borrowed, in order */
};

/* A KVM → KVM host move of an existing libvirt domain (a wave's moves:),
 * carried out by the libvirt migration API. */
struct manifest_move {
    char *domain;         /* the domain's name (the same at both ends) */
    char *from;           /* as written: a target name or a libvirt URI */
    char *to;             /* a libvirt target name */
    const struct manifest_target *from_target; /* the libvirt target of
                           * from: one of m->targets, or uri_target */
    const struct manifest_target *to_target;   /* borrowed */
    struct manifest_target *uri_target; /* owned: from as a URI, else NULL */
    struct manifest_loc loc;
    struct manifest_wave *wave;   /* borrowed */
    bool live;            /* live: migrate the running domain; else offline
                           * (VIR_MIGRATE_OFFLINE: the definition only) */
    bool peer_to_peer;    /* the source daemon talks to the destination */
    bool tunnelled;       /* data through the libvirtd connection (p2p) */
    bool persist;         /* VIR_MIGRATE_PERSIST_DEST; default true */
    bool undefine_source; /* VIR_MIGRATE_UNDEFINE_SOURCE; only when written */
    bool auto_converge;   /* live only */
    bool compressed;      /* live only */
    char *migrate_uri;    /* VIR_MIGRATE_PARAM_URI (migration network) */
    uint64_t bandwidth;   /* MiB/s; 0: libvirt's default */
    struct manifest_vm *vm; /* owned: the move as the executor's unit (name
                           * = domain, target = to, wave, hooks); not in
                           * m->vms */
};

/* notify: where apply posts a JSON summary at the end of each wave. */
struct manifest_notify {
    char *url;            /* http(s) */
    char *token_file;     /* bearer token (first line); never loaded here */
    char *ca_file;
    bool insecure;
    unsigned timeout;     /* seconds; default 30 */
    struct manifest_loc loc;
};

struct manifest {
    unsigned version;
    struct manifest_notify *notify; /* NULL: none */
    char *state_path;     /* absolute; default <dir of first file>/.convoy/state.db */
    char *base_dir;       /* directory of the first manifest file */
    char *default_target; /* defaults: target, or NULL */
    GPtrArray *files;     /* of char*, owned: every file loaded, in order */
    GPtrArray *sources;   /* of struct manifest_source*, owned */
    GPtrArray *targets;   /* of struct manifest_target*, owned */
    GPtrArray *waves;     /* of struct manifest_wave*, owned, in order */
    GPtrArray *vms;       /* of struct manifest_vm*, owned, wave order */
    GPtrArray *moves;     /* of struct manifest_move*, owned, wave order */
    GPtrArray *warnings;  /* of char*, owned: "FILE:LINE:COL: warning: …" */
};

/* Load and validate.  paths are files or directories (their *.yaml and
 * *.yml files, sorted by name).  On any error returns NULL with
 * CONVOY_ERROR_INVALID whose message lists every problem, one per line,
 * as "FILE:LINE:COL: error: …" (cap MANIFEST_MAX_ERRORS), or
 * CONVOY_ERROR_IO if a path cannot be read.  Caller frees the result. */
struct manifest *manifest_load(const char *const *paths, size_t n_paths,
                               GError **error);
/* The same for one manifest held in memory (fuzzing, tests); name is the
 * file name used in messages, and relative paths resolve against its
 * directory. */
struct manifest *manifest_load_data(const char *name, const char *data,
                                    size_t len, GError **error);
void manifest_free(struct manifest *m);
typedef struct manifest manifest; /* for g_autoptr() only */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(manifest, manifest_free)

/* Lookups by name; borrowed results, NULL if absent. */
struct manifest_source *manifest_find_source(const struct manifest *m,
                                             const char *name);
struct manifest_target *manifest_find_target(const struct manifest *m,
                                             const char *name);
struct manifest_wave *manifest_find_wave(const struct manifest *m,
                                         const char *name);
struct manifest_vm *manifest_find_vm(const struct manifest *m,
                                     const char *name);

/* The move of a domain; borrowed, NULL if none. */
struct manifest_move *manifest_find_move(const struct manifest *m,
                                         const char *domain);

/* Canonical, secret-free text of what a VM's steps depend on in the
 * manifest: "key=value" lines sorted by key (name, rename, source kind
 * and location, file, target kind/path/uri/domain_type, disk_format,
 * allocation, source_power, start, rules, memory, vcpus, network maps).
 * Returns a new string. */
char *manifest_vm_canonical(const struct manifest *m,
                            const struct manifest_vm *vm);

/* The whole resolved model as deterministic text (files, state, sources,
 * targets, waves and every VM's canonical lines), for golden tests and
 * debugging.  Returns a new string. */
char *manifest_dump(const struct manifest *m);
