/* engine/disk internals shared by writer.c, raw.c, nbd.c and zero.c: the
 * writer struct, the per-format operations and the zero-run scanner. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>
#include <libvirt/libvirt.h>

#include "disk/disk.h"

/* Granularity of zero detection: runs of zeros are found per 64 KiB
 * sub-block, aligned to absolute image offsets so that holes line up with
 * file system blocks and qcow2 clusters. */
#define DISK_ZERO_BLOCK (64 * 1024)

struct nbd_handle;
struct disk_direct;

/* Alignment of direct I/O: offsets, lengths and buffers. */
#define DISK_DIRECT_ALIGN 4096

/* What a format implements.  open fills the format's members of the
 * already allocated writer; release frees them without finishing. */
struct disk_writer_ops {
    bool (*open)(struct disk_writer *w, uint64_t resume_from,
                 GError **error);
    bool (*write)(struct disk_writer *w, uint64_t offset, const void *buf,
                  size_t len, GError **error);
    bool (*zero)(struct disk_writer *w, uint64_t offset, uint64_t len,
                 GError **error);
    /* Optional: zero a range that may hold data now (NULL: zero). */
    bool (*rezero)(struct disk_writer *w, uint64_t offset, uint64_t len,
                   GError **error);
    bool (*read)(struct disk_writer *w, uint64_t offset, void *buf,
                 size_t len, GError **error);
    bool (*flush)(struct disk_writer *w, GError **error);
    /* Finish (flush, disconnect); resources are released by release. */
    bool (*finish)(struct disk_writer *w, GError **error);
    void (*release)(struct disk_writer *w);
};

struct disk_writer {
    const struct disk_writer_ops *ops;  /* raw_writer_ops or nbd_writer_ops */
    char *path;                         /* output path (owned) */
    enum disk_format format;
    enum disk_allocation allocation;
    uint64_t size;                      /* virtual size in bytes */

    /* raw */
    int fd;                             /* output file, -1 when closed */
    int dfd;                            /* the same, O_DIRECT, or -1 */
    struct disk_direct *queue;          /* its writes, on a thread */

    /* qcow2 over NBD */
    struct nbd_handle *nbd;             /* connection to our qemu-nbd child */
    uint64_t in_flight_bytes;           /* bytes of buffered aio writes */
    unsigned in_flight_cmds;            /* aio commands not completed */
    int aio_errno;                      /* first failed aio command's errno */
    uint64_t aio_error_offset;          /* and its offset */

    /* libvirt volume upload (stream.c) */
    virStorageVolPtr vol;               /* owned reference */
    virStreamPtr stream;                /* current upload, NULL between */
    uint64_t stream_pos;                /* next offset the upload writes */
    uint64_t zeros_until;               /* resume: zeros below this are
                                         * sent as data, not holes */
    struct disk_writer *inner;          /* qcow2: the local image built
                                         * first, uploaded on finish */
    disk_upload_fn upload_fn;           /* its progress (may be NULL) */
    disk_stop_fn upload_stop;           /* report early? (may be NULL) */
    void *upload_opaque;
    uint64_t upload_interval;           /* bytes between upload_fn calls */
    uint64_t upload_from;               /* resume: first byte to send */
    uint64_t upload_staged_size;        /* resume: the staged image's size */
};

extern const struct disk_writer_ops raw_writer_ops;
extern const struct disk_writer_ops nbd_writer_ops;
extern const struct disk_writer_ops stream_raw_ops;
extern const struct disk_writer_ops stream_qcow2_ops;

/* Length of the run starting at buf (image offset offset) whose 64 KiB
 * sub-blocks are all zero or all non-zero, at most max bytes (max > 0,
 * len > 0).  *zero tells which kind the run is. */
size_t disk_scan_run(const void *buf, size_t len, uint64_t offset,
                     size_t max, bool *zero);

/* A libnbd handle connected to a qemu-nbd child serving abs_path with
 * the options opts (NULL-terminated, e.g. "--read-only"), started by
 * systemd socket activation: libnbd owns the child, and nbd_close() on
 * the handle ends and reaps it.  allocation_map asks for the
 * base:allocation context (nbd_block_status).  Errors are
 * CONVOY_ERROR_NBD naming abs_path.  Caller closes. */
struct nbd_handle *disk_nbd_spawn(const char *abs_path, const char *const *opts,
                                  bool allocation_map, GError **error);

/* Queued writes to a raw file (direct.c), in the order given: dfd is its
 * O_DIRECT descriptor or -1, fd a buffered one (for unaligned heads and
 * tails, and where dfd is -1 or refuses a write).  disk_direct_write
 * copies buf.  A write failure is reported by the next write or drain;
 * drain returns once every queued write is done.  path names the file
 * in errors.  free discards what is still queued. */
struct disk_direct *disk_direct_new(int dfd, int fd, const char *path,
                                    GError **error);
bool disk_direct_write(struct disk_direct *q, uint64_t offset,
                       const void *buf, size_t len, GError **error);
bool disk_direct_drain(struct disk_direct *q, GError **error);
void disk_direct_free(struct disk_direct *q);

/* The error of a failed write of path at offset (errno errsv): NOSPACE
 * for a full file system. */
void disk_set_write_error(GError **error, const char *path, int errsv,
                          uint64_t offset);

/* The DRIFT error of a resume whose output does not match. */
void disk_set_drift_size(GError **error, const char *path, uint64_t actual,
                         uint64_t expected);
