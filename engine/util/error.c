/* The CONVOY_ERROR domain and the mapping of its codes to exit statuses. */
#include "config.h"

#include <errno.h>

#include "util/error.h"

/* clang-format off */
G_DEFINE_QUARK(convoy-error-quark, convoy_error)
/* clang-format on */

enum convoy_error_code
convoy_error_from_errno(int errsv)
{
    if (errsv == ENOSPC || errsv == EDQUOT)
        return CONVOY_ERROR_NOSPACE;
    switch (errsv) {
    case EACCES:
    case EPERM:
    case EROFS:
    case ENAMETOOLONG:
    case EINVAL:
    case ENOTDIR:
    case EISDIR:
    case ELOOP:
    case EEXIST:
    case EFBIG:
        return CONVOY_ERROR_REFUSED;
    default:
        return CONVOY_ERROR_IO;
    }
}

enum convoy_exit
convoy_exit_for_error(const GError *error)
{
    if (error == NULL || error->domain != CONVOY_ERROR)
        return CONVOY_EXIT_FAILURE;
    switch ((enum convoy_error_code)error->code) {
    case CONVOY_ERROR_INVALID:
        return CONVOY_EXIT_INVALID;
    case CONVOY_ERROR_USAGE:
        return CONVOY_EXIT_USAGE;
    case CONVOY_ERROR_INTERRUPTED:
        return CONVOY_EXIT_INTERRUPTED;
    case CONVOY_ERROR_FAILED:
    case CONVOY_ERROR_IO:
    case CONVOY_ERROR_NOSPACE:
    case CONVOY_ERROR_CHECKSUM:
    case CONVOY_ERROR_FORMAT:
    case CONVOY_ERROR_XML:
    case CONVOY_ERROR_SQLITE:
    case CONVOY_ERROR_LOCKED:
    case CONVOY_ERROR_NOT_FOUND:
    case CONVOY_ERROR_STALE_PLAN:
    case CONVOY_ERROR_CONVERT:
    case CONVOY_ERROR_NBD:
    case CONVOY_ERROR_DRIFT:
    case CONVOY_ERROR_INTERNAL:
    case CONVOY_ERROR_LIBVIRT:
    case CONVOY_ERROR_CONFLICT:
    case CONVOY_ERROR_GUEST:
    case CONVOY_ERROR_REFUSED:
    case CONVOY_ERROR_STATE_DAMAGED:
    case CONVOY_ERROR_LAST:
    default:
        return CONVOY_EXIT_FAILURE;
    }
}

bool
convoy_error_is_transient(const GError *error)
{
    if (error == NULL || error->domain != CONVOY_ERROR)
        return false;
    switch ((enum convoy_error_code)error->code) {
    case CONVOY_ERROR_IO:
    case CONVOY_ERROR_NBD:
    case CONVOY_ERROR_LIBVIRT:
        return true;
    case CONVOY_ERROR_FAILED:
    case CONVOY_ERROR_INVALID:
    case CONVOY_ERROR_USAGE:
    case CONVOY_ERROR_NOSPACE:
    case CONVOY_ERROR_CHECKSUM:
    case CONVOY_ERROR_FORMAT:
    case CONVOY_ERROR_XML:
    case CONVOY_ERROR_SQLITE:
    case CONVOY_ERROR_LOCKED:
    case CONVOY_ERROR_INTERRUPTED:
    case CONVOY_ERROR_NOT_FOUND:
    case CONVOY_ERROR_STALE_PLAN:
    case CONVOY_ERROR_CONVERT:
    case CONVOY_ERROR_DRIFT:
    case CONVOY_ERROR_INTERNAL:
    case CONVOY_ERROR_CONFLICT:
    case CONVOY_ERROR_GUEST:
    case CONVOY_ERROR_REFUSED:
    case CONVOY_ERROR_STATE_DAMAGED:
    case CONVOY_ERROR_LAST:
    default:
        return false;
    }
}
