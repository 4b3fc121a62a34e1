/* Unit tests of util/error: which errno values are for good (never
 * retried) and which codes are transient. */
#include "config.h"

#undef NDEBUG
#include <assert.h>
#include <errno.h>
#include <stdio.h>

#include "util/error.h"

struct errno_case {
    int errsv;
    enum convoy_error_code code;
};

static const struct errno_case errno_cases[] = {
    {ENOSPC, CONVOY_ERROR_NOSPACE},
    {EDQUOT, CONVOY_ERROR_NOSPACE},
    {EIO, CONVOY_ERROR_IO},
    {ETIMEDOUT, CONVOY_ERROR_IO},
    {ECONNRESET, CONVOY_ERROR_IO},
    {EACCES, CONVOY_ERROR_REFUSED},
    {EPERM, CONVOY_ERROR_REFUSED},
    {EROFS, CONVOY_ERROR_REFUSED},
    {ENAMETOOLONG, CONVOY_ERROR_REFUSED},
    {EINVAL, CONVOY_ERROR_REFUSED},
    {ENOTDIR, CONVOY_ERROR_REFUSED},
    {EISDIR, CONVOY_ERROR_REFUSED},
    {ELOOP, CONVOY_ERROR_REFUSED},
    {EEXIST, CONVOY_ERROR_REFUSED},
    {EFBIG, CONVOY_ERROR_REFUSED},
    {0, 0},
};

struct transient_case {
    enum convoy_error_code code;
    bool transient;
};

static const struct transient_case transient_cases[] = {
    {CONVOY_ERROR_IO, true},
    {CONVOY_ERROR_NBD, true},
    {CONVOY_ERROR_LIBVIRT, true},
    {CONVOY_ERROR_REFUSED, false},
    {CONVOY_ERROR_NOSPACE, false},
    {CONVOY_ERROR_CHECKSUM, false},
    {CONVOY_ERROR_FORMAT, false},
    {CONVOY_ERROR_INTERNAL, false},
    {CONVOY_ERROR_INVALID, false},
    {0, false},
};

int
main(void)
{
    for (const struct errno_case *c = errno_cases; c->errsv != 0; c++) {
        if (convoy_error_from_errno(c->errsv) != c->code) {
            fprintf(stderr, "errno %d: got code %d, expected %d\n", c->errsv,
                    convoy_error_from_errno(c->errsv), c->code);
            return 1;
        }
    }
    for (const struct transient_case *c = transient_cases; c->code != 0; c++) {
        g_autoptr(GError) e = g_error_new(CONVOY_ERROR, c->code, "x");
        if (convoy_error_is_transient(e) != c->transient) {
            fprintf(stderr, "code %d: transient %d, expected %d\n", c->code,
                    !c->transient, c->transient);
            return 1;
        }
    }
    /* A refusal ends the command with exit 1, as other failures do. */
    g_autoptr(GError) r = g_error_new(CONVOY_ERROR, CONVOY_ERROR_REFUSED, "x");
    assert(convoy_exit_for_error(r) == CONVOY_EXIT_FAILURE);
    fprintf(stderr, "ok\n");
    return 0;
}
