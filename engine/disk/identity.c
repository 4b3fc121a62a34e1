/* The identity of a finished output image: what the file is (inode,
 * mtime, size) and a sampled hash of its bytes (xxh64 of 64 KiB at 16
 * offsets spread over the file), cheap enough for every plan; and the
 * full hash of its guest content (the copy engine's xxh64), for
 * `convoy plan --verify`. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "disk/disk.h"
#include "util/error.h"
#include "util/json.h"
#include "util/jsonread.h"

#define SAMPLE_LEN (64u * 1024)
#define SAMPLES 16u

static bool
io_error(const char *path, int errsv, GError **error)
{
    g_set_error(error, CONVOY_ERROR, convoy_error_from_errno(errsv),
                "cannot read '%s': %s", path, g_strerror(errsv));
    return false;
}

bool
disk_identity_of(const char *path, struct disk_identity *out, GError **error)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat sb;

    if (fd == -1)
        return io_error(path, errno, error);
    if (fstat(fd, &sb) == -1) {
        int errsv = errno;
        close(fd);
        return io_error(path, errsv, error);
    }
    g_autofree unsigned char *buf = g_malloc(SAMPLE_LEN);
    XXH64_state_t *h = XXH64_createState();
    uint64_t size = (uint64_t)sb.st_size;

    XXH64_reset(h, 0);
    for (unsigned i = 0; i < SAMPLES; i++) {
        uint64_t off = size <= SAMPLE_LEN ? 0
                       : (size - SAMPLE_LEN) / (SAMPLES - 1) * i;
        ssize_t n = pread(fd, buf, SAMPLE_LEN, (off_t)off);
        if (n < 0) {
            int errsv = errno;
            XXH64_freeState(h);
            close(fd);
            return io_error(path, errsv, error);
        }
        XXH64_update(h, buf, (size_t)n);
        if (size <= SAMPLE_LEN)
            break;
    }
    close(fd);
    out->inode = (uint64_t)sb.st_ino;
    out->mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
    out->size = size;
    g_snprintf(out->sample, sizeof out->sample, "%016" PRIx64,
               (uint64_t)XXH64_digest(h));
    XXH64_freeState(h);
    return true;
}

void
disk_identity_json(struct json *j, const struct disk_identity *id)
{
    json_begin_object(j);
    json_kv_uint(j, "inode", id->inode);
    json_key(j, "mtime_ns");
    json_int(j, id->mtime_ns);
    json_kv_uint(j, "size", id->size);
    json_kv_string(j, "sample_xxh64", id->sample);
    json_end_object(j);
}

bool
disk_identity_read(const struct jval *o, struct disk_identity *out)
{
    const char *sample = jval_get_string(o, "sample_xxh64", NULL);

    if (sample == NULL || strlen(sample) != 16)
        return false;
    out->inode = (uint64_t)jval_get_number(o, "inode", 0);
    out->mtime_ns = (int64_t)jval_get_number(o, "mtime_ns", 0);
    out->size = (uint64_t)jval_get_number(o, "size", 0);
    g_strlcpy(out->sample, sample, sizeof out->sample);
    return true;
}

char *
disk_identity_drift(const char *path, const struct disk_identity *was)
{
    struct disk_identity now;
    g_autoptr(GError) err = NULL;

    if (!disk_identity_of(path, &now, &err))
        return g_strdup_printf("output '%s' cannot be checked: %s", path, err->message);
    if (strcmp(now.sample, was->sample) != 0)
        return g_strdup_printf("output '%s' changed since convoy wrote it (its sampled content differs)", path);
    if (now.size != was->size)
        return g_strdup_printf("output '%s' changed since convoy wrote it (its size differs)", path);
    /* JSON numbers are doubles: mtime_ns compares to the microsecond. */
    if (now.inode != was->inode ||
        llabs(now.mtime_ns - was->mtime_ns) >= 1000)
        return g_strdup_printf("output '%s' was replaced or modified since convoy wrote it (its %s differs)",
                               path, now.inode != was->inode ? "inode" : "modification time");
    return NULL;
}

bool
disk_content_xxh64(const char *path, enum disk_format format, char out[17],
                   GError **error)
{
    g_autofree unsigned char *buf = g_malloc(1024 * 1024);
    XXH64_state_t *h = XXH64_createState();
    bool ok = true;

    XXH64_reset(h, 0);
    if (format == DISK_FORMAT_QCOW2) {
        g_autoptr(disk_reader) r = disk_reader_open_qcow2(path, error);
        uint64_t size = r != NULL ? disk_reader_size(r) : 0;
        ok = r != NULL;
        for (uint64_t off = 0; ok && off < size;) {
            size_t n = (size_t)MIN((uint64_t)1024 * 1024, size - off);
            ok = disk_reader_pread(r, buf, n, off, error);
            if (ok)
                XXH64_update(h, buf, n);
            off += n;
        }
    } else {
        int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        ssize_t n;
        if (fd == -1) {
            ok = io_error(path, errno, error);
        } else {
            while ((n = read(fd, buf, 1024 * 1024)) > 0)
                XXH64_update(h, buf, (size_t)n);
            if (n < 0)
                ok = io_error(path, errno, error);
            close(fd);
        }
    }
    if (ok)
        g_snprintf(out, 17, "%016" PRIx64, (uint64_t)XXH64_digest(h));
    XXH64_freeState(h);
    return ok;
}
