/* The one error domain of convoy (CONVOY_ERROR) and its stable codes.
 * Codes are never renumbered; docs/errors.md describes each one. */
#pragma once

#include <stdbool.h>
#include <glib.h>

#define CONVOY_ERROR (convoy_error_quark())

GQuark convoy_error_quark(void);

enum convoy_error_code {
    CONVOY_ERROR_FAILED = 1,        /* generic failure */
    CONVOY_ERROR_INVALID = 2,       /* invalid manifest or rules (exit 3) */
    CONVOY_ERROR_USAGE = 3,         /* bad command line (exit 64) */
    CONVOY_ERROR_IO = 4,            /* read/write/open failed */
    CONVOY_ERROR_NOSPACE = 5,       /* ENOSPC/EDQUOT on an output */
    CONVOY_ERROR_CHECKSUM = 6,      /* XVA chunk checksum mismatch */
    CONVOY_ERROR_FORMAT = 7,        /* malformed XVA / tar / ova.xml */
    CONVOY_ERROR_XML = 8,           /* XML parse or XPath failure */
    CONVOY_ERROR_SQLITE = 9,        /* state store failure */
    CONVOY_ERROR_LOCKED = 10,       /* another apply holds the state lock */
    CONVOY_ERROR_INTERRUPTED = 11,  /* stopped by a signal; resumable (exit 4) */
    CONVOY_ERROR_NOT_FOUND = 12,    /* VM, file or object not found */
    CONVOY_ERROR_STALE_PLAN = 13,   /* saved plan no longer matches */
    CONVOY_ERROR_CONVERT = 14,      /* domain conversion failed (unmapped NIC…) */
    CONVOY_ERROR_NBD = 15,          /* libnbd / qemu-nbd failure */
    CONVOY_ERROR_DRIFT = 16,        /* output changed behind convoy's back */
    CONVOY_ERROR_INTERNAL = 17,     /* a bug in convoy */
    CONVOY_ERROR_LIBVIRT = 18,      /* a libvirt call failed (connection, pool…) */
    CONVOY_ERROR_CONFLICT = 19,     /* target object exists and is not convoy's */
    CONVOY_ERROR_GUEST = 20,        /* in-guest repair failed or was refused */
    CONVOY_ERROR_REFUSED = 21,      /* refused for good (EACCES, EROFS, a bad name) */
    CONVOY_ERROR_STATE_DAMAGED = 22, /* the state store is damaged or of an unknown schema */
    CONVOY_ERROR_LAST,
};

/* Map an errno value from a failed I/O call to IO, NOSPACE, or REFUSED
 * for what trying again cannot change (permission denied, a read-only
 * file system, a name too long or invalid, a parent that is not a
 * directory). */
enum convoy_error_code convoy_error_from_errno(int errsv);

/* Process exit statuses [decision, STYLE.md 3]. */
enum convoy_exit {
    CONVOY_EXIT_OK = 0,
    CONVOY_EXIT_FAILURE = 1,
    CONVOY_EXIT_CHANGES = 2,
    CONVOY_EXIT_INVALID = 3,
    CONVOY_EXIT_INTERRUPTED = 4,
    CONVOY_EXIT_USAGE = 64,
};

/* Exit status for a failed command given its error (NULL → FAILURE). */
enum convoy_exit convoy_exit_for_error(const GError *error);
/* May the same operation succeed when tried again (a dropped connection,
 * an I/O error on a network path)?  Never for checksum, format, space or
 * manifest errors. */
bool convoy_error_is_transient(const GError *error);
