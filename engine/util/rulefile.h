/* rulefile: what reading a rules file means for both rule engines, domain
 * rules (engine/convert, rules/domain/) and guest rules (engine/guest,
 * rules/guest/): the search path, the YAML tree with positions, the
 * digest, the header (name, version, description, rules) and the
 * FILE:LINE:COL errors.  Each engine reads its own rules and facts/when:
 * from the tree; see docs/rules-format.md and docs/guest-rules-format.md.
 *
 * The two engines grew apart and word some of the same problems
 * differently ("missing required key 'name'" and "guest rules file: 'name'
 * is required"); tests and users' scripts match those messages, so the
 * shared code keeps both wordings and picks one by the file's kind. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

#include "util/ynode.h"

#define RULEFILE_MAX_BYTES (4u * 1024 * 1024) /* bound on a rules file */
#define RULEFILE_MAX_ERRORS 50                /* errors kept per file */

enum rulefile_kind {
    RULEFILE_KIND_DOMAIN, /* rules/domain: XPath edits of domain XML */
    RULEFILE_KIND_GUEST,  /* rules/guest: repairs inside the guest */
    RULEFILE_KIND_LAST,
};

/* The directories searched for rule set NAME.yaml of one kind, most
 * specific first: MANIFEST_DIR/rules/KIND (when manifest_dir is not NULL),
 * $CONVOY_RULESDIR/KIND (when set and not empty), the installed
 * DATADIR/convoy/rules/KIND, the source tree's rules/KIND.  kind is the
 * folder name, "domain" or "guest".  Returns a new NULL-terminated vector,
 * caller frees (g_strfreev). */
char **rulefile_search_path(const char *manifest_dir, const char *kind);

/* The path of NAME.yaml in the first of dirs (NULL-terminated, may be
 * NULL) that holds it as a regular file, or NULL.  Returns a new string. */
char *rulefile_find(const char *name, const char *const *dirs);

/* True when s is a rule set or rule name: letters, digits, '_', '-' and
 * '.', starting with a letter or '_' (or a digit, with
 * allow_leading_digit). */
bool rulefile_is_name(const char *s, bool allow_leading_digit);

/* Read a rules file whole (rulefile_open checks its size).  Returns a new
 * NUL-terminated buffer, caller frees; *len gets its size.  Errors: domain
 * CONVOY_ERROR_IO "cannot read rules file 'PATH': …", guest
 * CONVOY_ERROR_INVALID "PATH: error: cannot read: …". */
char *rulefile_read(enum rulefile_kind kind, const char *path, size_t *len,
                    GError **error);

/* One rules file while its engine reads it. */
struct rulefile {
    enum rulefile_kind kind;
    const char *path;  /* borrowed: FILE in messages, the set's path */
    const char *data;  /* borrowed: the file's bytes */
    size_t len;
    struct ydoc *doc;  /* owned: the YAML tree */
    char *digest;      /* owned: hex SHA-256 of the bytes, steal it */
    struct ydiag diag; /* owned: the problems found so far */
};

/* Check the size, parse the YAML and take the digest (SHA-256 of the
 * bytes, as they are: it enters step fingerprints).  Borrows name and
 * data; they must outlive rf.  On failure (too large, not YAML) sets error
 * and leaves nothing to release. */
bool rulefile_open(struct rulefile *rf, enum rulefile_kind kind,
                   const char *name, const char *data, size_t len,
                   GError **error);
/* Free what rulefile_open made (not the borrowed bytes). */
void rulefile_release(struct rulefile *rf);
/* The problems found, if any, as one CONVOY_ERROR_INVALID of
 * "FILE:LINE:COL: error: …" lines; false then. */
bool rulefile_finish(struct rulefile *rf, GError **error);

/* The root mapping of the file, or NULL with error set (the file is empty
 * or not a mapping).  Borrowed from rf. */
const struct ynode *rulefile_root(struct rulefile *rf, GError **error);

/* The header every rules file has. */
struct rulefile_header {
    char *name;        /* owned; NULL if missing or invalid */
    unsigned version;  /* 0 if missing or invalid */
    char *description; /* owned; may be NULL */
};
void rulefile_header_release(struct rulefile_header *h);

/* Read the header of root: report keys not in top_keys, then name,
 * version and description.  Problems go to rf->diag; h gets what is
 * valid. */
void rulefile_read_header(struct rulefile *rf, const struct ynode *root,
                          const char *const *top_keys,
                          struct rulefile_header *h);
/* The list under 'rules:' (a sequence node, borrowed), or NULL: missing or
 * not a list (reported), or an empty domain rule set ('rules: ~').  At
 * most max_rules rules (0: no bound). */
const struct ynode *rulefile_rules(struct rulefile *rf, const struct ynode *root,
                                   unsigned max_rules);

/* The scalar text of n, or NULL after reporting "'KEY': expected a
 * string".  Borrowed from the tree. */
const char *rulefile_want_string(struct rulefile *rf, const struct ynode *n,
                                 const char *key);
/* True when key is one of known (NULL-terminated). */
bool rulefile_is_known(const char *key, const char *const *known);
/* Report key (a scalar node) as unknown in where ("rule set", "a rule"),
 * with a "did you mean" from known when one is close. */
void rulefile_unknown_key(struct rulefile *rf, const struct ynode *key,
                          const char *where, const char *const *known);
