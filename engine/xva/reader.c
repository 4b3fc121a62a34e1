/* The XVA stream reader: one pass over the tar stream with libarchive,
 * every chunk checked against its checksum entry before it is delivered.
 * The exact rules are in docs/internals/xva.md. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <archive.h>
#include <archive_entry.h>

#include "util/autoptr.h"
#include "util/error.h"
#include "xva/xva.h"
#include "xva/xva-priv.h"

/* Longest checksum entry we read ("<hex>\n" with some slack). */
#define XVA_SUM_MAX 256u

enum entry_kind {
    ENTRY_DIR,        /* "REF/" */
    ENTRY_CHUNK,      /* "REF/NUMBER" */
    ENTRY_XXHASH,     /* "REF/NUMBER.xxhash" */
    ENTRY_SHA1,       /* "REF/NUMBER.checksum" */
    ENTRY_OTHER,
};

/* The current tar entry, as classified. */
struct entry {
    char *path;       /* owned */
    int64_t size;
    enum entry_kind kind;
    char *folder;     /* owned; the VDI ref, or NULL for ENTRY_OTHER */
    char *number;     /* owned; the digits as written */
    uint64_t num;
};

struct xva_reader {
    char *name;                   /* file name for messages */
    unsigned flags;               /* XVA_OPEN_* */
    struct archive *a;
    int fd;                       /* owned; -1 when reading memory */
    struct xva_input *in;         /* owned: the (decompressed) bytes */
    GError *in_error;             /* why the last input read failed */
    char *ova_xml;                /* owned, NUL-terminated */
    size_t ova_len;
    struct xva_meta *meta;        /* owned */
    GPtrArray *made_vdis;         /* of struct xva_vdi*, owned: folders
                                   * ova.xml does not name (lenient) */
    unsigned char *bufs[2];       /* XVA_CHUNK_MAX bytes each: the chunk
                                   * being read, the one being hashed */
    struct entry e;               /* the current entry */
    bool streamed;
};

/* One VDI being read from the stream. */
struct disk {
    const struct xva_vdi *vdi;
    struct xva_vdi *made;         /* == vdi when ova.xml does not know it */
    bool deliver;                 /* call the ops for this disk */
    bool have_chunk;
    uint64_t last_num;
    char *last_number;            /* owned; digits of the previous chunk */
    uint64_t chunk0_len;          /* size of one omitted chunk */
    uint64_t pos;                 /* running byte position */
};

/* ---- errors ---- */

/* Turn libarchive's last error into a GError, prefixed by what. */
static void
set_archive_error(struct xva_reader *r, const char *what, GError **error)
{
    int errsv;

    /* The input's own error (a read error, a compressed stream that is
     * damaged) says it better than libarchive's copy of it.  A checksum
     * of the whole compressed stream has no place in it: its message
     * names the file, without what. */
    if (r->in_error != NULL) {
        GError *e = g_steal_pointer(&r->in_error);
        g_autofree char *file = g_strdup_printf("'%s'", r->name);

        if (e->code == CONVOY_ERROR_CHECKSUM || strcmp(what, file) == 0)
            g_propagate_error(error, e);
        else
            g_propagate_prefixed_error(error, e, "%s: ", what);
        return;
    }
    errsv = archive_errno(r->a);
    const char *s = archive_error_string(r->a);
    g_autofree char *msg = g_strdup(s != NULL ? s : "unknown error");
    enum convoy_error_code code = CONVOY_ERROR_FORMAT;

    msg[0] = g_ascii_tolower(msg[0]);
    if (errsv == EIO || errsv == ENOENT || errsv == EACCES || errsv == EBADF ||
        errsv == EISDIR || errsv == ENOMEM || errsv == ENXIO)
        code = CONVOY_ERROR_IO;
    g_set_error(error, CONVOY_ERROR, code, "%s: archive: %s", what, msg);
}

/* ---- libarchive's client callbacks over struct xva_input ---- */

static la_ssize_t
input_read_cb(struct archive *a, void *opaque, const void **buf)
{
    struct xva_reader *r = opaque;
    size_t len = 0;

    g_clear_error(&r->in_error);
    if (!xva_input_read(r->in, buf, &len, &r->in_error)) {
        archive_set_error(a, EIO, "%s", r->in_error->message);
        return -1;
    }
    return (la_ssize_t)len;
}

static la_int64_t
input_skip_cb(struct archive *a, void *opaque, la_int64_t request)
{
    struct xva_reader *r = opaque;

    return xva_input_skip(r->in, request);
}

/* Open r->a over r->in. */
static bool
reader_open_input(struct xva_reader *r, GError **error)
{
    if (archive_read_set_read_callback(r->a, input_read_cb) != ARCHIVE_OK ||
        archive_read_set_skip_callback(r->a, input_skip_cb) != ARCHIVE_OK ||
        archive_read_set_callback_data(r->a, r) != ARCHIVE_OK ||
        archive_read_open1(r->a) != ARCHIVE_OK) {
        g_autofree char *what = g_strdup_printf("'%s'", r->name);

        set_archive_error(r, what, error);
        return false;
    }
    return true;
}

/* ---- entries ---- */

static void
entry_release(struct entry *e)
{
    g_clear_pointer(&e->path, g_free);
    g_clear_pointer(&e->folder, g_free);
    g_clear_pointer(&e->number, g_free);
    e->kind = ENTRY_OTHER;
    e->size = 0;
    e->num = 0;
}

static bool
all_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!g_ascii_isdigit(s[i]))
            return false;
    }
    return true;
}

/* Split "REF/NUMBER[.ext]" or "REF/" into e's fields. */
static void
entry_classify(struct entry *e, bool is_dir)
{
    const char *p = e->path;
    const char *slash = strchr(p, '/');
    const char *rest;
    size_t digits;
    guint64 n;

    e->kind = ENTRY_OTHER;
    if (slash == NULL || slash == p)
        return;
    rest = slash + 1;
    if (*rest == '\0') {
        /* "REF/": a folder; any file type (V7 tar marks folders by the
         * trailing slash only), but no content. */
        if (is_dir || e->size == 0) {
            e->kind = ENTRY_DIR;
            e->folder = g_strndup(p, slash - p);
        }
        return;
    }
    if (is_dir)
        return;
    digits = strspn(rest, "0123456789");
    if (digits == 0 || digits > 20)
        return;
    if (rest[digits] == '\0')
        e->kind = ENTRY_CHUNK;
    else if (strcmp(rest + digits, ".xxhash") == 0)
        e->kind = ENTRY_XXHASH;
    else if (strcmp(rest + digits, ".checksum") == 0)
        e->kind = ENTRY_SHA1;
    else
        return;
    g_assert(all_digits(rest, digits));
    e->number = g_strndup(rest, digits);
    if (!g_ascii_string_to_unsigned(e->number, 10, 0, G_MAXUINT64, &n, NULL)) {
        e->kind = ENTRY_OTHER;
        g_clear_pointer(&e->number, g_free);
        return;
    }
    e->num = n;
    e->folder = g_strndup(p, slash - p);
}

/* Read the next header into r->e.  *eof is set at the end of the archive.
 * what prefixes libarchive's errors. */
static bool
next_entry(struct xva_reader *r, const char *what, bool *eof, GError **error)
{
    struct archive_entry *ae;
    const char *path;
    int rc;
    mode_t type;

    entry_release(&r->e);
    *eof = false;
    rc = archive_read_next_header(r->a, &ae);
    if (rc == ARCHIVE_EOF) {
        *eof = true;
        return true;
    }
    if (rc < ARCHIVE_WARN) {
        set_archive_error(r, what, error);
        return false;
    }
    path = archive_entry_pathname(ae);
    r->e.path = g_strdup(path != NULL ? path : "");
    r->e.size = archive_entry_size_is_set(ae) ? archive_entry_size(ae) : -1;
    type = archive_entry_filetype(ae);
    if (type != AE_IFREG && type != AE_IFDIR) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "entry '%s' is not a regular file or a folder",
                    r->e.path);
        return false;
    }
    if (r->e.size < 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "entry '%s' has no size", r->e.path);
        return false;
    }
    entry_classify(&r->e, type == AE_IFDIR);
    return true;
}

/* Read exactly len bytes of the current entry into buf. */
static bool
read_exact(struct xva_reader *r, void *buf, size_t len, const char *what,
           GError **error)
{
    size_t got = 0;

    while (got < len) {
        la_ssize_t n = archive_read_data(r->a, (char *)buf + got, len - got);

        if (n < 0) {
            set_archive_error(r, what, error);
            return false;
        }
        if (n == 0) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                        "%s: archive: entry ends after %zu of its %zu bytes",
                        what, got, len);
            return false;
        }
        got += (size_t)n;
    }
    return true;
}

/* ---- opening ---- */

static struct xva_reader *
reader_new(const char *name, unsigned flags, GError **error)
{
    struct xva_reader *r = g_new0(struct xva_reader, 1);

    r->name = g_strdup(name);
    r->flags = flags;
    r->fd = -1;
    r->made_vdis = g_ptr_array_new();
    r->e.kind = ENTRY_OTHER;
    r->a = archive_read_new();
    if (r->a == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL,
                    "internal error: archive: cannot allocate a reader");
        xva_reader_free(r);
        return NULL;
    }
    /* The tar reader takes V7, ustar, GNU and pax headers; gzip and zstd
     * are decoded under it by input.c, which checks their checksums. */
    if (archive_read_support_filter_none(r->a) < ARCHIVE_WARN ||
        archive_read_support_format_tar(r->a) < ARCHIVE_WARN) {
        g_autofree char *what = g_strdup_printf("'%s'", name);

        set_archive_error(r, what, error);
        xva_reader_free(r);
        return NULL;
    }
    return r;
}

/* Read ova.xml, the first entry, and parse it. */
static bool
reader_start(struct xva_reader *r, GError **error)
{
    g_autofree char *what = g_strdup_printf("'%s'", r->name);
    GError *err = NULL;
    bool eof;

    if (!next_entry(r, what, &eof, error)) {
        g_prefix_error(error, "'%s': ", r->name);
        return false;
    }
    if (eof) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "'%s': the archive is empty; expected 'ova.xml' first",
                    r->name);
        return false;
    }
    if (strcmp(r->e.path, "ova.xml") != 0 || r->e.kind == ENTRY_DIR) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "'%s': first entry is '%s', expected 'ova.xml'",
                    r->name, r->e.path);
        return false;
    }
    if ((uint64_t)r->e.size > XVA_OVA_XML_MAX) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "'%s': ova.xml: %" PRId64 " bytes, more than the %u-byte limit",
                    r->name, r->e.size, XVA_OVA_XML_MAX);
        return false;
    }
    r->ova_len = (size_t)r->e.size;
    r->ova_xml = g_malloc(r->ova_len + 1);
    if (!read_exact(r, r->ova_xml, r->ova_len, what, error))
        return false;
    r->ova_xml[r->ova_len] = '\0';
    r->meta = xva_meta_parse_flags(r->ova_xml, r->ova_len, r->flags, &err);
    if (r->meta == NULL) {
        g_propagate_prefixed_error(error, err, "'%s': ", r->name);
        return false;
    }
    r->bufs[0] = g_malloc(XVA_CHUNK_MAX);
    r->bufs[1] = g_malloc(XVA_CHUNK_MAX);
    return true;
}

struct xva_reader *
xva_reader_open_fd_flags(int fd, const char *name, unsigned flags,
                         GError **error)
{
    struct xva_reader *r = reader_new(name, flags, error);

    if (r == NULL) {
        close(fd);
        return NULL;
    }
    r->fd = fd;
    /* A hint only: a regular file is read front to back once. */
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    r->in = xva_input_new(fd, NULL, 0, name);
    if (!reader_open_input(r, error) || !reader_start(r, error)) {
        xva_reader_free(r);
        return NULL;
    }
    return r;
}

struct xva_reader *
xva_reader_open_fd(int fd, const char *name, GError **error)
{
    return xva_reader_open_fd_flags(fd, name, 0, error);
}

struct xva_reader *
xva_reader_open_flags(const char *path, unsigned flags, GError **error)
{
    struct stat sb;
    int fd;

    if (strcmp(path, "-") == 0) {
        fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
        if (fd < 0) {
            int errsv = errno;

            g_set_error(error, CONVOY_ERROR, convoy_error_from_errno(errsv),
                        "cannot read standard input: %s", g_strerror(errsv));
            return NULL;
        }
        return xva_reader_open_fd_flags(fd, "-", flags, error);
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int errsv = errno;

        g_set_error(error, CONVOY_ERROR,
                    errsv == ENOENT ? CONVOY_ERROR_NOT_FOUND : CONVOY_ERROR_IO,
                    "cannot open '%s': %s", path, g_strerror(errsv));
        return NULL;
    }
    /* A folder opens fine and fails at the first read with EISDIR: say
     * what it is instead. */
    if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        close(fd);
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_IO,
                    "'%s' is a directory, not an XVA file", path);
        return NULL;
    }
    return xva_reader_open_fd_flags(fd, path, flags, error);
}

struct xva_reader *
xva_reader_open(const char *path, GError **error)
{
    return xva_reader_open_flags(path, 0, error);
}

struct xva_reader *
xva_reader_open_memory(const void *buf, size_t len, unsigned flags,
                       GError **error)
{
    struct xva_reader *r = reader_new("<memory>", flags, error);

    if (r == NULL)
        return NULL;
    r->in = xva_input_new(-1, buf, len, "<memory>");
    if (!reader_open_input(r, error) || !reader_start(r, error)) {
        xva_reader_free(r);
        return NULL;
    }
    return r;
}

static void
made_vdi_free(struct xva_vdi *d)
{
    g_free(d->ref);
    g_free(d->uuid);
    g_free(d->name_label);
    g_free(d->sr_ref);
    g_free(d);
}

void
xva_reader_free(struct xva_reader *r)
{
    if (r == NULL)
        return;
    if (r->a != NULL)
        archive_read_free(r->a);
    xva_input_free(r->in);
    g_clear_error(&r->in_error);
    if (r->fd >= 0)
        close(r->fd);
    entry_release(&r->e);
    for (guint i = 0; i < r->made_vdis->len; i++)
        made_vdi_free(r->made_vdis->pdata[i]);
    g_ptr_array_unref(r->made_vdis);
    xva_meta_free(r->meta);
    g_free(r->ova_xml);
    g_free(r->bufs[0]);
    g_free(r->bufs[1]);
    g_free(r->name);
    g_free(r);
}

const struct xva_meta *
xva_reader_meta(struct xva_reader *r)
{
    return r->meta;
}

const char *
xva_reader_ova_xml(struct xva_reader *r, size_t *len)
{
    if (len != NULL)
        *len = r->ova_len;
    return r->ova_xml;
}

uint64_t
xva_reader_bytes_read(struct xva_reader *r)
{
    return r->in != NULL ? xva_input_bytes_read(r->in) : 0;
}

static bool
all_zero(const unsigned char *p, size_t n)
{
    return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* ---- streaming ---- */

enum pending_state {
    PENDING_NONE,
    PENDING_HASHING,          /* read; its checksum is being computed */
    PENDING_CHECKED,          /* verified; not yet delivered */
};

/* The last chunk read: delivered only once the next one has been read
 * (or the disk ends), so that its hashing overlaps that read. */
struct pending {
    enum pending_state state;
    const struct xva_vdi *vdi;
    char *number;             /* owned; digits as written */
    char sum[XVA_SUM_MAX + 1];/* content of the checksum entry */
    const unsigned char *buf; /* one of the reader's two buffers */
    size_t len;               /* bytes in the chunk */
    size_t keep;              /* bytes of disk content (len unless the
                               * chunk runs past virtual_size) */
    uint64_t off;             /* disk offset of the chunk */
    uint64_t zero_off;        /* omitted chunks before it */
    uint64_t zero_len;
};

struct stream {
    struct xva_reader *r;
    const char *only_ref;
    const struct xva_stream_ops *ops;
    void *opaque;
    struct disk d;                /* the disk being read; d.vdi NULL if none */
    struct xva_hasher *hasher;    /* owned */
    struct pending p;
    unsigned next_buf;            /* r->bufs index for the next chunk */
};

static bool
bounded(const struct disk *d)
{
    return d->made == NULL;
}

/* Verify the pending chunk (waits for its hash). */
static bool
pending_check(struct stream *s, GError **error)
{
    struct pending *p = &s->p;

    if (p->state != PENDING_HASHING)
        return true;
    p->state = PENDING_NONE;
    if (!xva_hasher_check(s->hasher, p->vdi->ref, p->number, p->sum, error))
        return false;
    /* Only zero padding may run past virtual_size (xapi never writes any;
     * other writers pad the last chunk). */
    if (!all_zero(p->buf + p->keep, p->len - p->keep)) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "disk '%s' chunk %s: data runs past the end of the disk (virtual_size %" PRIu64 ")",
                    p->vdi->ref, p->number, p->vdi->virtual_size);
        return false;
    }
    p->state = PENDING_CHECKED;
    return true;
}

/* Deliver the verified pending chunk: its leading zeros, then its data. */
static bool
pending_deliver(struct stream *s, GError **error)
{
    struct pending *p = &s->p;

    if (p->state != PENDING_CHECKED)
        return true;
    p->state = PENDING_NONE;
    if (p->zero_len != 0 && s->ops->zero != NULL &&
        !s->ops->zero(s->opaque, p->vdi, p->zero_off, p->zero_len, error))
        return false;
    if (p->keep != 0 && s->ops->data != NULL &&
        !s->ops->data(s->opaque, p->vdi, p->off, p->buf, p->keep, error))
        return false;
    return true;
}

static bool
pending_flush(struct stream *s, GError **error)
{
    return pending_check(s, error) && pending_deliver(s, error);
}

static bool
disk_begin(struct stream *s, const struct xva_vdi *vdi, struct xva_vdi *made,
           GError **error)
{
    struct disk *d = &s->d;

    g_free(d->last_number);
    memset(d, 0, sizeof(*d));
    d->vdi = vdi;
    d->made = made;
    d->deliver = s->only_ref == NULL || strcmp(s->only_ref, vdi->ref) == 0;
    if (d->deliver && s->ops->begin_disk != NULL)
        return s->ops->begin_disk(s->opaque, vdi, error);
    return true;
}

/* The current disk has no more entries: it must be complete. */
static bool
disk_finish(struct stream *s, GError **error)
{
    struct disk *d = &s->d;
    const struct xva_vdi *vdi = d->vdi;

    if (!pending_flush(s, error))
        return false;
    d->vdi = NULL;
    g_clear_pointer(&d->last_number, g_free);
    if (bounded(d) && d->pos != vdi->virtual_size) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "disk '%s' ends at %" PRIu64 " bytes, expected %" PRIu64,
                    vdi->ref, d->pos, vdi->virtual_size);
        return false;
    }
    if (!bounded(d))
        d->made->virtual_size = d->pos;
    if (d->deliver && s->ops->end_disk != NULL)
        return s->ops->end_disk(s->opaque, vdi, error);
    return true;
}

/* A data VDI that the stream does not contain: fine when it is empty
 * (xapi writes no chunk for a 0-byte disk), else an error.  next is the
 * folder that came instead, or NULL at the end of the archive. */
static bool
disk_absent(struct stream *s, const struct xva_vdi *vdi, const char *next,
            GError **error)
{
    if (vdi->virtual_size != 0 && next != NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "disk '%s' (%" PRIu64 " bytes) is missing from the stream: disk '%s' comes first, but disks come in string order of their refs",
                    vdi->ref, vdi->virtual_size, next);
        return false;
    }
    if (vdi->virtual_size != 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "disk '%s' (%" PRIu64 " bytes) is missing from the stream",
                    vdi->ref, vdi->virtual_size);
        return false;
    }
    return disk_begin(s, vdi, NULL, error) && disk_finish(s, error);
}

/* Check the current chunk entry's place in its disk; *zero_len is the size
 * of the omitted chunks before it. */
static bool
chunk_place(struct stream *s, const char *what, uint64_t *zero_len,
            GError **error)
{
    struct xva_reader *r = s->r;
    struct disk *d = &s->d;
    const struct xva_vdi *vdi = d->vdi;
    uint64_t num = r->e.num;
    uint64_t len = (uint64_t)r->e.size;

    *zero_len = 0;
    if (!d->have_chunk && num != 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "%s: the first chunk of a disk must be number 0", what);
        return false;
    }
    if (d->have_chunk && num <= d->last_num) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "%s: chunk numbers must increase (previous chunk %s)",
                    what, d->last_number);
        return false;
    }
    if (len > XVA_CHUNK_MAX) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "%s: %" PRIu64 " bytes, more than the %u-byte limit",
                    what, len, XVA_CHUNK_MAX);
        return false;
    }
    if (bounded(d) && d->have_chunk && d->pos >= vdi->virtual_size) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "%s: lies past the end of the disk (virtual_size %" PRIu64 ")",
                    what, vdi->virtual_size);
        return false;
    }
    if (d->have_chunk && num - d->last_num > 1) {
        uint64_t gap = num - d->last_num - 1;

        if (d->chunk0_len != 0 && gap > UINT64_MAX / d->chunk0_len)
            *zero_len = UINT64_MAX;
        else
            *zero_len = gap * d->chunk0_len;
        if ((bounded(d) && *zero_len > vdi->virtual_size - d->pos) ||
            *zero_len > UINT64_MAX - d->pos) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                        "%s: the %" PRIu64 " omitted chunk%s before it reach past the end of the disk (virtual_size %" PRIu64 ")",
                        what, gap, gap == 1 ? "" : "s", vdi->virtual_size);
            return false;
        }
    }
    if (!d->have_chunk && len == 0 && bounded(d) && vdi->virtual_size != 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "%s: chunk 0 of a non-empty disk is empty", what);
        return false;
    }
    return true;
}

/* Read the current chunk entry and its checksum entry; queue the chunk for
 * verification and deliver the previous one. */
static bool
disk_chunk(struct stream *s, GError **error)
{
    struct xva_reader *r = s->r;
    struct disk *d = &s->d;
    const struct xva_vdi *vdi = d->vdi;
    g_autofree char *number = g_strdup(r->e.number);
    g_autofree char *what = g_strdup_printf("disk '%s' chunk %s", vdi->ref, number);
    uint64_t num = r->e.num;
    uint64_t len = (uint64_t)r->e.size;
    unsigned char *buf = r->bufs[s->next_buf];
    struct pending np = {0};
    uint64_t zero_len;
    uint64_t keep;
    bool eof;

    if (!chunk_place(s, what, &zero_len, error))
        return false;

    /* The data, kept until its checksum has been seen and verified. */
    if (d->deliver) {
        if (!read_exact(r, buf, (size_t)len, what, error))
            return false;
    } else if (archive_read_data_skip(r->a) < ARCHIVE_WARN) {
        set_archive_error(r, what, error);
        return false;
    }

    /* Its checksum entry, which must come next. */
    if (!next_entry(r, what, &eof, error))
        return false;
    if (eof) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "%s has no checksum entry (the archive ends)", what);
        return false;
    }
    if ((r->e.kind != ENTRY_XXHASH && r->e.kind != ENTRY_SHA1) ||
        strcmp(r->e.folder, vdi->ref) != 0 || strcmp(r->e.number, number) != 0) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "%s has no checksum entry (next entry is '%s')",
                    what, r->e.path);
        return false;
    }
    if ((uint64_t)r->e.size > XVA_SUM_MAX) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "%s: checksum entry '%s' has %" PRId64 " bytes, more than %u",
                    what, r->e.path, r->e.size, XVA_SUM_MAX);
        return false;
    }
    if (d->deliver) {
        if (!read_exact(r, np.sum, (size_t)r->e.size, what, error))
            return false;
        np.sum[r->e.size] = '\0';
        if (memchr(np.sum, '\0', (size_t)r->e.size) != NULL) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                        "%s: checksum entry '%s' holds a NUL byte", what, r->e.path);
            return false;
        }
    }

    /* Account for it: omitted chunks, then the chunk, clamped to the
     * disk's end. */
    keep = len;
    if (bounded(d) && len > vdi->virtual_size - (d->pos + zero_len))
        keep = vdi->virtual_size - (d->pos + zero_len);
    if (!bounded(d) && len > UINT64_MAX - (d->pos + zero_len)) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                    "%s: the disk grows past 2^64 bytes", what);
        return false;
    }
    np.state = PENDING_HASHING;
    np.vdi = vdi;
    np.buf = buf;
    np.len = (size_t)len;
    np.keep = (size_t)keep;
    np.zero_off = d->pos;
    np.zero_len = zero_len;
    np.off = d->pos + zero_len;
    if (!d->have_chunk)
        d->chunk0_len = len;
    d->have_chunk = true;
    d->last_num = num;
    d->pos += zero_len + keep;
    g_free(d->last_number);
    d->last_number = g_strdup(number);
    if (!d->deliver)
        return true;

    /* Verify the previous chunk, start hashing this one, then deliver the
     * previous one while this one is being hashed. */
    if (!pending_check(s, error))
        return false;
    xva_hasher_start(s->hasher,
                     r->e.kind == ENTRY_XXHASH ? XVA_SUM_XXHASH : XVA_SUM_SHA1,
                     buf, (size_t)len);
    if (!pending_deliver(s, error))
        return false;
    g_free(s->p.number);
    np.number = g_steal_pointer(&number);
    s->p = np;
    s->next_buf ^= 1;
    return true;
}

/* A chunk of folder names a new disk: finish the current one, account for
 * absent data VDIs sorted before it, and begin it.  *stop is set when the
 * only_ref disk is done. */
static bool
disk_switch(struct stream *s, const char *folder, guint *next_vdi, bool *stop,
            GError **error)
{
    struct xva_reader *r = s->r;
    GPtrArray *vdis = r->meta->vdis;
    const struct xva_vdi *vdi = NULL;
    struct xva_vdi *made = NULL;
    g_autofree char *prev = NULL;

    *stop = false;
    if (s->d.vdi != NULL) {
        bool was_target = s->d.deliver && s->only_ref != NULL;

        prev = g_strdup(s->d.vdi->ref);
        if (!disk_finish(s, error))
            return false;
        if (was_target) {
            *stop = true;
            return true;
        }
        if (strcmp(folder, prev) < 0) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                        "disk '%s' comes after disk '%s'; disks must come in string order of their refs",
                        folder, prev);
            return false;
        }
    }
    while (*next_vdi < vdis->len) {
        const struct xva_vdi *v = vdis->pdata[*next_vdi];
        int c;

        if (!v->has_data)
            break;
        c = strcmp(v->ref, folder);
        if (c > 0)
            break;
        (*next_vdi)++;
        if (c == 0) {
            vdi = v;
            break;
        }
        if (!disk_absent(s, v, folder, error))
            return false;
        if (s->only_ref != NULL && strcmp(s->only_ref, v->ref) == 0) {
            *stop = true;
            return true;
        }
    }
    if (vdi == NULL) {
        if ((r->flags & XVA_OPEN_LENIENT) == 0) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                        "entry '%s' belongs to '%s', which is not a data-carrying VDI of ova.xml",
                        r->e.path, folder);
            return false;
        }
        made = g_new0(struct xva_vdi, 1);
        made->ref = g_strdup(folder);
        made->name_label = g_strdup("");
        made->has_data = true;
        g_ptr_array_add(r->made_vdis, made);
        vdi = made;
    }
    return disk_begin(s, vdi, made, error);
}

/* Is ref a disk this stream can deliver? */
static bool
check_only_ref(struct xva_reader *r, const char *only_ref, GError **error)
{
    const struct xva_vdi *v = xva_meta_find_vdi(r->meta, only_ref);

    if ((v != NULL && v->has_data) || (r->flags & XVA_OPEN_LENIENT) != 0)
        return true;
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NOT_FOUND,
                "disk '%s' is not a data-carrying VDI of the export", only_ref);
    return false;
}

/* The loop over entries; returns with s->p possibly still pending. */
static bool
stream_entries(struct stream *s, GError **error)
{
    struct xva_reader *r = s->r;
    GPtrArray *vdis = r->meta->vdis;
    guint next_vdi = 0;

    for (;;) {
        g_autofree char *what = NULL;
        bool eof;
        bool stop;

        if (s->d.vdi != NULL && s->d.last_number != NULL)
            what = g_strdup_printf("disk '%s' after chunk %s", s->d.vdi->ref,
                                   s->d.last_number);
        else
            what = g_strdup_printf("'%s'", r->name);
        if (!next_entry(r, what, &eof, error))
            return false;
        if (eof)
            break;
        switch (r->e.kind) {
        case ENTRY_DIR:
            continue;
        case ENTRY_XXHASH:
        case ENTRY_SHA1:
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                        "checksum entry '%s' does not follow its chunk",
                        r->e.path);
            return false;
        case ENTRY_OTHER:
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                        "unexpected entry '%s' (expected 'REF/NUMBER' chunks, each followed by 'REF/NUMBER.xxhash' or 'REF/NUMBER.checksum')",
                        r->e.path);
            return false;
        case ENTRY_CHUNK:
            break;
        }
        if (s->d.vdi == NULL || strcmp(s->d.vdi->ref, r->e.folder) != 0) {
            g_autofree char *folder = g_strdup(r->e.folder);

            if (!disk_switch(s, folder, &next_vdi, &stop, error))
                return false;
            if (stop)
                return true;
        }
        if (!disk_chunk(s, error))
            return false;
    }
    /* The end of the tar stream: what follows is padding, but a
     * compressed stream's checksums come after it. */
    if (s->d.vdi != NULL) {
        bool was_target = s->d.deliver && s->only_ref != NULL;

        if (!disk_finish(s, error))
            return false;
        if (was_target)
            return xva_input_finish(r->in, error);
    }
    for (; next_vdi < vdis->len; next_vdi++) {
        const struct xva_vdi *v = vdis->pdata[next_vdi];

        if (!v->has_data)
            break;
        if (!disk_absent(s, v, NULL, error))
            return false;
        if (s->only_ref != NULL && strcmp(s->only_ref, v->ref) == 0)
            return xva_input_finish(r->in, error);
    }
    if (s->only_ref != NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NOT_FOUND,
                    "disk '%s' is not in the stream", s->only_ref);
        return false;
    }
    return xva_input_finish(r->in, error);
}

bool
xva_reader_stream(struct xva_reader *r, const char *only_ref,
                  const struct xva_stream_ops *ops, void *opaque,
                  GError **error)
{
    static const struct xva_stream_ops no_ops = {0};
    struct stream s = {
        .r = r,
        .only_ref = only_ref,
        .ops = ops != NULL ? ops : &no_ops,
        .opaque = opaque,
    };
    GError *err = NULL;
    bool ok;

    if (r->streamed) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL,
                    "internal error: xva_reader_stream() called twice on '%s'",
                    r->name);
        return false;
    }
    r->streamed = true;
    if (only_ref != NULL && !check_only_ref(r, only_ref, error))
        return false;
    s.hasher = xva_hasher_new();
    ok = stream_entries(&s, &err);
    if (!ok && s.p.state != PENDING_NONE) {
        /* Report problems in stream order: a bad chunk read earlier wins
         * over what was found after it. */
        GError *first = NULL;

        if (!pending_flush(&s, &first)) {
            g_clear_error(&err);
            err = first;
        }
    }
    xva_hasher_free(s.hasher);
    g_free(s.p.number);
    g_free(s.d.last_number);
    if (!ok)
        g_propagate_error(error, err);
    return ok;
}
