/* ynode: a YAML document as a tree of nodes that remember where they came
 * from (file, line, column), built from libyaml events.  Anchors and
 * aliases are resolved (an alias node shares the anchored subtree);
 * "<<" merge keys are applied; duplicate keys are reported with a note
 * naming the first definition.  Used by the manifest and rules loaders.
 * Scalars are kept verbatim: "${env:NAME}" is expanded by the manifest
 * loader only (engine/manifest), never in rules files. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

#define YNODE_MAX_BYTES (16u * 1024 * 1024)  /* bound on one YAML file */
#define YNODE_MAX_DEPTH 64
#define YNODE_MAX_NODES 2000000              /* after alias expansion */

enum ynode_kind {
    YNODE_SCALAR,
    YNODE_SEQUENCE,
    YNODE_MAPPING,
    YNODE_LAST,
};

/* 1-based source position. */
struct ynode_pos {
    const char *file;      /* borrowed from the ydoc */
    unsigned line;
    unsigned col;
};

struct ynode;

/* A key/value pair of a mapping; both borrowed from the tree. */
struct ynode_pair {
    struct ynode *key;     /* always a scalar */
    struct ynode *value;
};

struct ynode {
    enum ynode_kind kind;
    struct ynode_pos pos;
    char *tag;             /* explicit tag or NULL */
    /* SCALAR */
    char *value;           /* NUL-terminated; owned */
    bool has_nul;          /* the scalar held a NUL ("\0"): value is cut
                            * there, so it must be refused, not used */
    bool quoted;           /* written with quotes or as a block scalar */
    /* SEQUENCE: items (struct ynode*), MAPPING: pairs (struct ynode_pair*),
     * in document order; arrays owned by the node */
    GPtrArray *items;
    GPtrArray *pairs;
};

/* A loaded document owns all its nodes and its file name. */
struct ydoc {
    char *file;
    struct ynode *root;    /* NULL for an empty document */
};

/* Parse a YAML file (first document only; a second document is an error).
 * Errors: CONVOY_ERROR_INVALID with "FILE:LINE:COL: error: message"
 * (syntax errors said in the operator's words: "tab character in
 * indentation; YAML indents with spaces", "unclosed '{'" with a note
 * where it opens), CONVOY_ERROR_IO if the file
 * cannot be read.  Returns a new document, caller frees. */
struct ydoc *ydoc_load_file(const char *path, GError **error);
/* The same from memory; name is used as FILE in messages.  An empty
 * document (len 0, data may be NULL) has a NULL root. */
struct ydoc *ydoc_load_data(const char *name, const char *data, size_t len,
                            GError **error);
void ydoc_free(struct ydoc *doc);
typedef struct ydoc ydoc; /* for g_autoptr() only */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ydoc, ydoc_free)

/* Mapping lookup by key; NULL if absent or node is not a mapping. */
struct ynode *ynode_get(const struct ynode *map, const char *key);
/* "scalar", "sequence", "mapping" (for messages). */
const char *ynode_kind_name(enum ynode_kind kind);
/* "FILE:LINE:COL" as a new string. */
char *ynode_pos_str(const struct ynode *n);
/* Typed scalar readers; false when the node is not a scalar of that type.
 * bool accepts true/false (YAML 1.2 core); uint accepts decimal only. */
bool ynode_as_bool(const struct ynode *n, bool *out);
bool ynode_as_uint64(const struct ynode *n, guint64 *out);
/* True for a plain (unquoted) scalar ~, null, Null, NULL or empty. */
bool ynode_is_null(const struct ynode *n);

/* Error collection for validators: each entry is one full line
 * "FILE:LINE:COL: error: message" (or ": note: ").  Caps at max errors
 * (further ones are counted, not kept). */
struct ydiag {
    GPtrArray *lines;      /* of char*, owned */
    unsigned errors;
    unsigned max;
};
void ydiag_init(struct ydiag *d, unsigned max);
void ydiag_release(struct ydiag *d);
void ydiag_error(struct ydiag *d, const struct ynode *at, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
void ydiag_note(struct ydiag *d, const struct ynode *at, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
/* A "FILE:LINE:COL: warning: …" line: it does not count as an error, and
 * stays in d->lines when ydiag_finish() succeeds. */
void ydiag_warning(struct ydiag *d, const struct ynode *at, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
/* When d has errors: set *error (CONVOY_ERROR_INVALID) to all the lines
 * joined by newlines (plus "… and N more errors") and return false. */
bool ydiag_finish(struct ydiag *d, GError **error);

/* The closest candidate to word (Levenshtein distance <= 2, or a case
 * difference), or NULL.  candidates is NULL-terminated; result borrowed. */
const char *ydid_you_mean(const char *word, const char *const *candidates);
