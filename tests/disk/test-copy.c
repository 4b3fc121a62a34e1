/* Unit tests of the copy engine (engine/disk/copy.c): a synthetic source
 * copied through real raw and qcow2 writers, checkpoints at the interval,
 * resume with its re-check and repair, interrupts, writer errors,
 * reconnects, drift and a short stream. */
#include "config.h"

#undef NDEBUG
#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include <glib.h>

#include "disk/disk-priv.h"
#include "disk/disk.h"
#include "util/error.h"
#include "cases.h"

#define MIB (1024 * 1024)
#define DISK_SIZE ((uint64_t)8 * MIB)
#define PIECE (256 * 1024)          /* what the source hands over at once */
#define INTERVAL ((uint64_t)1 * MIB)
#define SKIP CASES_SKIP

/* The synthetic disk: its data regions, zeros elsewhere. */
struct region {
    uint64_t offset;
    uint64_t len;
};
static const struct region data_regions[] = {
    {0, 1 * MIB},
    {2 * MIB, 512 * 1024},
    {3 * MIB + 256 * 1024, 1 * MIB},
    {6 * MIB, 1 * MIB + 256 * 1024},
    {0, 0},
};

static unsigned char *expected;     /* DISK_SIZE bytes */
static char expected_digest[17];
static char *tmpdir;

/* The interrupted predicate has no argument, like exec_interrupted(). */
static bool stop_now;

static bool
stop_asked(void)
{
    return stop_now;
}

/* What the callbacks saw, and what they are to do. */
struct harness {
    char *path;                     /* the output (owned) */
    enum disk_format format;
    bool spy;                       /* wrap the writer in the spy */
    unsigned stop_after;            /* ask to stop during this piece (0: no) */
    uint64_t short_at;              /* the source ends here (0: at the end) */
    unsigned pieces;                /* pieces handed to the engine */
    unsigned reads;                 /* read() calls */
    uint64_t read_start;            /* the last read()'s start */
    unsigned opens;                 /* open_writer() calls */
    uint64_t open_from;             /* the last open's resume_from */
    unsigned start_overs;
    GArray *ckpts;                  /* uint64_t positions checkpointed */
    uint64_t progress_done;         /* the last progress call */
    uint64_t progress_total;
    GPtrArray *notes;               /* char * */
};

/* The spy writer: a real writer (inner) whose writes are counted, and
 * that can fail once at an offset with a given error. */
static uint64_t spy_written;        /* bytes written (data) */
static uint64_t spy_low;            /* lowest offset written or zeroed */
static uint64_t spy_fail_at;        /* fail a write reaching past this */
static int spy_fail_code;           /* with this code (0: never) */

static void
spy_reset(void)
{
    spy_written = 0;
    spy_low = UINT64_MAX;
}

static bool
spy_write(struct disk_writer *w, uint64_t offset, const void *buf,
          size_t len, GError **error)
{
    if (spy_fail_code != 0 && offset + len > spy_fail_at) {
        g_set_error(error, CONVOY_ERROR, spy_fail_code,
                    "cannot write '%s' at offset %" PRIu64 ": Input/output error",
                    w->path, offset);
        spy_fail_code = 0;
        return false;
    }
    spy_written += len;
    spy_low = MIN(spy_low, offset);
    return disk_writer_write(w->inner, offset, buf, len, error);
}

static bool
spy_zero(struct disk_writer *w, uint64_t offset, uint64_t len,
         GError **error)
{
    spy_low = MIN(spy_low, offset);
    return disk_writer_zero(w->inner, offset, len, error);
}

static bool
spy_rezero(struct disk_writer *w, uint64_t offset, uint64_t len,
           GError **error)
{
    spy_low = MIN(spy_low, offset);
    return disk_writer_rezero(w->inner, offset, len, error);
}

static bool
spy_read(struct disk_writer *w, uint64_t offset, void *buf, size_t len,
         GError **error)
{
    return disk_writer_read(w->inner, offset, buf, len, error);
}

static bool
spy_flush(struct disk_writer *w, GError **error)
{
    return disk_writer_flush(w->inner, error);
}

static bool
spy_finish(struct disk_writer *w, GError **error)
{
    return disk_writer_close(g_steal_pointer(&w->inner), error);
}

static void
spy_release(struct disk_writer *w)
{
    disk_writer_abort(g_steal_pointer(&w->inner));
}

static const struct disk_writer_ops spy_ops = {
    .write = spy_write,
    .zero = spy_zero,
    .rezero = spy_rezero,
    .read = spy_read,
    .flush = spy_flush,
    .finish = spy_finish,
    .release = spy_release,
};

/* ---- the engine's callbacks ---- */

static bool
synth_read(void *opaque, uint64_t start, struct disk_copy *c, GError **error)
{
    struct harness *h = opaque;
    uint64_t end = h->short_at != 0 ? h->short_at : DISK_SIZE;

    h->reads++;
    h->read_start = start;
    for (uint64_t off = start; off < end; off += PIECE) {
        size_t n = (size_t)MIN((uint64_t)PIECE, end - off);
        bool ok;

        h->pieces++;
        if (h->stop_after != 0 && h->pieces == h->stop_after)
            stop_now = true;
        if (disk_is_zero(expected + off, n))
            ok = disk_copy_zero(c, off, n, error);
        else
            ok = disk_copy_data(c, off, expected + off, n, error);
        if (!ok)
            return false;
    }
    return true;
}

static struct disk_writer *
synth_open_writer(void *opaque, uint64_t resume_from, GError **error)
{
    struct harness *h = opaque;

    h->opens++;
    h->open_from = resume_from;
    struct disk_writer *inner = disk_writer_open(h->path, h->format,
                                                 DISK_ALLOCATION_SPARSE,
                                                 DISK_SIZE, resume_from,
                                                 error);
    if (inner == NULL || !h->spy)
        return inner;
    struct disk_writer *w = g_new0(struct disk_writer, 1);
    w->ops = &spy_ops;
    w->path = g_strdup(h->path);
    w->format = h->format;
    w->size = DISK_SIZE;
    w->fd = -1;
    w->inner = inner;
    return w;
}

static bool
synth_start_over(void *opaque, GError **error)
{
    struct harness *h = opaque;

    (void)error;
    h->start_overs++;
    return true;
}

static bool
synth_checkpoint(void *opaque, uint64_t position, const char *detail,
                 GError **error)
{
    struct harness *h = opaque;

    (void)error;
    assert(detail == NULL);          /* no staged upload here */
    g_array_append_val(h->ckpts, position);
    return true;
}

static void
synth_progress(void *opaque, uint64_t done, uint64_t total)
{
    struct harness *h = opaque;

    h->progress_done = done;
    h->progress_total = total;
}

static void
synth_note(void *opaque, const char *msg)
{
    struct harness *h = opaque;

    g_ptr_array_add(h->notes, g_strdup(msg));
}

static const struct disk_copy_ops synth_ops = {
    .read = synth_read,
    .open_writer = synth_open_writer,
    .start_over = synth_start_over,
    .checkpoint = synth_checkpoint,
    .progress = synth_progress,
    .note = synth_note,
    .interrupted = stop_asked,
};

/* ---- helpers ---- */

static void
make_expected(void)
{
    expected = g_malloc0(DISK_SIZE);
    for (const struct region *r = data_regions; r->len != 0; r++) {
        for (uint64_t o = r->offset; o < r->offset + r->len; o++)
            expected[o] = (unsigned char)(((o >> 12) ^ (o * 131)) | 1);
    }
    g_snprintf(expected_digest, sizeof expected_digest, "%016" PRIx64,
               (uint64_t)XXH64(expected, DISK_SIZE, 0));
}

/* Data bytes of the disk in [from, DISK_SIZE). */
static uint64_t
data_after(uint64_t from)
{
    uint64_t n = 0;

    for (const struct region *r = data_regions; r->len != 0; r++) {
        uint64_t a = MAX(r->offset, from);
        uint64_t b = r->offset + r->len;
        if (b > a)
            n += b - a;
    }
    return n;
}

static bool
have_qemu(void)
{
    g_autofree char *img = g_find_program_in_path("qemu-img");
    g_autofree char *nbd = g_find_program_in_path("qemu-nbd");
    return img != NULL && nbd != NULL;
}

static void
harness_init(struct harness *h, const char *name, enum disk_format format)
{
    memset(h, 0, sizeof *h);
    h->path = g_build_filename(tmpdir, name, NULL);
    h->format = format;
    h->ckpts = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    h->notes = g_ptr_array_new_with_free_func(g_free);
    stop_now = false;
    spy_reset();
    spy_fail_code = 0;
}

/* Keep the output and the settings; forget what the callbacks saw. */
static void
harness_again(struct harness *h)
{
    h->pieces = 0;
    h->reads = 0;
    h->opens = 0;
    h->start_overs = 0;
    h->stop_after = 0;
    h->progress_done = 0;
    g_array_set_size(h->ckpts, 0);
    g_ptr_array_set_size(h->notes, 0);
    stop_now = false;
    spy_reset();
}

static void
harness_release(struct harness *h)
{
    unlink(h->path);
    g_free(h->path);
    g_array_unref(h->ckpts);
    g_ptr_array_unref(h->notes);
}

static uint64_t
ckpt_at(const struct harness *h, guint i)
{
    return g_array_index(h->ckpts, uint64_t, i);
}

/* Run a copy from position (0: fresh); returns its error, or NULL. */
static GError *
run_copy(struct harness *h, const struct disk_copy_ops *ops, bool seekable,
         uint64_t position, struct disk_copy_stats *stats)
{
    const struct disk_copy_params p = {
        .name = "vdz",
        .source_name = "Ref:7",
        .format = h->format,
        .size = DISK_SIZE,
        .interval = INTERVAL,
        .seekable = seekable,
        .position = position,
        .detail = NULL,
    };
    g_autoptr(disk_copy) c = disk_copy_new(&p, ops, h);
    GError *error = NULL;

    assert(disk_copy_resume_from(c) == position);
    assert(disk_copy_detail(c) == NULL);
    if (!disk_copy_run(c, stats, &error))
        assert(error != NULL);
    return error;
}

/* The output holds exactly the synthetic disk. */
static void
check_output(const struct harness *h)
{
    if (h->format == DISK_FORMAT_RAW) {
        g_autofree char *got = NULL;
        gsize len = 0;
        assert(g_file_get_contents(h->path, &got, &len, NULL));
        assert(len == DISK_SIZE);
        assert(memcmp(got, expected, DISK_SIZE) == 0);
        return;
    }
    g_autoptr(GError) error = NULL;
    g_autoptr(disk_reader) r = disk_reader_open_qcow2(h->path, &error);
    assert(r != NULL);
    assert(disk_reader_size(r) == DISK_SIZE);
    g_autofree unsigned char *got = g_malloc(DISK_SIZE);
    assert(disk_reader_pread(r, got, DISK_SIZE, 0, &error));
    assert(memcmp(got, expected, DISK_SIZE) == 0);
}

/* Overwrite one byte of a raw output. */
static void
poke(const char *path, uint64_t offset, unsigned char byte)
{
    int fd = open(path, O_WRONLY);
    assert(fd >= 0);
    assert(pwrite(fd, &byte, 1, (off_t)offset) == 1);
    assert(close(fd) == 0);
}

/* Copy until a stop is asked during piece stop_after: the copy ends
 * with INTERRUPTED and a checkpoint where it stopped. */
static uint64_t
interrupt_copy(struct harness *h, unsigned stop_after)
{
    struct disk_copy_stats stats;
    uint64_t at = (uint64_t)stop_after * PIECE;

    h->stop_after = stop_after;
    g_autoptr(GError) error = run_copy(h, &synth_ops, false, 0, &stats);
    assert(g_error_matches(error, CONVOY_ERROR, CONVOY_ERROR_INTERRUPTED));
    g_autofree char *msg = g_strdup_printf("disk 'vdz': interrupted at %" PRIu64 " of %" PRIu64 " bytes",
                                           at, DISK_SIZE);
    if (strcmp(error->message, msg) != 0)
        fprintf(stderr, "got '%s', expected '%s'\n", error->message, msg);
    assert(strcmp(error->message, msg) == 0);
    assert(h->pieces == stop_after);
    assert(h->ckpts->len > 0 && ckpt_at(h, h->ckpts->len - 1) == at);
    return at;
}

/* ---- cases ---- */

static int
test_copy(enum disk_format format)
{
    if (format == DISK_FORMAT_QCOW2 && !have_qemu())
        return SKIP;
    struct harness h;
    struct disk_copy_stats stats;

    harness_init(&h, "copy", format);
    h.spy = true;
    g_autoptr(GError) error = run_copy(&h, &synth_ops, false, 0, &stats);
    if (error != NULL)
        fprintf(stderr, "copy: %s\n", error->message);
    assert(error == NULL);
    check_output(&h);
    /* A checkpoint at every interval, the last at the end. */
    assert(h.ckpts->len == DISK_SIZE / INTERVAL);
    for (guint i = 0; i < h.ckpts->len; i++)
        assert(ckpt_at(&h, i) == (i + 1) * INTERVAL);
    assert(h.opens == 1 && h.open_from == 0);
    assert(h.reads == 1 && h.read_start == 0);
    assert(h.start_overs == 0);
    assert(h.notes->len == 0);
    assert(h.progress_done == DISK_SIZE && h.progress_total == DISK_SIZE);
    /* Only data is written; zeros are left to the writer. */
    assert(stats.written == data_after(0));
    assert(spy_written == data_after(0));
    assert(stats.resumed_from == 0);
    assert(stats.repaired == 0);
    assert(!stats.staged);
    assert(strcmp(stats.xxh64, expected_digest) == 0);
    harness_release(&h);
    return 0;
}

static int
test_resume(enum disk_format format, bool seekable)
{
    if (format == DISK_FORMAT_QCOW2 && !have_qemu())
        return SKIP;
    struct harness h;
    struct disk_copy_stats stats;

    harness_init(&h, "resume", format);
    h.spy = true;
    /* Stop inside the third data region, off the interval. */
    uint64_t at = interrupt_copy(&h, 14);
    assert(at == 3 * MIB + 512 * 1024);

    harness_again(&h);
    g_autoptr(GError) error = run_copy(&h, &synth_ops, seekable, at, &stats);
    if (error != NULL)
        fprintf(stderr, "resume: %s\n", error->message);
    assert(error == NULL);
    check_output(&h);
    assert(h.opens == 1 && h.open_from == at);
    /* The re-check writes nothing before the checkpoint. */
    assert(spy_low >= at);
    assert(spy_written == data_after(at));
    assert(stats.written == data_after(at));
    assert(stats.resumed_from == at);
    assert(stats.repaired == 0);
    /* The digest covers the whole disk either way. */
    assert(strcmp(stats.xxh64, expected_digest) == 0);
    /* Checkpoints go on an interval after the resume's. */
    assert(h.ckpts->len > 0 && ckpt_at(&h, 0) == at + INTERVAL);
    if (seekable) {
        assert(h.reads == 1 && h.read_start == at);
        assert(h.notes->len == 1);
        g_autofree char *note = g_strdup_printf("the source stream starts at the checkpoint, %" PRIu64 " bytes",
                                                at);
        assert(strcmp(g_ptr_array_index(h.notes, 0), note) == 0);
    } else {
        assert(h.reads == 1 && h.read_start == 0);
        assert(h.notes->len == 0);
    }
    harness_release(&h);
    return 0;
}

static int
test_repair(void)
{
    struct harness h;
    struct disk_copy_stats stats;

    harness_init(&h, "repair", DISK_FORMAT_RAW);
    h.spy = true;
    uint64_t at = interrupt_copy(&h, 14);

    /* Damage the output before the checkpoint: a data byte and a byte
     * of a zero run, one piece each. */
    uint64_t data_off = 2 * MIB + 1000;
    uint64_t zero_off = 1 * MIB + 300 * 1024;
    assert(expected[data_off] != 0 && expected[zero_off] == 0);
    poke(h.path, data_off, (unsigned char)(expected[data_off] ^ 0xff));
    poke(h.path, zero_off, 0x5a);

    harness_again(&h);
    g_autoptr(GError) error = run_copy(&h, &synth_ops, false, at, &stats);
    assert(error == NULL);
    check_output(&h);
    assert(stats.resumed_from == at);
    assert(stats.repaired == 2 * PIECE);
    assert(stats.written == data_after(at) + 2 * PIECE);
    /* The data piece is written again; the zero piece only zeroed. */
    assert(spy_written == data_after(at) + PIECE);
    assert(spy_low == 1 * MIB + 256 * 1024);
    assert(strcmp(stats.xxh64, expected_digest) == 0);
    harness_release(&h);
    return 0;
}

static int
test_interrupt(void)
{
    struct harness h;

    harness_init(&h, "interrupt", DISK_FORMAT_RAW);
    /* On an interval: the interval's checkpoint is the stop's. */
    interrupt_copy(&h, 8);
    assert(h.ckpts->len == 2);
    assert(ckpt_at(&h, 0) == INTERVAL && ckpt_at(&h, 1) == 2 * INTERVAL);
    /* The durable prefix is the disk's. */
    g_autofree char *got = NULL;
    gsize len = 0;
    assert(g_file_get_contents(h.path, &got, &len, NULL));
    assert(len == DISK_SIZE);
    assert(memcmp(got, expected, 2 * INTERVAL) == 0);
    harness_release(&h);
    return 0;
}

static int
test_writer_error(void)
{
    struct harness h;
    struct disk_copy_stats stats;

    harness_init(&h, "writer-error", DISK_FORMAT_RAW);
    h.spy = true;
    spy_fail_at = 6 * MIB + 100;
    spy_fail_code = CONVOY_ERROR_IO;
    g_autoptr(GError) error = run_copy(&h, &synth_ops, false, 0, &stats);
    assert(g_error_matches(error, CONVOY_ERROR, CONVOY_ERROR_IO));
    g_autofree char *msg = g_strdup_printf("disk 'vdz': cannot write '%s' at offset %" PRIu64 ": Input/output error",
                                           h.path, (uint64_t)6 * MIB);
    if (strcmp(error->message, msg) != 0)
        fprintf(stderr, "got '%s', expected '%s'\n", error->message, msg);
    assert(strcmp(error->message, msg) == 0);
    /* No retry for an I/O error, and no checkpoint past the failure. */
    assert(h.opens == 1);
    assert(ckpt_at(&h, h.ckpts->len - 1) == 6 * MIB);
    harness_release(&h);
    return 0;
}

static int
test_reconnect(void)
{
    struct harness h;
    struct disk_copy_stats stats;

    harness_init(&h, "reconnect", DISK_FORMAT_RAW);
    h.spy = true;
    spy_fail_at = 6 * MIB + 100;
    spy_fail_code = CONVOY_ERROR_LIBVIRT;
    g_autoptr(GError) error = run_copy(&h, &synth_ops, false, 0, &stats);
    assert(error == NULL);
    check_output(&h);
    /* Reopened at the last checkpoint and the stream re-read. */
    assert(h.opens == 2 && h.open_from == 6 * MIB);
    assert(h.reads == 2);
    assert(stats.resumed_from == 6 * MIB);
    assert(stats.repaired == 0);
    assert(strcmp(stats.xxh64, expected_digest) == 0);
    assert(h.notes->len == 1);
    g_autofree char *note = g_strdup_printf("cannot write '%s' at offset %" PRIu64 ": Input/output error; reconnecting and resuming from %" PRIu64 " bytes (attempt 1 of 3)",
                                            h.path, (uint64_t)6 * MIB, (uint64_t)6 * MIB);
    if (strcmp(g_ptr_array_index(h.notes, 0), note) != 0)
        fprintf(stderr, "got '%s'\n", (char *)g_ptr_array_index(h.notes, 0));
    assert(strcmp(g_ptr_array_index(h.notes, 0), note) == 0);
    harness_release(&h);
    return 0;
}

static int
test_drift(void)
{
    struct harness h;
    struct disk_copy_stats stats;

    harness_init(&h, "drift", DISK_FORMAT_RAW);
    uint64_t at = interrupt_copy(&h, 14);
    /* The output is cut short behind the engine's back. */
    assert(truncate(h.path, 4096) == 0);

    harness_again(&h);
    g_autoptr(GError) error = run_copy(&h, &synth_ops, false, at, &stats);
    assert(error == NULL);
    check_output(&h);
    assert(h.opens == 2 && h.open_from == 0);
    assert(h.start_overs == 1);
    assert(stats.resumed_from == 0);
    assert(stats.written == data_after(0));
    assert(h.notes->len == 1);
    g_autofree char *note = g_strdup_printf("output '%s' has size 4096, expected %" PRIu64 "; it cannot be resumed; starting the copy over",
                                            h.path, DISK_SIZE);
    if (strcmp(g_ptr_array_index(h.notes, 0), note) != 0)
        fprintf(stderr, "got '%s'\n", (char *)g_ptr_array_index(h.notes, 0));
    assert(strcmp(g_ptr_array_index(h.notes, 0), note) == 0);
    harness_release(&h);
    return 0;
}

static int
test_short(void)
{
    struct harness h;
    struct disk_copy_stats stats;

    harness_init(&h, "short", DISK_FORMAT_RAW);
    h.short_at = 5 * MIB;
    g_autoptr(GError) error = run_copy(&h, &synth_ops, false, 0, &stats);
    assert(g_error_matches(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT));
    g_autofree char *msg = g_strdup_printf("disk 'vdz': disk 'Ref:7' ended at %" PRIu64 " bytes, expected %" PRIu64,
                                           (uint64_t)5 * MIB, DISK_SIZE);
    assert(strcmp(error->message, msg) == 0);
    harness_release(&h);
    return 0;
}

static int
test_detail(void)
{
    static const struct {
        const char *detail;
        bool ok;
        uint64_t uploaded;
        uint64_t staged;
    } cases[] = {
        {"{\"created\":true,\"target\":\"t\",\"location\":\"l\",\"staged\":100,\"uploaded\":40,\"xxh64\":\"0123456789abcdef\",\"written\":7,\"repaired\":0}",
         true, 40, 100},
        {"{\"staged\":100,\"uploaded\":100}", true, 100, 100},
        {"{\"staged\":100,\"uploaded\":101}", false, 0, 0},
        {"{\"staged\":0,\"uploaded\":0}", false, 0, 0},
        {"{\"created\":true}", false, 0, 0},
        {"not json", false, 0, 0},
        {NULL, false, 0, 0},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        uint64_t u = 0, s = 0;
        assert(disk_copy_upload_at(cases[i].detail, &u, &s) == cases[i].ok);
        if (cases[i].ok)
            assert(u == cases[i].uploaded && s == cases[i].staged);
    }

    /* A checkpoint at the end that records a staged upload is resumed
     * as one, and its detail is the engine's members of it. */
    const struct disk_copy_params p = {
        .name = "vdz",
        .source_name = "Ref:7",
        .format = DISK_FORMAT_QCOW2,
        .size = 100,
        .interval = INTERVAL,
        .position = 100,
        .detail = cases[0].detail,
    };
    g_autoptr(disk_copy) c = disk_copy_new(&p, &synth_ops, NULL);
    g_autofree char *d = disk_copy_detail(c);
    assert(disk_copy_resume_from(c) == 100);
    assert(d != NULL);
    assert(strcmp(d, "{\"staged\":100,\"uploaded\":40,\"xxh64\":\"0123456789abcdef\",\"written\":7,\"repaired\":0}") == 0);

    /* Elsewhere than at the end, or without a digest, it is not. */
    struct disk_copy_params q = p;
    q.position = 50;
    g_autoptr(disk_copy) c2 = disk_copy_new(&q, &synth_ops, NULL);
    assert(disk_copy_detail(c2) == NULL && disk_copy_resume_from(c2) == 50);
    q.position = 100;
    q.detail = cases[1].detail;
    g_autoptr(disk_copy) c3 = disk_copy_new(&q, &synth_ops, NULL);
    assert(disk_copy_detail(c3) == NULL);
    /* A position past the end is no checkpoint. */
    q.position = 101;
    g_autoptr(disk_copy) c4 = disk_copy_new(&q, &synth_ops, NULL);
    assert(disk_copy_resume_from(c4) == 0);
    return 0;
}

static int
run_case(const char *name)
{
    if (strcmp(name, "full-raw") == 0)
        return test_copy(DISK_FORMAT_RAW);
    if (strcmp(name, "full-qcow2") == 0)
        return test_copy(DISK_FORMAT_QCOW2);
    if (strcmp(name, "resume-raw") == 0)
        return test_resume(DISK_FORMAT_RAW, false);
    if (strcmp(name, "resume-qcow2") == 0)
        return test_resume(DISK_FORMAT_QCOW2, false);
    if (strcmp(name, "resume-seekable") == 0)
        return test_resume(DISK_FORMAT_RAW, true);
    if (strcmp(name, "repair") == 0)
        return test_repair();
    if (strcmp(name, "interrupt") == 0)
        return test_interrupt();
    if (strcmp(name, "writer-error") == 0)
        return test_writer_error();
    if (strcmp(name, "reconnect") == 0)
        return test_reconnect();
    if (strcmp(name, "drift") == 0)
        return test_drift();
    if (strcmp(name, "short") == 0)
        return test_short();
    if (strcmp(name, "detail") == 0)
        return test_detail();
    fprintf(stderr, "unknown case '%s'\n", name);
    return 99;
}

int
main(int argc, char **argv)
{
    static const char *const all[] = {
        "full-raw", "full-qcow2", "resume-raw", "resume-qcow2",
        "resume-seekable", "repair", "interrupt", "writer-error",
        "reconnect", "drift", "short", "detail", NULL,
    };
    g_autoptr(GError) error = NULL;
    tmpdir = g_dir_make_tmp("convoy-copy-XXXXXX", &error);
    if (tmpdir == NULL) {
        fprintf(stderr, "%s\n", error->message);
        return 99;
    }
    make_expected();

    int status = cases_run(all, argc, argv, run_case);

    cases_remove_tree(tmpdir);
    g_free(tmpdir);
    g_free(expected);
    return status;
}
