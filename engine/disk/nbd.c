/* qcow2 outputs written in one pass through libnbd to a qemu-nbd child
 * (systemd socket activation) serving the image, with a bounded queue of
 * asynchronous writes in flight. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <libnbd.h>

#include "disk/disk-priv.h"
#include "util/error.h"
#include "util/fileutil.h"

/* Largest single NBD write (qemu-nbd accepts up to 32 MiB). */
#define NBD_MAX_WRITE (4 * 1024 * 1024)
/* Largest single zero request. */
#define NBD_MAX_ZERO (1024 * 1024 * 1024)
/* Bounds of the asynchronous queue. */
#define NBD_QUEUE_BYTES (16 * 1024 * 1024)
#define NBD_QUEUE_CMDS 64

/* One asynchronous command: freed by libnbd through cmd_free. */
struct nbd_cmd {
    struct disk_writer *w;      /* borrowed */
    uint64_t offset;
    size_t bytes;               /* bytes of buf counted in the queue */
    void *buf;                  /* copy of the caller's data, or NULL */
};

static void
set_nbd_error(struct disk_writer *w, const char *what, uint64_t offset,
              GError **error)
{
    int errsv = nbd_get_errno();
    const char *msg = nbd_get_error();
    if (errsv != 0 && convoy_error_from_errno(errsv) == CONVOY_ERROR_NOSPACE) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NOSPACE,
                    "no space left on device writing '%s' at offset %" PRIu64,
                    w->path, offset);
        return;
    }
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NBD,
                "nbd: '%s': %s: %s", w->path, what,
                msg != NULL ? msg : g_strerror(errsv));
}

static bool
check_aio_error(struct disk_writer *w, GError **error)
{
    if (w->aio_errno == 0)
        return true;
    if (convoy_error_from_errno(w->aio_errno) == CONVOY_ERROR_NOSPACE) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NOSPACE,
                    "no space left on device writing '%s' at offset %" PRIu64,
                    w->path, w->aio_error_offset);
    } else {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NBD,
                    "nbd: '%s': writing at offset %" PRIu64 ": %s",
                    w->path, w->aio_error_offset, g_strerror(w->aio_errno));
    }
    return false;
}

static int
cmd_done(void *user_data, int *err)
{
    struct nbd_cmd *c = user_data;
    struct disk_writer *w = c->w;

    w->in_flight_bytes -= c->bytes;
    w->in_flight_cmds--;
    if (*err != 0 && w->aio_errno == 0) {
        w->aio_errno = *err;
        w->aio_error_offset = c->offset;
    }
    return 1;                   /* retire the command */
}

static void
cmd_free(void *user_data)
{
    struct nbd_cmd *c = user_data;
    g_free(c->buf);
    g_free(c);
}

/* Run the connection until at most max_bytes and max_cmds are in flight. */
static bool
wait_queue(struct disk_writer *w, uint64_t max_bytes, unsigned max_cmds,
           GError **error)
{
    while (w->in_flight_cmds > 0 &&
           (w->in_flight_bytes > max_bytes || w->in_flight_cmds > max_cmds)) {
        if (nbd_poll(w->nbd, -1) == -1) {
            set_nbd_error(w, "waiting for writes", w->aio_error_offset,
                          error);
            return false;
        }
    }
    return check_aio_error(w, error);
}

static bool
issue_write(struct disk_writer *w, uint64_t offset, const void *buf,
            size_t len, GError **error)
{
    if (!wait_queue(w, NBD_QUEUE_BYTES - len, NBD_QUEUE_CMDS - 1, error))
        return false;

    struct nbd_cmd *c = g_new0(struct nbd_cmd, 1);
    c->w = w;
    c->offset = offset;
    c->bytes = len;
    c->buf = g_memdup2(buf, len);
    nbd_completion_callback cb = {
        .callback = cmd_done, .user_data = c, .free = cmd_free,
    };
    w->in_flight_bytes += len;
    w->in_flight_cmds++;
    if (nbd_aio_pwrite(w->nbd, c->buf, len, offset, cb, 0) == -1) {
        /* libnbd has freed c through cmd_free already. */
        w->in_flight_bytes -= len;
        w->in_flight_cmds--;
        set_nbd_error(w, "writing", offset, error);
        return false;
    }
    /* Push what the socket takes now without blocking. */
    if (nbd_poll(w->nbd, 0) == -1) {
        set_nbd_error(w, "writing", offset, error);
        return false;
    }
    return check_aio_error(w, error);
}

static bool
issue_zero(struct disk_writer *w, uint64_t offset, uint64_t len,
           GError **error)
{
    uint32_t flags = w->allocation == DISK_ALLOCATION_PREALLOCATED
                         ? LIBNBD_CMD_FLAG_NO_HOLE : 0;
    while (len > 0) {
        uint64_t n = len < NBD_MAX_ZERO ? len : NBD_MAX_ZERO;
        if (!wait_queue(w, NBD_QUEUE_BYTES, NBD_QUEUE_CMDS - 1, error))
            return false;
        struct nbd_cmd *c = g_new0(struct nbd_cmd, 1);
        c->w = w;
        c->offset = offset;
        nbd_completion_callback cb = {
            .callback = cmd_done, .user_data = c, .free = cmd_free,
        };
        w->in_flight_cmds++;
        if (nbd_aio_zero(w->nbd, n, offset, cb, flags) == -1) {
            w->in_flight_cmds--;
            set_nbd_error(w, "zeroing", offset, error);
            return false;
        }
        offset += n;
        len -= n;
    }
    return check_aio_error(w, error);
}

/* In the child: its own process group, so that Ctrl-C in convoy's
 * terminal (SIGINT to the foreground group) reaches convoy alone, which
 * then stops at a consistent point. */
static void
own_process_group(gpointer data)
{
    setpgid(0, 0);
}

/* Run a program to completion; its stderr becomes the error message. */
static bool
run_tool(struct disk_writer *w, const char *const *argv, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(
        G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
    g_subprocess_launcher_set_child_setup(l, own_process_group, NULL, NULL);
    g_autoptr(GSubprocess) p = g_subprocess_launcher_spawnv(l, argv, &local);
    if (p == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NBD,
                    "%s: cannot run for '%s': %s", argv[0], w->path,
                    local->message);
        return false;
    }
    g_autofree char *err_text = NULL;
    if (!g_subprocess_communicate_utf8(p, NULL, NULL, NULL, &err_text,
                                       &local)) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NBD,
                    "%s: '%s': %s", argv[0], w->path, local->message);
        return false;
    }
    if (!g_subprocess_get_if_exited(p) ||
        g_subprocess_get_exit_status(p) != 0) {
        if (err_text == NULL)
            err_text = g_strdup("");
        g_strstrip(err_text);
        enum convoy_error_code code = CONVOY_ERROR_NBD;
        if (strstr(err_text, "No space left on device") != NULL)
            code = CONVOY_ERROR_NOSPACE;
        else if (strstr(err_text, "Permission denied") != NULL ||
                 strstr(err_text, "Read-only file system") != NULL ||
                 strstr(err_text, "File name too long") != NULL ||
                 strstr(err_text, "Not a directory") != NULL ||
                 strstr(err_text, "Is a directory") != NULL)
            code = CONVOY_ERROR_REFUSED;
        g_set_error(error, CONVOY_ERROR, code, "%s: cannot create '%s': %s",
                    argv[0], w->path,
                    err_text[0] != '\0' ? err_text : "failed");
        return false;
    }
    return true;
}

struct nbd_handle *
disk_nbd_spawn(const char *abs_path, const char *const *opts,
               bool allocation_map, GError **error)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    struct nbd_handle *h = nbd_create();

    if (h == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NBD,
                    "nbd: '%s': cannot create a handle: %s", abs_path,
                    nbd_get_error());
        return NULL;
    }
    if (allocation_map &&
        nbd_add_meta_context(h, LIBNBD_CONTEXT_BASE_ALLOCATION) == -1) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NBD,
                    "nbd: '%s': cannot ask for the allocation map: %s",
                    abs_path, nbd_get_error());
        nbd_close(h);
        return NULL;
    }
    /* setsid(1) puts qemu-nbd in a session (and process group) of its
     * own, so Ctrl-C in convoy's terminal does not kill it under a copy
     * that is about to write its last checkpoint: convoy stops it by
     * disconnecting.  libnbd's child is never a group leader, so setsid
     * does not fork and qemu-nbd keeps the pid LISTEN_PID names. */
    g_ptr_array_add(argv, (char *)"setsid");
    g_ptr_array_add(argv, (char *)"qemu-nbd");
    for (size_t i = 0; opts[i] != NULL; i++)
        g_ptr_array_add(argv, (char *)opts[i]);
    g_ptr_array_add(argv, (char *)abs_path);
    g_ptr_array_add(argv, NULL);
    if (nbd_connect_systemd_socket_activation(h, (char **)argv->pdata) == -1) {
        const char *msg = nbd_get_error();
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NBD,
                    "nbd: '%s': cannot start qemu-nbd: %s", abs_path,
                    msg != NULL ? msg : g_strerror(nbd_get_errno()));
        nbd_close(h);
        return NULL;
    }
    return h;
}

static bool
create_image(struct disk_writer *w, const char *abs_path, GError **error)
{
    g_autofree char *size_str = g_strdup_printf("%" PRIu64, w->size);
    const char *argv[10];
    size_t n = 0;
    argv[n++] = "qemu-img";
    argv[n++] = "create";
    argv[n++] = "-q";
    argv[n++] = "-f";
    argv[n++] = "qcow2";
    if (w->allocation == DISK_ALLOCATION_PREALLOCATED) {
        argv[n++] = "-o";
        argv[n++] = "preallocation=falloc";
    }
    argv[n++] = abs_path;
    argv[n++] = size_str;
    argv[n] = NULL;
    return run_tool(w, argv, error);
}

static uint64_t
be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

/* A resumed image must be the qcow2 of the right virtual size. */
static bool
check_existing(struct disk_writer *w, GError **error)
{
    int fd = open(w->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd == -1) {
        int errsv = errno;
        if (errsv == ENOENT) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_DRIFT,
                        "output '%s' does not exist; it cannot be resumed",
                        w->path);
        } else {
            file_set_open_error(error, "open", w->path, errsv);
        }
        return false;
    }
    unsigned char hdr[32];
    ssize_t r;
    do {
        r = pread(fd, hdr, sizeof hdr, 0);
    } while (r < 0 && errno == EINTR);
    int errsv = errno;
    close(fd);
    if (r < 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_IO,
                    "cannot read '%s': %s", w->path, g_strerror(errsv));
        return false;
    }
    if ((size_t)r < sizeof hdr || memcmp(hdr, "QFI\xfb", 4) != 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_DRIFT,
                    "output '%s' is not a qcow2 image; it cannot be resumed",
                    w->path);
        return false;
    }
    uint64_t vsize = be64(hdr + 24);
    uint64_t want = disk_image_size(DISK_FORMAT_QCOW2, w->size);
    if (vsize != want) {
        disk_set_drift_size(error, w->path, vsize, want);
        return false;
    }
    return true;
}

/* Can path be opened for O_DIRECT writes? */
static bool
direct_io_works(const char *path)
{
    int fd = open(path, O_WRONLY | O_DIRECT | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0)
        return false;
    close(fd);
    return true;
}

static bool
nbd_open(struct disk_writer *w, uint64_t resume_from, GError **error)
{
    /* Absolute, so that qemu never reads "a:b" as a protocol prefix. */
    g_autofree char *abs_path = g_canonicalize_filename(w->path, NULL);

    if (resume_from > 0) {
        if (!check_existing(w, error))
            return false;
    } else if (!create_image(w, abs_path, error)) {
        return false;
    }

    /* Direct I/O where the file system has it (not tmpfs): the data goes
     * to the disk as it is written instead of piling up in the page cache
     * for the flush (about 1.8x faster on the 2 GiB benchmark); else the
     * writeback cache.  Either way an NBD flush is an fdatasync of the
     * image after its qcow2 metadata.  Sparse images let zeroes unmap. */
    const char *opts[] = {
        "--format=qcow2",
        direct_io_works(abs_path) ? "--cache=none" : "--cache=writeback",
        w->allocation == DISK_ALLOCATION_SPARSE ? "--discard=unmap"
                                                : "--discard=ignore",
        NULL,
    };
    w->nbd = disk_nbd_spawn(abs_path, opts, false, error);
    if (w->nbd == NULL)
        return false;
    int64_t size = nbd_get_size(w->nbd);
    if (size < 0) {
        set_nbd_error(w, "cannot get the size", 0, error);
        return false;
    }
    /* qemu-img rounds the size up to whole sectors: the tail past the
     * disk's end stays zero.  Anything else is not going to change on a
     * second attempt. */
    uint64_t want = disk_image_size(DISK_FORMAT_QCOW2, w->size);
    if ((uint64_t)size != want) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL,
                    "internal error: nbd: '%s': export has size %" PRId64 ", expected %" PRIu64,
                    w->path, size, want);
        return false;
    }
    if (nbd_is_read_only(w->nbd) != 0 || nbd_can_flush(w->nbd) != 1 ||
        nbd_can_zero(w->nbd) != 1) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NBD,
                    "nbd: '%s': qemu-nbd does not offer write, flush and zero",
                    w->path);
        return false;
    }

    /* Discard everything from the checkpoint on. */
    if (resume_from > 0 && resume_from < w->size) {
        if (!issue_zero(w, resume_from, w->size - resume_from, error) ||
            !wait_queue(w, 0, 0, error))
            return false;
    }
    return true;
}

static bool
nbd_write(struct disk_writer *w, uint64_t offset, const void *buf,
          size_t len, GError **error)
{
    const unsigned char *p = buf;
    while (len > 0) {
        bool zero;
        size_t n = disk_scan_run(p, len, offset, NBD_MAX_WRITE, &zero);
        if (zero) {
            /* Past the write front a sparse image reads as zeros. */
            if (w->allocation == DISK_ALLOCATION_PREALLOCATED &&
                !issue_zero(w, offset, n, error))
                return false;
        } else if (!issue_write(w, offset, p, n, error)) {
            return false;
        }
        p += n;
        len -= n;
        offset += n;
    }
    return true;
}

static bool
nbd_zero_range(struct disk_writer *w, uint64_t offset, uint64_t len,
               GError **error)
{
    if (w->allocation == DISK_ALLOCATION_SPARSE)
        return true;
    return issue_zero(w, offset, len, error);
}

static bool
nbd_rezero(struct disk_writer *w, uint64_t offset, uint64_t len, GError **error)
{
    return issue_zero(w, offset, len, error);
}

static bool
nbd_read(struct disk_writer *w, uint64_t offset, void *buf, size_t len,
         GError **error)
{
    if (!wait_queue(w, 0, 0, error))
        return false;
    unsigned char *p = buf;
    while (len > 0) {
        size_t n = len < NBD_MAX_WRITE ? len : NBD_MAX_WRITE;
        if (nbd_pread(w->nbd, p, n, offset, 0) == -1) {
            set_nbd_error(w, "reading", offset, error);
            return false;
        }
        p += n;
        len -= n;
        offset += n;
    }
    return true;
}

static bool
nbd_flush_all(struct disk_writer *w, GError **error)
{
    if (!wait_queue(w, 0, 0, error))
        return false;
    if (nbd_flush(w->nbd, 0) == -1) {
        set_nbd_error(w, "flushing", w->size, error);
        return false;
    }
    return true;
}

static bool
nbd_finish(struct disk_writer *w, GError **error)
{
    if (!nbd_flush_all(w, error))
        return false;
    if (nbd_shutdown(w->nbd, 0) == -1) {
        set_nbd_error(w, "disconnecting", w->size, error);
        return false;
    }
    /* nbd_close waits for qemu-nbd, which exits once we disconnect. */
    nbd_close(w->nbd);
    w->nbd = NULL;
    return true;
}

static void
nbd_release(struct disk_writer *w)
{
    if (w->nbd != NULL) {
        nbd_close(w->nbd);
        w->nbd = NULL;
    }
}

const struct disk_writer_ops nbd_writer_ops = {
    .open = nbd_open,
    .write = nbd_write,
    .zero = nbd_zero_range,
    .rezero = nbd_rezero,
    .read = nbd_read,
    .flush = nbd_flush_all,
    .finish = nbd_finish,
    .release = nbd_release,
};
