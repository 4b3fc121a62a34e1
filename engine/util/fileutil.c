/* Durable atomic file replacement (write temp, fsync, rename, fsync dir),
 * and outputs that never go through a symbolic link. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <sys/stat.h>

#include "util/error.h"
#include "util/fileutil.h"

bool
file_sync_dir(const char *dir, GError **error)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_IO,
                    "cannot open directory '%s': %s", dir, g_strerror(e));
        return false;
    }
    if (fsync(fd) < 0 && errno != EINVAL) {
        int e = errno;
        close(fd);
        g_set_error(error, CONVOY_ERROR, convoy_error_from_errno(e),
                    "cannot sync directory '%s': %s", dir, g_strerror(e));
        return false;
    }
    close(fd);
    return true;
}

static void
set_symlink_error(GError **error, const char *path)
{
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONFLICT,
                "'%s' is a symbolic link; convoy never writes an output through one (remove it, or write elsewhere)",
                path);
}

bool
file_refuse_symlink(const char *path, GError **error)
{
    struct stat sb;

    if (lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode)) {
        set_symlink_error(error, path);
        return false;
    }
    return true;
}

void
file_set_open_error(GError **error, const char *what, const char *path,
                    int e)
{
    if (e == ELOOP) {
        set_symlink_error(error, path);
        return;
    }
    g_set_error(error, CONVOY_ERROR, convoy_error_from_errno(e),
                "cannot %s '%s': %s", what, path, g_strerror(e));
}

bool
file_create_new(const char *path, int mode, GError **error)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  (mode_t)mode);
    int e;

    if (fd >= 0) {
        close(fd);
        return true;
    }
    e = errno;
    if (e == EEXIST) {
        if (!file_refuse_symlink(path, error))
            return false;
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONFLICT,
                    "'%s' already exists and convoy did not create it; it is never overwritten",
                    path);
        return false;
    }
    file_set_open_error(error, "create", path, e);
    return false;
}

bool
file_write_atomic(const char *path, const void *data, size_t len, int mode,
                  GError **error)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *base = g_path_get_basename(path);
    g_autofree char *tmp = g_strdup_printf("%s/.%s.XXXXXX", dir, base);
    const char *p = data;
    size_t left = len;
    int fd;
    int e;

    if (!file_refuse_symlink(path, error))
        return false;
    fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, mode);
    if (fd < 0) {
        /* Name the file asked for, not the temporary beside it. */
        e = errno;
        if (e == ENOENT || e == ENOTDIR)
            g_set_error(error, CONVOY_ERROR, convoy_error_from_errno(e),
                        "cannot write '%s': folder '%s' does not exist", path, dir);
        else
            g_set_error(error, CONVOY_ERROR, convoy_error_from_errno(e),
                        "cannot write '%s': %s", path, g_strerror(e));
        return false;
    }
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            goto fail;
        }
        p += n;
        left -= (size_t)n;
    }
    if (fchmod(fd, (mode_t)mode) < 0 || fsync(fd) < 0)
        goto fail;
    if (close(fd) < 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) < 0)
        goto fail;
    return file_sync_dir(dir, error);

 fail:
    e = errno;
    if (fd >= 0)
        close(fd);
    g_unlink(tmp);
    g_set_error(error, CONVOY_ERROR, convoy_error_from_errno(e),
                "cannot write '%s': %s", path, g_strerror(e));
    return false;
}
