/* The model of a loaded guest rule set, shared by the files of
 * engine/guest. */
#pragma once

#include <glib.h>

#include "guest/guest.h"

/* One fact condition: fact equals one of values, or (for numbers) the
 * comparison op against number holds. */
struct guest_cond {
    char *fact;
    GPtrArray *values;      /* of char*, any of; NULL with a comparison */
    char op[3];             /* ">=", ">", "<=", "<", "!=", or "" */
    long number;
};

struct guest_when {
    GPtrArray *conds;       /* of struct guest_cond*, all of */
    GPtrArray *exists;      /* of char*: paths that must exist */
    GPtrArray *missing;     /* of char*: paths that must not exist */
};

enum guest_op {
    GUEST_OP_REPLACE,
    GUEST_OP_AUGEAS,
    GUEST_OP_WRITE,
    GUEST_OP_DELETE,
    GUEST_OP_SYMLINK,
    GUEST_OP_UPLOAD,
    GUEST_OP_COMMAND,
    GUEST_OP_REMOVE_PACKAGES,
    GUEST_OP_REFUSE,
    GUEST_OP_RENAME_DISKS,
    GUEST_OP_LAST,
};

struct guest_rule {
    char *id;
    char *description;
    unsigned line;
    struct guest_when when;
    enum guest_op op;
    char *file;             /* replace, rename-disks, write: the guest
                             * file; upload: local */
    GRegex *regex;          /* replace, rename-disks */
    char *with;             /* replace: replacement; write: content */
    bool required;          /* replace: a missing file is an error */
    char *to;               /* upload: guest path; symlink: the link */
    char *target;           /* symlink: where it points */
    unsigned mode;          /* write, upload; 0: 0644 */
    char *run;              /* command */
    unsigned timeout;       /* command; 0: the session's default */
    char *message;          /* refuse */
    GPtrArray *set_paths;   /* augeas set, in order (char*) */
    GPtrArray *set_values;
    GPtrArray *paths;       /* augeas remove; delete; remove-packages */
};

struct guest_rule_set {
    char *name;
    char *path;
    char *base_dir;         /* where upload files are */
    char *digest;
    char *description;
    unsigned version;
    struct guest_when when;
    GPtrArray *rules;       /* of struct guest_rule* */
};

/* A Xen disk name in a guest file: /dev/xvdb, /dev/hda2, /dev/sdc1 (the
 * prefix; the disk letters; the partition number). */
#define GUEST_XEN_DISK_REGEX "/dev/(xvd|[hs]d)([a-z]{1,2})([0-9]*)(?![a-z0-9])"

/* ops.c: how long one in-guest command may run.  Under TCG the appliance
 * is emulated, several times slower than with KVM (an initrd rebuild on a
 * loaded host took longer than the 600 s default), so the limit scales by
 * GUEST_TCG_SLOWDOWN there. */
#define GUEST_TCG_SLOWDOWN 4

struct guest_timeout {
    unsigned base;          /* the rule's timeout, else the session's */
    unsigned seconds;       /* the limit applied: base, or base × 4 */
    bool tcg;               /* scaled because the appliance runs under TCG */
};

/* The limit for a command whose rule says rule_timeout (0: none) in a
 * session whose default is session_default; tcg: the appliance is
 * emulated. */
struct guest_timeout guest_command_timeout(unsigned rule_timeout,
                                           unsigned session_default, bool tcg);
/* What the limit was, for messages: "600 s" or "2400 s: 600 s ×4 under
 * TCG".  Returns a new string, caller frees. */
char *guest_timeout_describe(const struct guest_timeout *t);

/* facts.c: does when hold for facts?  Path conditions are checked by
 * exists(path, opaque) (NULL: no path conditions allowed). */
bool guest_when_holds(const struct guest_when *w, GHashTable *facts,
                      bool (*exists)(const char *path, void *opaque),
                      void *opaque);
