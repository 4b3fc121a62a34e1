/* engine/manifest internals shared by its source files: the loader
 * context, the effective settings that inherit defaults ← wave ← vm, and
 * the typed node readers that report what they expected. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "manifest/manifest.h"
#include "util/ynode.h"

/* Settings a VM inherits (defaults ← wave ← vm). */
struct msettings {
    char *target;                   /* owned; NULL when unset */
    enum disk_format disk_format;
    enum disk_allocation allocation;
    enum manifest_source_power source_power;
    bool start;
    bool autostart;
    GPtrArray *rules;               /* of char*, owned */
    uint64_t memory;
    unsigned vcpus;
    struct manifest_guest guest;    /* rules owned */
};

void manifest_guest_copy(struct manifest_guest *dst, const struct manifest_guest *src);

/* One load: the documents, the errors, the model under construction. */
struct mload {
    struct manifest *m;             /* the model being built, owned */
    struct ydiag diag;
    GPtrArray *docs;                /* of struct ydoc*, owned */
    GHashTable *file_names;         /* ydoc file → m->files entry */
    GHashTable *dirs;               /* ydoc file → absolute dir, owned */
    const struct ynode *state_key;  /* first 'state:' key, or NULL */
    const struct ynode *defaults_key;
    const struct ynode *notify_key;     /* the first notify: */
    const struct ynode *defaults;   /* the defaults mapping, or NULL */
    GHashTable *source_keys;        /* name → key node of its definition */
    GHashTable *target_keys;
    GPtrArray *wave_nodes;          /* of const struct ynode*, in order */
    struct msettings base;          /* defaults, resolved */
    GHashTable *bad_nodes;          /* nodes already reported (set) */
};

/* check.c: typed readers.  Each reports a located error through l->diag
 * and returns false when the node is not what key expects; a node in
 * l->bad_nodes (its ${env:…} failed) is refused without a second error. */
bool mcheck_keys(struct mload *l, const struct ynode *map, const char *what,
                 const char *const *allowed);
bool mcheck_mapping(struct mload *l, const struct ynode *n, const char *key);
bool mrequire(struct mload *l, const struct ynode *map, const char *key,
              const char *what);
bool mget_string(struct mload *l, const struct ynode *n, const char *key,
                 char **out);
/* As mget_string, and usable as part of a file name on a target: no '/',
 * not "." or "..", no leading '-'. */
bool mget_file_name(struct mload *l, const struct ynode *n, const char *key,
                    char **out);
bool mget_name(struct mload *l, const struct ynode *n, const char *key,
               char **out);
bool mget_path(struct mload *l, const struct ynode *n, const char *key,
               char **out);
bool mget_uint(struct mload *l, const struct ynode *n, const char *key,
               uint64_t min, uint64_t max, uint64_t *out);
/* What was found, for "got …" in a message: a quoted scalar or the
 * node's kind.  New string. */
char *mgot_text(const struct ynode *n);
bool mget_bool(struct mload *l, const struct ynode *n, const char *key,
               bool *out);
bool mget_enum(struct mload *l, const struct ynode *n, const char *key,
               const char *const *names, unsigned *out);
bool mget_size(struct mload *l, const struct ynode *n, const char *key,
               uint64_t *out);
bool mget_url(struct mload *l, const struct ynode *n, const char *key,
              char **out);
/* A name with letters, digits, '.', '_', '-' (sources, targets, waves). */
bool mname_valid(const char *s);
/* Location of a node, with the file borrowed from l->m->files. */
struct manifest_loc mloc(struct mload *l, const struct ynode *n);
/* The absolute directory of the file that holds n. */
const char *mdir(struct mload *l, const struct ynode *n);
/* "a, b, c" of the names in a NULL-terminated array: new string. */
char *mjoin_names(GPtrArray *names_of_objects, size_t name_offset);

/* env.c: expand ${env:NAME} in the scalar values of doc (in place),
 * skipping the values of x- keys; errors at the scalar. */
void menv_expand(struct mload *l, struct ydoc *doc);

/* sources.c / targets.c: parse one definition (key: name, value: body)
 * into the model; errors collected. */
void msource_parse(struct mload *l, const struct ynode *key,
                   const struct ynode *body);
void mtarget_parse(struct mload *l, const struct ynode *key,
                   const struct ynode *body);

/* settings.c */
void msettings_init(struct msettings *s);
void msettings_release(struct msettings *s);
void msettings_copy(struct msettings *dst, const struct msettings *src);
/* Apply the setting keys of map over s; target references are checked
 * against the loaded targets, and reported as "CTX: target 'x' is not
 * defined; …". */
void msettings_apply(struct mload *l, const struct ynode *map,
                     const char *ctx, struct msettings *s);

/* waves.c: parse every wave and VM, then check references, duplicates
 * and 'after' cycles. */
void mwaves_parse(struct mload *l);

/* moves.c: parse one entry of a wave's moves: into the model; domains
 * (name → node of the first move) catches a domain moved twice. */
void mmove_parse(struct mload *l, const struct ynode *n,
                 struct manifest_wave *w, GHashTable *domains);

/* model.c */
struct manifest_source *msource_new(void);
struct manifest_target *mtarget_new(void);
struct manifest_wave *mwave_new(void);
struct manifest_vm *mvm_new(void);
void msource_free(gpointer p);
void mtarget_free(gpointer p);
void mwave_free(gpointer p);
void mvm_free(gpointer p);
void mmove_free(gpointer p);
