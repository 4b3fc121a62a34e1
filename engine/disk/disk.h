/* engine/disk: the block copy pipeline's writing side.
 *
 * A disk_writer receives a disk's content as (offset, bytes) and (offset,
 * zeros) in increasing order and lands it as a raw file (sparse or
 * preallocated) or a qcow2 image (written in one pass through libnbd to a
 * qemu-nbd serving a new qcow2).  flush() makes everything written so far
 * durable, which is what a checkpoint relies on.
 *
 * Sections: format and allocation names (format.c) · writer API (writer.c) · raw files (raw.c) · qcow2 over NBD
 * (nbd.c) · libvirt volume upload streams (stream.c) · zero detection
 * (zero.c) · source images and the read-only qcow2 reader (image.c) ·
 * the copy engine: source to writer, checkpointed and resumable (copy.c) ·
 * the identity of a finished image (identity.c).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

enum disk_format {
    DISK_FORMAT_RAW,
    DISK_FORMAT_QCOW2,
    DISK_FORMAT_LAST,
};

enum disk_allocation {
    DISK_ALLOCATION_SPARSE,
    DISK_ALLOCATION_PREALLOCATED,
    DISK_ALLOCATION_LAST,
};

/* format.c: the names, "raw"/"qcow2" and "sparse"/"preallocated", indexed
 * by the enum and NULL-terminated (for lists of choices: the manifest's
 * disk_format and allocation).  parse returns false if unknown. */
extern const char *const disk_format_names[DISK_FORMAT_LAST + 1];
extern const char *const disk_allocation_names[DISK_ALLOCATION_LAST + 1];
const char *disk_format_name(enum disk_format f);
bool disk_format_parse(const char *s, enum disk_format *out);
const char *disk_allocation_name(enum disk_allocation a);
bool disk_allocation_parse(const char *s, enum disk_allocation *out);

/* The virtual size of an image of format f that holds a disk of size
 * bytes: raw is exact; qcow2 sizes are whole 512-byte sectors, so qemu-img
 * rounds a disk that is not a multiple of 512 up and the tail reads as
 * zeros (the guest sees a slightly bigger disk). */
uint64_t disk_image_size(enum disk_format f, uint64_t size);

/* True when len bytes at buf are all zero (fast). */
bool disk_is_zero(const void *buf, size_t len);

struct disk_writer;

/* Create (or, with resume_from > 0, reopen) the image at path with the given
 * virtual size.  A fresh open replaces any existing file.  On resume, the
 * image must exist with the right format and size; everything at and after
 * resume_from is discarded (made zero) so that re-delivered data lands on a
 * clean slate, while bytes before it are kept.  Returns a new writer, caller
 * closes with disk_writer_close() or disk_writer_abort(). */
struct disk_writer *disk_writer_open(const char *path, enum disk_format format,
                                     enum disk_allocation allocation,
                                     uint64_t size, uint64_t resume_from,
                                     GError **error);

struct _virStorageVol;

/* A writer into an existing libvirt storage volume through
 * virStorageVolUpload with sparse streams (holes stay holes over the
 * wire).  raw: the content is uploaded as it arrives; flush() finishes the
 * current upload (libvirt has the bytes) and the next write starts a new
 * one at its offset.  On resume the bytes from resume_from on are sent
 * again, zeros as data for a window past it (an interrupted upload may
 * have left data there that a hole would not clear).  qcow2: the image is
 * built locally at tmp_path with the qcow2 writer (checkpointed, resumable)
 * and its bytes are uploaded on close into the volume, which libvirt
 * created as qcow2 with the same capacity, so the volume is a valid qcow2;
 * that upload reports its progress and resumes through
 * disk_writer_set_upload, and the staged image is removed once uploaded.
 * Borrows vol (takes its own reference).  Returns a new writer. */
struct disk_writer *disk_writer_open_stream(struct _virStorageVol *vol,
                                            const char *name,
                                            enum disk_format format,
                                            enum disk_allocation allocation,
                                            uint64_t size, uint64_t resume_from,
                                            const char *tmp_path,
                                            GError **error);

/* A writer whose close uploads a staged local image (the qcow2 stream
 * writer) reports that upload through this: once as it starts (done =
 * where it starts, total = the staged image's size in bytes), then every
 * interval bytes, each time once the daemon has every byte before done,
 * so that done can be recorded as a checkpoint.  Returning false stops
 * the upload with that error (an interrupt, a failed state write). */
typedef bool (*disk_upload_fn)(void *opaque, uint64_t done, uint64_t total,
                               GError **error);
/* Polled after every piece of an upload (at most 4 MiB): true asks for
 * a report now, not at the next interval (a stop request). */
typedef bool (*disk_stop_fn)(void);
/* Does close() upload a staged image? */
bool disk_writer_stages(const struct disk_writer *w);
/* Before close of a staging writer: report the upload through fn every
 * interval bytes, and as soon as stop (may be NULL) returns true, and
 * start it at from (a resume of an interrupted upload of the same staged
 * image, which must then be staged_size bytes long, else close fails
 * with CONVOY_ERROR_DRIFT and keeps nothing to resume). */
void disk_writer_set_upload(struct disk_writer *w, uint64_t interval,
                            uint64_t from, uint64_t staged_size,
                            disk_upload_fn fn, disk_stop_fn stop,
                            void *opaque);

/* Write len bytes at offset.  All-zero blocks of a sparse image are not
 * written (they stay holes).  Errors: CONVOY_ERROR_IO, _NOSPACE, _NBD. */
bool disk_writer_write(struct disk_writer *w, uint64_t offset,
                       const void *buf, size_t len, GError **error);
/* Make [offset, offset+len) read as zeros (a no-op on a fresh sparse image
 * region; written zeros when preallocated). */
/* Make [offset, offset+len) read as zeros where it may hold data now (a
 * repair): holes are punched in a sparse raw image, zeros written
 * otherwise. */
bool disk_writer_rezero(struct disk_writer *w, uint64_t offset, uint64_t len,
                        GError **error);
bool disk_writer_zero(struct disk_writer *w, uint64_t offset, uint64_t len,
                      GError **error);
/* Read back len bytes at offset (used by a resume to re-check the output
 * before the checkpoint). */
bool disk_writer_read(struct disk_writer *w, uint64_t offset, void *buf,
                      size_t len, GError **error);
/* Make all writes so far durable (fdatasync, or NBD flush). */
bool disk_writer_flush(struct disk_writer *w, GError **error);
/* Flush, finish and free the writer (qcow2: disconnect and wait for
 * qemu-nbd to exit cleanly).  The writer is freed even on error. */
bool disk_writer_close(struct disk_writer *w, GError **error);
/* Free the writer without finishing; the partial image is left as it is
 * (a later resume picks it up).  NULL is a no-op. */
void disk_writer_abort(struct disk_writer *w);

/* ------------------------------------------------------------------ */
/* image.c: source images, read as the guest sees them                */

/* What an image is, by its content. */
struct disk_image_info {
    enum disk_format format;    /* RAW unless the header says qcow2 */
    const char *unsupported;    /* "vpc", "vmdk": a format convoy cannot
                                 * read (static string), or NULL */
    uint64_t virtual_size;      /* qcow2: the header's size; raw: the
                                 * file's or the block device's size */
    uint32_t qcow2_version;     /* 2 or 3 */
    bool has_backing;           /* qcow2 with a backing file */
    bool block_device;
    int64_t mtime;              /* seconds (probe only) */
};

/* Fill info from an image's first len bytes (head) and its byte size
 * raw_size.  Pure code. */
void disk_image_header(const unsigned char *head, size_t len,
                       uint64_t raw_size, struct disk_image_info *info);
/* Probe a local image file or block device (read-only).  Errors name the
 * path: NOT_FOUND, IO, FORMAT (truncated qcow2 header). */
bool disk_image_probe(const char *path, struct disk_image_info *info,
                      GError **error);

/* A read-only view of a qcow2 image's guest content, served by a
 * `qemu-nbd --read-only` child (disk_nbd_spawn, as the qcow2 writer) and
 * read with libnbd.  Never writes the image. */
struct disk_reader;

/* Returns a new reader, caller closes.  CONVOY_ERROR_NBD when qemu-nbd
 * cannot serve the image (bad image, or locked by a running VM). */
struct disk_reader *disk_reader_open_qcow2(const char *path, GError **error);
/* The guest-visible size. */
uint64_t disk_reader_size(const struct disk_reader *r);
/* Read len bytes at offset. */
bool disk_reader_pread(struct disk_reader *r, void *buf, size_t len,
                       uint64_t offset, GError **error);
/* The run at offset (at most max bytes, max > 0) that reads as zeros or
 * holds data, from the image's allocation map (all data when qemu-nbd
 * offers none): *len bytes, *zero tells which. */
bool disk_reader_extent(struct disk_reader *r, uint64_t offset, uint64_t max,
                        uint64_t *len, bool *zero, GError **error);
/* Disconnect and reap qemu-nbd.  NULL is a no-op. */
void disk_reader_close(struct disk_reader *r);
typedef struct disk_reader disk_reader; /* for g_autoptr() only */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(disk_reader, disk_reader_close)

/* ------------------------------------------------------------------ */
/* copy.c: the copy engine                                            */

/* One disk's copy from a source stream into a disk_writer: checkpoints
 * every interval bytes (flush, then the caller records the position), a
 * resume re-reads the stream before the checkpoint and re-checks the
 * output there against it (repairing what differs), and writes only
 * after it.  A staging writer's upload checkpoints on its own once the
 * content is complete.  The engine knows no state store, source or
 * target: it reaches them through these callbacks. */
struct disk_copy;

struct disk_copy_ops {
    /* Stream the source disk from offset start into c, by
     * disk_copy_data() and disk_copy_zero() in increasing order.  start
     * is 0, or the checkpoint when the params say seekable. */
    bool (*read)(void *opaque, uint64_t start, struct disk_copy *c,
                 GError **error);
    /* Open the output, keeping the bytes before resume_from (see
     * disk_writer_open); CONVOY_ERROR_DRIFT when it cannot be resumed.
     * Returns a new writer that the engine closes or aborts. */
    struct disk_writer *(*open_writer)(void *opaque, uint64_t resume_from,
                                       GError **error);
    /* The output cannot be resumed: make it afresh (may be NULL). */
    bool (*start_over)(void *opaque, GError **error);
    /* Record position as the copy's checkpoint, with detail (the
     * engine's JSON object, or NULL; see disk_copy_detail).  Everything
     * before position is durable when it is called. */
    bool (*checkpoint)(void *opaque, uint64_t position, const char *detail,
                       GError **error);
    /* done of total bytes of the disk are through (may be NULL). */
    void (*progress)(void *opaque, uint64_t done, uint64_t total);
    /* A line for the user: a restart, a resume, upload progress (may be
     * NULL). */
    void (*note)(void *opaque, const char *msg);
    /* Has a stop been asked for?  Polled after each piece (may be NULL:
     * never). */
    bool (*interrupted)(void);
};

struct disk_copy_params {
    const char *name;           /* the disk, prefixed to its errors as
                                 * "disk 'NAME': " (borrowed) */
    const char *source_name;    /* the source's disk, named when its
                                 * stream ends short (borrowed) */
    enum disk_format format;    /* the output's format, named in notes */
    uint64_t size;              /* the disk's size in bytes */
    uint64_t interval;          /* bytes between checkpoints */
    bool seekable;              /* read() can start at the checkpoint */
    uint64_t position;          /* the last checkpoint (0: none) */
    const char *detail;         /* its detail (may be NULL; borrowed) */
};

/* What a finished copy did. */
struct disk_copy_stats {
    char xxh64[17];             /* digest of the disk's content, hex */
    uint64_t written;           /* bytes handed to the writer */
    uint64_t resumed_from;      /* the checkpoint it resumed from, or 0 */
    uint64_t repaired;          /* bytes re-written because the re-check
                                 * of the output before it failed */
    bool staged;                /* the writer uploaded a staged image */
    uint64_t upload_from;       /* where that upload (re)started */
};

/* A copy of p->size bytes, resuming from p->position with p->detail
 * (a position past the size is no checkpoint).  Borrows ops, opaque and
 * p's strings: they must outlive the copy.  Returns a new copy, caller
 * frees with disk_copy_free(). */
struct disk_copy *disk_copy_new(const struct disk_copy_params *p,
                                const struct disk_copy_ops *ops,
                                void *opaque);
/* Where the copy resumes: bytes before it are re-checked, not written. */
uint64_t disk_copy_resume_from(const struct disk_copy *c);
/* The engine's checkpoint detail as it stands: a JSON object recording
 * a staged upload (staged, uploaded, xxh64, written, repaired), or NULL
 * when there is none.  Returns a new string. */
char *disk_copy_detail(const struct disk_copy *c);
/* Run the copy to its end: open the writer (starting over when the
 * output drifted), stream the source through it, close it (uploading a
 * staged image), reconnecting a dropped libvirt connection up to three
 * times.  An interrupt stops it with CONVOY_ERROR_INTERRUPTED after a
 * checkpoint.  On success fills *stats. */
bool disk_copy_run(struct disk_copy *c, struct disk_copy_stats *stats,
                   GError **error);
/* For read(): the next len bytes of the disk, at offset. */
bool disk_copy_data(struct disk_copy *c, uint64_t offset, const void *buf,
                    size_t len, GError **error);
/* For read(): the next len bytes of the disk, at offset, are zeros. */
bool disk_copy_zero(struct disk_copy *c, uint64_t offset, uint64_t len,
                    GError **error);
/* NULL is a no-op. */
void disk_copy_free(struct disk_copy *c);
typedef struct disk_copy disk_copy; /* for g_autoptr() only */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(disk_copy, disk_copy_free)

/* Does this checkpoint detail (may be NULL) record the upload of a
 * staged image?  Then *uploaded of its *staged bytes are sent. */
bool disk_copy_upload_at(const char *detail, uint64_t *uploaded,
                         uint64_t *staged);

/* ------------------------------------------------------------------ */
/* identity.c: the identity of a finished output image                */

struct json;
struct jval;

/* What a finished image file is: recorded in disk-copy's outputs and
 * checked by every plan, so a same-size edit or a replaced file is seen. */
struct disk_identity {
    uint64_t inode;
    int64_t mtime_ns;           /* modification time, nanoseconds */
    uint64_t size;              /* of the file, bytes */
    char sample[17];            /* hex xxh64 of 64 KiB at 16 offsets
                                 * spread over the file (all of a file
                                 * of 64 KiB or less) */
};

/* The identity of the file at path (not followed if a symlink).  Errors
 * name the path. */
bool disk_identity_of(const char *path, struct disk_identity *out,
                      GError **error);
/* As a JSON object {inode, mtime_ns, size, sample_xxh64}. */
void disk_identity_json(struct json *j, const struct disk_identity *id);
/* Read one back; false when o is not one. */
bool disk_identity_read(const struct jval *o, struct disk_identity *out);
/* NULL when path is still the file was describes; else a new string
 * saying what differs ("output 'P' changed since convoy wrote it (its
 * sampled content differs)"). */
char *disk_identity_drift(const char *path, const struct disk_identity *was);
/* The xxh64 (hex) of the whole guest content of the image at path, as the
 * copy engine computes it while writing: a raw file read whole, a qcow2
 * image through a read-only qemu-nbd. */
bool disk_content_xxh64(const char *path, enum disk_format format,
                        char out[17], GError **error);
