/* Unit tests of engine/disk: names, zero detection, the raw and qcow2
 * writers (allocation, resume, drift, ENOSPC) on a synthetic disk, image
 * headers and the read-only qcow2 reader. */
#include "config.h"

#undef NDEBUG
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>

#include "disk/disk-priv.h"
#include "disk/disk.h"
#include "util/error.h"
#include "cases.h"

#define MIB (1024 * 1024)
#define DISK_SIZE ((uint64_t)16 * MIB)
#define CHUNK 1024000           /* deliberately not 64 KiB aligned */
#define SKIP CASES_SKIP

/* The synthetic disk: data and zero regions. */
struct region {
    uint64_t offset;
    uint64_t len;
};
static const struct region data_regions[] = {
    {0, 1 * MIB},
    {3 * MIB, 200 * 1024},
    {6 * MIB, 3 * MIB},
    {12 * MIB, 64 * 1024 + 100},
    {16 * MIB - 4096, 4096},
    {0, 0},
};

static unsigned char *expected;     /* DISK_SIZE bytes */
static uint64_t data_bytes;
static char *tmpdir;
static char *ref_raw;               /* expected content as a plain file */

static void
make_expected(void)
{
    expected = g_malloc0(DISK_SIZE);
    for (const struct region *r = data_regions; r->len != 0; r++) {
        for (uint64_t o = r->offset; o < r->offset + r->len; o++)
            expected[o] = (unsigned char)(((o >> 12) ^ (o * 131)) | 1);
        data_bytes += r->len;
    }
    ref_raw = g_build_filename(tmpdir, "ref.raw", NULL);
    g_autoptr(GError) error = NULL;
    assert(g_file_set_contents(ref_raw, (const char *)expected, DISK_SIZE,
                               &error));
}

static char *
tmp_path(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

static uint64_t
allocated(const char *path)
{
    struct stat sb;
    assert(stat(path, &sb) == 0);
    return (uint64_t)sb.st_blocks * 512;
}

static bool
have_qemu(void)
{
    g_autofree char *img = g_find_program_in_path("qemu-img");
    g_autofree char *nbd = g_find_program_in_path("qemu-nbd");
    if (img == NULL || nbd == NULL) {
        fprintf(stderr, "skip: qemu-img or qemu-nbd not installed\n");
        return false;
    }
    return true;
}

/* Deliver [from, to) of the expected content the way the copy pipeline
 * does: CHUNK-sized pieces, all-zero pieces as zero calls. */
static void
deliver(struct disk_writer *w, uint64_t from, uint64_t to)
{
    for (uint64_t off = from; off < to; off += CHUNK) {
        size_t n = to - off < CHUNK ? (size_t)(to - off) : CHUNK;
        g_autoptr(GError) error = NULL;
        bool ok;
        if (disk_is_zero(expected + off, n))
            ok = disk_writer_zero(w, off, n, &error);
        else
            ok = disk_writer_write(w, off, expected + off, n, &error);
        if (!ok)
            fprintf(stderr, "deliver: %s\n", error->message);
        assert(ok);
    }
}

static void
check_read_back(struct disk_writer *w, uint64_t from, uint64_t to)
{
    g_autofree unsigned char *buf = g_malloc(to - from);
    g_autoptr(GError) error = NULL;
    assert(disk_writer_read(w, from, buf, to - from, &error));
    assert(memcmp(buf, expected + from, to - from) == 0);
}

/* The finished image holds exactly the expected bytes. */
static void
check_image(const char *path, enum disk_format format)
{
    if (format == DISK_FORMAT_RAW) {
        g_autofree char *got = NULL;
        gsize len = 0;
        assert(g_file_get_contents(path, &got, &len, NULL));
        assert(len == DISK_SIZE);
        assert(memcmp(got, expected, DISK_SIZE) == 0);
        return;
    }
    const char *argv[] = {"qemu-img", "compare", "-q", "-f", "raw",
                          "-F", "qcow2", ref_raw, path, NULL};
    g_autoptr(GError) error = NULL;
    g_autoptr(GSubprocess) p = g_subprocess_newv(argv, 0, &error);
    assert(p != NULL);
    assert(g_subprocess_wait(p, NULL, &error));
    if (!g_subprocess_get_if_exited(p) ||
        g_subprocess_get_exit_status(p) != 0)
        fprintf(stderr, "qemu-img compare %s %s failed\n", ref_raw, path);
    assert(g_subprocess_get_if_exited(p) &&
           g_subprocess_get_exit_status(p) == 0);
}

static void
check_allocation(const char *path, enum disk_allocation alloc)
{
    uint64_t a = allocated(path);
    if (alloc == DISK_ALLOCATION_SPARSE) {
        /* Holes everywhere but the data (plus qcow2 metadata). */
        if (a < data_bytes || a > data_bytes + MIB)
            fprintf(stderr, "%s: %" PRIu64 " bytes allocated, data %" PRIu64 "\n",
                    path, a, data_bytes);
        assert(a >= data_bytes - 4096 && a <= data_bytes + MIB);
    } else {
        assert(a >= DISK_SIZE);
    }
}

/* ---- names and zero detection ---- */

static int
test_names(void)
{
    static const struct {
        const char *s;
        bool ok;
        enum disk_format f;
    } formats[] = {
        {"raw", true, DISK_FORMAT_RAW},
        {"qcow2", true, DISK_FORMAT_QCOW2},
        {"vmdk", false, DISK_FORMAT_RAW},
        {"RAW", false, DISK_FORMAT_RAW},
        {"", false, DISK_FORMAT_RAW},
        {NULL, false, DISK_FORMAT_RAW},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(formats); i++) {
        enum disk_format f = DISK_FORMAT_LAST;
        assert(disk_format_parse(formats[i].s, &f) == formats[i].ok);
        if (formats[i].ok) {
            assert(f == formats[i].f);
            assert(strcmp(disk_format_name(f), formats[i].s) == 0);
        }
    }
    static const struct {
        const char *s;
        bool ok;
        enum disk_allocation a;
    } allocs[] = {
        {"sparse", true, DISK_ALLOCATION_SPARSE},
        {"preallocated", true, DISK_ALLOCATION_PREALLOCATED},
        {"thin", false, DISK_ALLOCATION_SPARSE},
        {NULL, false, DISK_ALLOCATION_SPARSE},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(allocs); i++) {
        enum disk_allocation a = DISK_ALLOCATION_LAST;
        assert(disk_allocation_parse(allocs[i].s, &a) == allocs[i].ok);
        if (allocs[i].ok) {
            assert(a == allocs[i].a);
            assert(strcmp(disk_allocation_name(a), allocs[i].s) == 0);
        }
    }
    return 0;
}

static int
test_zero(void)
{
    static const struct {
        size_t len;
        long nonzero_at;        /* -1: all zero */
        bool zero;
    } cases[] = {
        {0, -1, true},
        {1, -1, true},
        {1, 0, false},
        {15, 14, false},
        {16, -1, true},
        {16, 15, false},
        {17, 16, false},
        {4096, -1, true},
        {4096, 0, false},
        {4096, 7, false},
        {4096, 2048, false},
        {4096, 4095, false},
        {65536 + 3, 65536 + 2, false},
        {65536 + 3, -1, true},
        {0, 0, false},
    };
    unsigned char *buf = g_malloc(70000);
    for (size_t i = 0; cases[i].len != 0 || cases[i].nonzero_at != 0; i++) {
        /* Non-zero bytes around the slice must not be looked at. */
        memset(buf, 0xff, 70000);
        memset(buf + 8, 0, cases[i].len);
        if (cases[i].nonzero_at >= 0)
            buf[8 + cases[i].nonzero_at] = 0x40;
        assert(disk_is_zero(buf + 8, cases[i].len) == cases[i].zero);
    }
    g_free(buf);
    return 0;
}

/* ---- writers ---- */

struct kind {
    const char *name;
    enum disk_format format;
    enum disk_allocation alloc;
};

static int
test_write(const struct kind *k)
{
    if (k->format == DISK_FORMAT_QCOW2 && !have_qemu())
        return SKIP;
    g_autofree char *path = tmp_path(k->name);
    g_autoptr(GError) error = NULL;

    /* A fresh open replaces an existing file. */
    assert(g_file_set_contents(path, "old junk", -1, NULL));
    struct disk_writer *w = disk_writer_open(path, k->format, k->alloc,
                                             DISK_SIZE, 0, &error);
    assert(w != NULL);
    deliver(w, 0, DISK_SIZE);
    check_read_back(w, 0, DISK_SIZE);
    assert(disk_writer_close(w, &error));
    check_image(path, k->format);
    check_allocation(path, k->alloc);

    /* Out of range is an internal error, not a write. */
    w = disk_writer_open(path, k->format, k->alloc, DISK_SIZE, 0, &error);
    assert(w != NULL);
    assert(!disk_writer_write(w, DISK_SIZE - 10, expected, 11, &error));
    assert(g_error_matches(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL));
    disk_writer_abort(w);
    unlink(path);
    return 0;
}

static int
test_resume(const struct kind *k)
{
    if (k->format == DISK_FORMAT_QCOW2 && !have_qemu())
        return SKIP;
    /* Checkpoints inside a data region and inside a zero region. */
    static const unsigned chunks[] = {7, 10};
    for (size_t i = 0; i < G_N_ELEMENTS(chunks); i++) {
        uint64_t pos = (uint64_t)chunks[i] * CHUNK;
        g_autofree char *path = tmp_path(k->name);
        g_autoptr(GError) error = NULL;

        struct disk_writer *w = disk_writer_open(path, k->format, k->alloc,
                                                 DISK_SIZE, 0, &error);
        assert(w != NULL);
        deliver(w, 0, pos);
        assert(disk_writer_flush(w, &error));
        /* Writes after the checkpoint that were never committed; they
         * reach into the zero region at 9–12 MiB. */
        g_autofree unsigned char *garbage = g_malloc(3 * MIB);
        memset(garbage, 0xa5, 3 * MIB);
        assert(disk_writer_write(w, pos, garbage, 3 * MIB, &error));
        assert(disk_writer_flush(w, &error));
        disk_writer_abort(w);

        w = disk_writer_open(path, k->format, k->alloc, DISK_SIZE, pos,
                             &error);
        if (w == NULL)
            fprintf(stderr, "resume: %s\n", error->message);
        assert(w != NULL);
        check_read_back(w, 0, pos);
        /* The discarded tail reads as zeros before anything is written. */
        g_autofree unsigned char *tail = g_malloc(3 * MIB);
        assert(disk_writer_read(w, pos, tail, 3 * MIB, &error));
        assert(disk_is_zero(tail, 3 * MIB));
        deliver(w, pos, DISK_SIZE);
        assert(disk_writer_close(w, &error));
        check_image(path, k->format);
        check_allocation(path, k->alloc);
        unlink(path);
    }
    return 0;
}

static void
expect_drift(const char *path, enum disk_format format, uint64_t size,
             const char *message)
{
    g_autoptr(GError) error = NULL;
    struct disk_writer *w = disk_writer_open(path, format,
                                             DISK_ALLOCATION_SPARSE, size,
                                             4096, &error);
    assert(w == NULL);
    assert(g_error_matches(error, CONVOY_ERROR, CONVOY_ERROR_DRIFT));
    if (strcmp(error->message, message) != 0)
        fprintf(stderr, "got '%s'\nwant '%s'\n", error->message, message);
    assert(strcmp(error->message, message) == 0);
}

static int
test_drift(void)
{
    bool qemu = have_qemu();
    static const enum disk_format formats[] = {
        DISK_FORMAT_RAW, DISK_FORMAT_QCOW2,
    };
    for (size_t i = 0; i < G_N_ELEMENTS(formats); i++) {
        enum disk_format f = formats[i];
        if (f == DISK_FORMAT_QCOW2 && !qemu)
            continue;
        g_autofree char *path = tmp_path("drift.img");
        g_autoptr(GError) error = NULL;
        struct disk_writer *w = disk_writer_open(path, f,
                                                 DISK_ALLOCATION_SPARSE,
                                                 DISK_SIZE, 0, &error);
        assert(w != NULL);
        assert(disk_writer_close(w, &error));

        g_autofree char *msg = g_strdup_printf(
            "output '%s' has size %" PRIu64 ", expected %" PRIu64 "; it cannot be resumed",
            path, DISK_SIZE, DISK_SIZE + 65536);
        expect_drift(path, f, DISK_SIZE + 65536, msg);

        unlink(path);
        g_autofree char *missing = g_strdup_printf(
            "output '%s' does not exist; it cannot be resumed", path);
        expect_drift(path, f, DISK_SIZE, missing);
    }
    if (qemu) {
        /* A raw file where a qcow2 is expected. */
        g_autofree char *msg = g_strdup_printf(
            "output '%s' is not a qcow2 image; it cannot be resumed", ref_raw);
        expect_drift(ref_raw, DISK_FORMAT_QCOW2, DISK_SIZE, msg);
    }
    return qemu ? 0 : SKIP;
}

static int
test_enospc(void)
{
    g_autofree char *dir = tmp_path("tmpfs");
    assert(mkdir(dir, 0700) == 0);
    if (mount("tmpfs", dir, "tmpfs", 0, "size=4m") == -1) {
        fprintf(stderr, "skip: cannot mount a tmpfs on '%s': %s\n", dir,
                g_strerror(errno));
        rmdir(dir);
        return SKIP;
    }

    g_autofree char *path = g_build_filename(dir, "full.raw", NULL);
    g_autoptr(GError) error = NULL;
    struct disk_writer *w = disk_writer_open(path, DISK_FORMAT_RAW,
                                             DISK_ALLOCATION_SPARSE,
                                             DISK_SIZE, 0, &error);
    assert(w != NULL);
    g_autofree unsigned char *data = g_malloc(MIB);
    memset(data, 0x5a, MIB);
    uint64_t off = 0;
    bool ok = true;
    for (; off < 8 * MIB && ok; off += MIB)
        ok = disk_writer_write(w, off, data, MIB, &error);
    /* Writes are queued: the failure shows at a later write, or at the
     * flush that a checkpoint makes before it records anything. */
    if (ok)
        ok = disk_writer_flush(w, &error);
    assert(!ok);
    assert(g_error_matches(error, CONVOY_ERROR, CONVOY_ERROR_NOSPACE));
    g_autofree char *prefix = g_strdup_printf(
        "no space left on device writing '%s' at offset ", path);
    assert(g_str_has_prefix(error->message, prefix));
    guint64 at = 0;
    assert(g_ascii_string_to_unsigned(error->message + strlen(prefix), 10, 0,
                                      4 * MIB, &at, NULL));
    assert(at > 0 && at < off);
    disk_writer_abort(w);
    unlink(path);

    /* The same through buffered writes (a file system without O_DIRECT):
     * the queue's threads report it all the same. */
    g_clear_error(&error);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    assert(fd >= 0 && ftruncate(fd, DISK_SIZE) == 0);
    struct disk_direct *q = disk_direct_new(-1, fd, path, &error);
    assert(q != NULL);
    ok = true;
    for (off = 0; off < 8 * MIB && ok; off += MIB)
        ok = disk_direct_write(q, off, data, MIB, &error);
    if (ok)
        ok = disk_direct_drain(q, &error);
    assert(!ok);
    assert(g_error_matches(error, CONVOY_ERROR, CONVOY_ERROR_NOSPACE));
    assert(g_str_has_prefix(error->message, prefix));
    disk_direct_free(q);
    close(fd);
    unlink(path);

    g_clear_error(&error);
    w = disk_writer_open(path, DISK_FORMAT_RAW, DISK_ALLOCATION_PREALLOCATED,
                         DISK_SIZE, 0, &error);
    assert(w == NULL);
    assert(g_error_matches(error, CONVOY_ERROR, CONVOY_ERROR_NOSPACE));
    g_autofree char *msg = g_strdup_printf(
        "no space left on device preallocating %" PRIu64 " bytes for '%s'",
        DISK_SIZE, path);
    assert(strcmp(error->message, msg) == 0);
    unlink(path);

    assert(umount(dir) == 0);
    rmdir(dir);
    return 0;
}

/* ---- the queue of aligned writes (direct.c) ---- */

/* Pieces in a scattered order, some contiguous (gathered into one
 * slot), some not, one neither starting nor ending on a block; the file
 * holds exactly them once drained. */
static void
queue_scatter(struct disk_direct *q)
{
    static const struct region pieces[] = {
        {0, 4096}, {4096, 8192}, {12288, 4 * MIB}, {8 * MIB, 4096},
        {5 * MIB, 2 * MIB}, {16 * MIB - 8192, 8192}, {10 * MIB, 5 * MIB},
        {9 * MIB + 100, 5000}, {0, 0},
    };
    g_autoptr(GError) error = NULL;
    for (const struct region *r = pieces; r->len != 0; r++)
        assert(disk_direct_write(q, r->offset, expected + r->offset, r->len, &error));
    assert(disk_direct_drain(q, &error));
}

static void
check_pieces(const char *path)
{
    g_autofree char *got = NULL;
    gsize len = 0;
    assert(g_file_get_contents(path, &got, &len, NULL));
    assert(len == DISK_SIZE);
    static const struct region pieces[] = {
        {0, 12288 + 4 * MIB}, {5 * MIB, 2 * MIB}, {8 * MIB, 4096},
        {9 * MIB + 100, 5000}, {10 * MIB, 5 * MIB}, {16 * MIB - 8192, 8192}, {0, 0},
    };
    uint64_t at = 0;
    for (const struct region *r = pieces; r->len != 0; r++) {
        for (uint64_t o = at; o < r->offset; o++)
            assert(got[o] == 0);
        assert(memcmp(got + r->offset, expected + r->offset, r->len) == 0);
        at = r->offset + r->len;
    }
}

static int
test_queue(void)
{
    g_autofree char *path = tmp_path("queue.raw");
    g_autoptr(GError) error = NULL;

    /* Direct, and buffered (no O_DIRECT descriptor). */
    for (int direct = 1; direct >= 0; direct--) {
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
        assert(fd >= 0 && ftruncate(fd, DISK_SIZE) == 0);
        int dfd = direct ? open(path, O_WRONLY | O_DIRECT) : -1;
        struct disk_direct *q = disk_direct_new(dfd, fd, path, &error);
        assert(q != NULL);
        queue_scatter(q);
        disk_direct_free(q);
        if (dfd >= 0)
            close(dfd);
        close(fd);
        check_pieces(path);
    }

    /* The same bytes written twice over, the second time after other
     * writes: the later write wins. */
    {
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
        assert(fd >= 0 && ftruncate(fd, DISK_SIZE) == 0);
        int dfd = open(path, O_WRONLY | O_DIRECT);
        struct disk_direct *q = disk_direct_new(dfd, fd, path, &error);
        assert(q != NULL);
        g_autofree unsigned char *a = g_malloc(8 * MIB);
        memset(a, 0xaa, 8 * MIB);
        for (int round = 0; round < 20; round++) {
            assert(disk_direct_write(q, 0, a, 8 * MIB, &error));
            assert(disk_direct_write(q, 4 * MIB, expected + 4 * MIB, 4 * MIB, &error));
            assert(disk_direct_write(q, 0, expected, 4 * MIB, &error));
        }
        assert(disk_direct_drain(q, &error));
        disk_direct_free(q);
        if (dfd >= 0)
            close(dfd);
        g_autofree unsigned char *got = g_malloc(8 * MIB);
        assert(pread(fd, got, 8 * MIB, 0) == 8 * MIB);
        assert(memcmp(got, expected, 8 * MIB) == 0);
        close(fd);
    }

    /* A descriptor that refuses the writes with EINVAL, as a file system
     * without direct I/O does: the buffered descriptor takes over.
     * /proc/self/oom_score_adj refuses anything but a number. */
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    assert(fd >= 0 && ftruncate(fd, DISK_SIZE) == 0);
    int bad = open("/proc/self/oom_score_adj", O_WRONLY);
    assert(bad >= 0);
    errno = 0;
    assert(pwrite(bad, expected + MIB / 2, 4096, 0) == -1 && errno == EINVAL);
    struct disk_direct *q = disk_direct_new(bad, fd, path, &error);
    assert(q != NULL);
    queue_scatter(q);
    disk_direct_free(q);
    close(bad);
    close(fd);
    check_pieces(path);

    /* A failed write is kept: the drain reports it with its offset, and
     * so does every later call. */
    fd = open(path, O_RDONLY);
    assert(fd >= 0);
    q = disk_direct_new(-1, fd, path, &error);
    assert(q != NULL);
    assert(disk_direct_write(q, 3 * MIB, expected, 8192, &error));
    assert(!disk_direct_drain(q, &error));
    g_autofree char *want = g_strdup_printf(
        "cannot write '%s' at offset %" PRIu64 ": %s", path, (uint64_t)3 * MIB,
        g_strerror(EBADF));
    if (strcmp(error->message, want) != 0)
        fprintf(stderr, "got '%s'\nwant '%s'\n", error->message, want);
    assert(strcmp(error->message, want) == 0);
    g_clear_error(&error);
    assert(!disk_direct_write(q, 0, expected, 4096, &error));
    assert(strcmp(error->message, want) == 0);
    g_clear_error(&error);

    /* Freed with writes still queued: they are dropped, nothing hangs. */
    struct disk_direct *q2 = disk_direct_new(-1, fd, path, &error);
    assert(q2 != NULL);
    for (uint64_t o = 0; o < DISK_SIZE; o += MIB)
        (void)disk_direct_write(q2, o, expected + o, MIB, NULL);
    disk_direct_free(q2);
    disk_direct_free(q);
    close(fd);
    unlink(path);
    return 0;
}

/* ---- driver ---- */

/* ---- source images ---- */

static void
put_be(unsigned char *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)(v & 0xff);
}

static int
test_image_header(void)
{
    static const struct {
        const char *magic;      /* first bytes; NULL ends */
        size_t len;             /* bytes given to the parser */
        uint64_t backing;       /* backing_file_offset */
        enum disk_format format;
        const char *unsupported;
        uint64_t vsize;         /* expected virtual size */
    } cases[] = {
        {"QFI\xfb", 512, 0, DISK_FORMAT_QCOW2, NULL, 96 * MIB},
        {"QFI\xfb", 512, 0x150, DISK_FORMAT_QCOW2, NULL, 96 * MIB},
        {"QFI\xfb", 32, 0, DISK_FORMAT_QCOW2, NULL, 96 * MIB},
        {"QFI\xfb", 8, 0, DISK_FORMAT_QCOW2, NULL, 0},
        {"QFI", 512, 0, DISK_FORMAT_RAW, NULL, 4096},
        {"conectix", 512, 0, DISK_FORMAT_RAW, "vpc", 4096},
        {"KDMV", 512, 0, DISK_FORMAT_RAW, "vmdk", 4096},
        {"\0\0\0\0", 512, 0, DISK_FORMAT_RAW, NULL, 4096},
        {"", 0, 0, DISK_FORMAT_RAW, NULL, 4096},
        {NULL, 0, 0, DISK_FORMAT_RAW, NULL, 0},
    };
    for (size_t i = 0; cases[i].magic != NULL; i++) {
        unsigned char head[512] = {0};
        struct disk_image_info info;

        memcpy(head, cases[i].magic, strlen(cases[i].magic));
        if (strcmp(cases[i].magic, "QFI\xfb") == 0) {
            put_be(head + 4, 3, 4);
            put_be(head + 8, cases[i].backing, 8);
            put_be(head + 24, 96 * MIB, 8);
        }
        disk_image_header(head, cases[i].len, 4096, &info);
        assert(info.format == cases[i].format);
        assert(g_strcmp0(info.unsupported, cases[i].unsupported) == 0);
        assert(info.virtual_size == cases[i].vsize);
        assert(info.has_backing == (cases[i].len >= 32 && cases[i].backing != 0));
    }
    return 0;
}

/* A qcow2 made by the writer reads back through the reader as the
 * expected content, its zero regions reported as zero extents, and the
 * image file is not changed by reading it. */
static int
test_qcow2_reader(void)
{
    if (!have_qemu())
        return SKIP;
    g_autofree char *path = tmp_path("reader.qcow2");
    g_autoptr(GError) error = NULL;
    g_autofree unsigned char *buf = g_malloc(DISK_SIZE);
    g_autofree char *before = NULL;
    g_autofree char *after = NULL;
    gsize len0 = 0, len1 = 0;
    struct disk_image_info info;
    struct disk_writer *w = disk_writer_open(path, DISK_FORMAT_QCOW2,
                                             DISK_ALLOCATION_SPARSE,
                                             DISK_SIZE, 0, &error);
    assert(w != NULL);
    deliver(w, 0, DISK_SIZE);
    assert(disk_writer_close(w, &error));
    assert(disk_image_probe(path, &info, &error));
    assert(info.format == DISK_FORMAT_QCOW2 && info.virtual_size == DISK_SIZE);
    assert(!info.has_backing);
    assert(g_file_get_contents(path, &before, &len0, NULL));

    struct disk_reader *r = disk_reader_open_qcow2(path, &error);
    if (r == NULL)
        fprintf(stderr, "reader: %s\n", error->message);
    assert(r != NULL);
    assert(disk_reader_size(r) == DISK_SIZE);
    assert(disk_reader_pread(r, buf, DISK_SIZE, 0, &error));
    assert(memcmp(buf, expected, DISK_SIZE) == 0);
    uint64_t zero_bytes = 0;
    for (uint64_t off = 0; off < DISK_SIZE;) {
        uint64_t n = 0;
        bool zero = false;
        assert(disk_reader_extent(r, off, DISK_SIZE - off, &n, &zero, &error));
        assert(n > 0 && n <= DISK_SIZE - off);
        if (zero) {
            assert(disk_is_zero(expected + off, (size_t)n));
            zero_bytes += n;
        }
        off += n;
    }
    /* The holes between the data regions are known as zeros. */
    assert(zero_bytes >= DISK_SIZE - data_bytes - 2 * MIB);
    disk_reader_close(r);
    assert(g_file_get_contents(path, &after, &len1, NULL));
    assert(len0 == len1 && memcmp(before, after, len0) == 0);

    /* Not a qcow2 image: qemu-nbd refuses it, the error names it. */
    assert(disk_reader_open_qcow2(ref_raw, &error) == NULL);
    assert(g_error_matches(error, CONVOY_ERROR, CONVOY_ERROR_NBD));
    assert(strstr(error->message, "ref.raw") != NULL);
    unlink(path);
    return 0;
}

static const struct kind kinds[] = {
    {"raw-sparse", DISK_FORMAT_RAW, DISK_ALLOCATION_SPARSE},
    {"raw-preallocated", DISK_FORMAT_RAW, DISK_ALLOCATION_PREALLOCATED},
    {"qcow2-sparse", DISK_FORMAT_QCOW2, DISK_ALLOCATION_SPARSE},
    {"qcow2-preallocated", DISK_FORMAT_QCOW2, DISK_ALLOCATION_PREALLOCATED},
};

static int
run_case(const char *name)
{
    if (strcmp(name, "names") == 0)
        return test_names();
    if (strcmp(name, "zero") == 0)
        return test_zero();
    if (strcmp(name, "drift") == 0)
        return test_drift();
    if (strcmp(name, "enospc") == 0)
        return test_enospc();
    if (strcmp(name, "queue") == 0)
        return test_queue();
    if (strcmp(name, "image-header") == 0)
        return test_image_header();
    if (strcmp(name, "qcow2-reader") == 0)
        return test_qcow2_reader();
    for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++) {
        if (strcmp(name, kinds[i].name) == 0)
            return test_write(&kinds[i]);
        if (g_str_has_prefix(name, "resume-") &&
            strcmp(name + 7, kinds[i].name) == 0)
            return test_resume(&kinds[i]);
    }
    fprintf(stderr, "unknown case '%s'\n", name);
    return 99;
}

int
main(int argc, char **argv)
{
    static const char *const all[] = {
        "names", "zero", "raw-sparse", "raw-preallocated", "qcow2-sparse",
        "qcow2-preallocated", "resume-raw-sparse", "resume-raw-preallocated",
        "resume-qcow2-sparse", "resume-qcow2-preallocated", "drift",
        "enospc", "queue", "image-header", "qcow2-reader", NULL,
    };
    g_autoptr(GError) error = NULL;
    tmpdir = g_dir_make_tmp("convoy-disk-XXXXXX", &error);
    if (tmpdir == NULL) {
        fprintf(stderr, "%s\n", error->message);
        return 99;
    }
    make_expected();

    int status = cases_run(all, argc, argv, run_case);

    cases_remove_tree(tmpdir);
    g_free(tmpdir);
    g_free(ref_raw);
    g_free(expected);
    return status;
}
