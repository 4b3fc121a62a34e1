/* The directory target: disk images and the domain XML in one folder,
 * <path>/<vm>-<dev>.<raw|qcow2> and <path>/<vm>.xml.  No daemon.  Every
 * output stays in that folder, and a file convoy did not create there is
 * never replaced (unless the VM adopts it) nor removed. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib.h>

#include "targets/targets.h"
#include "util/error.h"
#include "util/fileutil.h"
#include "util/hash.h"

extern const struct target_ops target_directory_ops;

static struct target *
dir_open(const struct manifest_target *mt, GError **error)
{
    struct target *t = g_new0(struct target, 1);

    t->ops = &target_directory_ops;
    t->mt = mt;
    return t;
}

static void
dir_close(struct target *t)
{
    g_free(t);
}

/* A directory target has no pools (the loader refuses pools: for it). */
static char *
dir_disk_location(struct target *t, const char *vm, const char *dev,
                  enum disk_format format, const char *pool, const char *name)
{
    g_autofree char *base = name != NULL ? g_strdup(name) :
                            g_strdup_printf("%s-%s.%s", vm, dev,
                                            disk_format_name(format));
    return g_build_filename(t->mt->path, base, NULL);
}

/* Is path a file directly in the target's folder (not a path that
 * leaves it, not the folder itself)?  Names are checked by the manifest
 * loader; this is the last guard before anything is written or removed. */
static bool
inside(struct target *t, const char *path, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *base = g_path_get_basename(path);

    if (strcmp(dir, t->mt->path) == 0 && strcmp(base, ".") != 0 &&
        strcmp(base, "..") != 0 && strcmp(base, G_DIR_SEPARATOR_S) != 0)
        return true;
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL,
                "internal error: output '%s' is not a file in the folder '%s' of target '%s'",
                path, t->mt->path, t->mt->name);
    return false;
}

static bool
ensure_dir(const char *path, GError **error)
{
    if (g_mkdir_with_parents(path, 0755) < 0) {
        int e = errno;
        g_set_error(error, CONVOY_ERROR, convoy_error_from_errno(e),
                    "cannot create directory '%s': %s", path, g_strerror(e));
        return false;
    }
    return true;
}

static struct disk_writer *
dir_open_writer(struct target *t, const char *location, enum disk_format format,
                enum disk_allocation allocation, uint64_t size,
                uint64_t resume_from, GError **error)
{
    if (!inside(t, location, error) || !ensure_dir(t->mt->path, error))
        return NULL;
    return disk_writer_open(location, format, allocation, size, resume_from,
                            error);
}

/* Virtual size of a qcow2 image from its header, or 0. */
static uint64_t
qcow2_virtual_size(const char *path)
{
    unsigned char hdr[32];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;
    uint64_t size = 0;

    if (fd < 0)
        return 0;
    n = pread(fd, hdr, sizeof hdr, 0);
    close(fd);
    if (n != (ssize_t)sizeof hdr || memcmp(hdr, "QFI\xfb", 4) != 0)
        return 0;
    for (int i = 24; i < 32; i++)
        size = (size << 8) | hdr[i];
    return size;
}

static bool
dir_disk_present(struct target *t, const char *location,
                 enum disk_format format, uint64_t size)
{
    struct stat sb;

    if (stat(location, &sb) < 0 || !S_ISREG(sb.st_mode))
        return false;
    if (format == DISK_FORMAT_QCOW2)
        return qcow2_virtual_size(location) == disk_image_size(format, size);
    return (uint64_t)sb.st_size == size;
}

static char *
dir_domain_location(struct target *t, const char *vm)
{
    g_autofree char *base = g_strdup_printf("%s.xml", vm);
    return g_build_filename(t->mt->path, base, NULL);
}

static bool
dir_define(struct target *t, const char *vm, const char *xml, bool autostart,
           GError **error)
{
    g_autofree char *path = dir_domain_location(t, vm);

    if (!inside(t, path, error) || !ensure_dir(t->mt->path, error))
        return false;
    return file_write_atomic(path, xml, strlen(xml), 0644, error);
}

static char *
dir_domain_digest(struct target *t, const char *vm)
{
    g_autofree char *path = dir_domain_location(t, vm);

    return hash_sha256_file(path);
}

/* Remove a file convoy wrote; absent is not an error. */
static bool
remove_file(const char *path, bool *removed, GError **error)
{
    *removed = false;
    if (unlink(path) == 0) {
        *removed = true;
        return true;
    }
    if (errno == ENOENT)
        return true;
    int e = errno;
    g_set_error(error, CONVOY_ERROR, convoy_error_from_errno(e),
                "cannot remove '%s': %s", path, g_strerror(e));
    return false;
}

static bool
dir_remove_disk(struct target *t, const char *location, bool *removed,
                GError **error)
{
    *removed = false;
    return inside(t, location, error) && remove_file(location, removed, error);
}

static bool
dir_remove_domain(struct target *t, const char *vm, bool *removed,
                  GError **error)
{
    g_autofree char *path = dir_domain_location(t, vm);

    *removed = false;
    return inside(t, path, error) && remove_file(path, removed, error);
}

/* Create the disk's file before its first write, as a new file: the
 * state store has claimed it just before, so a file there now that is
 * not convoy's (replace false) is a conflict, and stays as it is. */
static bool
dir_create_disk(struct target *t, const char *location,
                enum disk_format format, enum disk_allocation allocation,
                uint64_t size, bool replace, bool keep, GError **error)
{
    struct stat sb;

    if (!inside(t, location, error) || !ensure_dir(t->mt->path, error) ||
        !file_refuse_symlink(location, error))
        return false;
    if (lstat(location, &sb) < 0)
        return file_create_new(location, 0644, error);
    if (!S_ISREG(sb.st_mode)) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONFLICT,
                    "'%s' exists and is not a regular file; convoy never replaces it",
                    location);
        return false;
    }
    if (replace || keep)
        return true;        /* convoy's own (or adopted): the writer rewrites it */
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONFLICT,
                "conflict: file '%s' already exists and convoy did not create it; it is never overwritten (set 'adopt: true' on the vm to take it over)",
                location);
    return false;
}

/* What is already at path for the plan: a problem when it may not be
 * written (a symbolic link, not a regular file, or a file convoy did not
 * make that the VM does not adopt). */
static void
check_path(struct target *t, const char *path, const char *what, bool owned,
           bool adopt, GPtrArray *problems)
{
    g_autoptr(GError) err = NULL;
    struct stat sb;

    if (!inside(t, path, &err)) {
        g_ptr_array_add(problems, g_strdup(err->message));
        return;
    }
    if (lstat(path, &sb) < 0)
        return;
    if (S_ISLNK(sb.st_mode)) {
        g_ptr_array_add(problems, g_strdup_printf("conflict: %s '%s' is a symbolic link; convoy never writes an output through one (remove it)",
                                                  what, path));
    } else if (!S_ISREG(sb.st_mode)) {
        g_ptr_array_add(problems, g_strdup_printf("conflict: %s '%s' exists and is not a regular file; convoy never replaces it",
                                                  what, path));
    } else if (!owned && !adopt) {
        g_ptr_array_add(problems, g_strdup_printf("conflict: %s '%s' already exists and convoy did not create it; it is never overwritten (set 'adopt: true' on the vm to take it over)",
                                                  what, path));
    }
}

/* The plan-time check: the VM's disk files and domain XML are absent,
 * convoy's own, or adopted. */
static void
dir_check(struct target *t, const struct target_vm_req *req,
          GPtrArray *problems, GPtrArray *notes)
{
    g_autofree char *xml = dir_domain_location(t, req->vm);

    for (size_t i = 0; i < req->n_disks; i++) {
        const struct target_disk_req *d = &req->disks[i];
        g_autofree char *what = g_strdup_printf("disk %s: file", d->dev);
        check_path(t, d->location, what, d->owned, req->adopt, problems);
    }
    check_path(t, xml, "domain file", req->domain_owned, req->adopt, problems);
}

const struct target_ops target_directory_ops = {
    .kind = "directory",
    .open = dir_open,
    .disk_location = dir_disk_location,
    .open_writer = dir_open_writer,
    .disk_present = dir_disk_present,
    .domain_location = dir_domain_location,
    .define = dir_define,
    .domain_digest = dir_domain_digest,
    .close = dir_close,
    .check = dir_check,
    .create_disk = dir_create_disk,
    .remove_disk = dir_remove_disk,
    .remove_domain = dir_remove_domain,
};
