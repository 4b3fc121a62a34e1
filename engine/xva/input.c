/* The bytes under the tar reader: a file, a pipe or memory, decompressed
 * here when it is gzip or zstd so that the compressed stream's own
 * checksums are checked (libarchive's gzip filter never checks the CRC-32
 * of its trailer).  gzip through zlib (CRC-32 and ISIZE of every member),
 * zstd through libzstd (the frame checksum, when the frame has one). */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "util/error.h"
#include "xva/xva-priv.h"

/* Bytes read from the file, and decompressed, at a time (1 MiB measured
 * fastest: see docs/internals/xva.md, "Throughput"). */
#define INPUT_BLOCK (1u * 1024 * 1024)

enum input_codec {
    INPUT_PLAIN,
    INPUT_GZIP,
    INPUT_ZSTD,
};

struct xva_input {
    char *name;                   /* for messages */
    int fd;                       /* borrowed; -1 for memory */
    bool seekable;                /* a regular file: skips seek */
    const unsigned char *mem;     /* memory input (borrowed) */
    size_t mem_len;
    size_t mem_pos;
    bool raw_eof;
    uint64_t raw_bytes;           /* consumed from the file */
    unsigned char *raw;           /* INPUT_BLOCK bytes, fd input */
    const unsigned char *in;      /* compressed bytes not yet decoded */
    size_t in_len;
    enum input_codec codec;
    bool started;                 /* the codec is known */
    bool done;                    /* the compressed stream has ended */
    unsigned char *out;           /* INPUT_BLOCK decoded bytes */
    z_stream z;
    bool z_live;
    bool member_open;             /* gzip: inside a member */
    ZSTD_DStream *zs;
    size_t zs_hint;               /* last ZSTD_decompressStream result */
};

struct xva_input *
xva_input_new(int fd, const void *mem, size_t mem_len, const char *name)
{
    struct xva_input *in = g_new0(struct xva_input, 1);

    in->name = g_strdup(name);
    in->fd = fd;
    in->mem = mem;
    in->mem_len = mem_len;
    if (fd >= 0) {
        struct stat sb;

        in->seekable = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode);
        in->raw = g_malloc(INPUT_BLOCK);
    }
    return in;
}

void
xva_input_free(struct xva_input *in)
{
    if (in == NULL)
        return;
    if (in->z_live)
        inflateEnd(&in->z);
    ZSTD_freeDStream(in->zs);
    g_free(in->raw);
    g_free(in->out);
    g_free(in->name);
    g_free(in);
}

uint64_t
xva_input_bytes_read(const struct xva_input *in)
{
    return in->raw_bytes;
}

/* Refill in->in from the file or memory; false on a read error.  At the
 * end in->raw_eof is set and in->in_len stays 0. */
static bool
raw_fill(struct xva_input *in, GError **error)
{
    if (in->in_len != 0 || in->raw_eof)
        return true;
    if (in->fd < 0) {
        in->in = in->mem + in->mem_pos;
        in->in_len = in->mem_len - in->mem_pos;
        in->mem_pos = in->mem_len;
    } else {
        ssize_t n;

        do
            n = read(in->fd, in->raw, INPUT_BLOCK);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
            int errsv = errno;

            g_set_error(error, CONVOY_ERROR, convoy_error_from_errno(errsv),
                        "cannot read '%s': %s", in->name, g_strerror(errsv));
            return false;
        }
        in->in = in->raw;
        in->in_len = (size_t)n;
    }
    in->raw_bytes += in->in_len;
    if (in->in_len == 0)
        in->raw_eof = true;
    return true;
}

static void
take_in(struct xva_input *in, size_t n)
{
    in->in += n;
    in->in_len -= n;
}

/* Look at the first bytes and choose the codec. */
static bool
start(struct xva_input *in, GError **error)
{
    static const unsigned char gz[2] = {0x1f, 0x8b};
    static const unsigned char zst[4] = {0x28, 0xb5, 0x2f, 0xfd};

    in->started = true;
    if (!raw_fill(in, error))
        return false;
    if (in->in_len >= 2 && memcmp(in->in, gz, 2) == 0) {
        in->codec = INPUT_GZIP;
        /* 16 + MAX_WBITS: a gzip wrapper, whose CRC-32 and ISIZE zlib
         * checks at the end of each member. */
        if (inflateInit2(&in->z, 16 + MAX_WBITS) != Z_OK) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL,
                        "internal error: zlib: cannot initialise an inflater");
            return false;
        }
        in->z_live = true;
        in->member_open = true;
    } else if (in->in_len >= 4 && memcmp(in->in, zst, 4) == 0) {
        in->codec = INPUT_ZSTD;
        in->zs = ZSTD_createDStream();
        if (in->zs == NULL) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL,
                        "internal error: zstd: cannot allocate a decoder");
            return false;
        }
    } else {
        in->codec = INPUT_PLAIN;
        return true;
    }
    in->out = g_malloc(INPUT_BLOCK);
    return true;
}

static bool
truncated(struct xva_input *in, const char *codec, GError **error)
{
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                "'%s': %s: the compressed stream ends early (the file is truncated)",
                in->name, codec);
    return false;
}

/* Decode the next gzip bytes into in->out. */
static bool
gzip_read(struct xva_input *in, size_t *len, GError **error)
{
    *len = 0;
    while (*len == 0 && !in->done) {
        int rc;

        if (!raw_fill(in, error))
            return false;
        if (!in->member_open) {
            /* Between members: another member, or the end (trailing
             * zeros, as tape blocking leaves, are ignored). */
            if (in->in_len == 0) {
                in->done = true;
                break;
            }
            if (in->in[0] == 0x1f) {
                if (inflateReset(&in->z) != Z_OK)
                    return truncated(in, "gzip", error);
                in->member_open = true;
            } else if (in->in[0] == 0) {
                take_in(in, 1);
                continue;
            } else {
                g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                            "'%s': gzip: unexpected bytes after the end of the compressed stream",
                            in->name);
                return false;
            }
        }
        if (in->in_len == 0)
            return truncated(in, "gzip", error);
        in->z.next_in = (Bytef *)in->in;
        in->z.avail_in = (uInt)MIN(in->in_len, (size_t)G_MAXUINT32);
        in->z.next_out = in->out;
        in->z.avail_out = INPUT_BLOCK;
        rc = inflate(&in->z, Z_NO_FLUSH);
        take_in(in, (size_t)((const unsigned char *)in->z.next_in - in->in));
        *len = INPUT_BLOCK - in->z.avail_out;
        if (rc == Z_STREAM_END) {
            in->member_open = false;
        } else if (rc == Z_DATA_ERROR && in->z.msg != NULL &&
                   (strcmp(in->z.msg, "incorrect data check") == 0 ||
                    strcmp(in->z.msg, "incorrect length check") == 0)) {
            /* zlib's words for a trailer that does not match. */
            bool crc = strcmp(in->z.msg, "incorrect data check") == 0;

            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CHECKSUM,
                        crc ? "'%s': gzip checksum mismatch: the CRC-32 of the decompressed data differs from the one in the gzip trailer"
                            : "'%s': gzip checksum mismatch: the length of the decompressed data differs from the one in the gzip trailer",
                        in->name);
            return false;
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                        "'%s': gzip: invalid compressed data (%s)", in->name,
                        in->z.msg != NULL ? in->z.msg : zError(rc));
            return false;
        }
    }
    return true;
}

/* Decode the next zstd bytes into in->out. */
static bool
zstd_read(struct xva_input *in, size_t *len, GError **error)
{
    *len = 0;
    while (*len == 0 && !in->done) {
        ZSTD_inBuffer zin;
        ZSTD_outBuffer zout = {in->out, INPUT_BLOCK, 0};
        size_t rc;

        if (!raw_fill(in, error))
            return false;
        if (in->in_len == 0) {
            /* The end of the file: the last frame must be complete. */
            if (in->zs_hint != 0)
                return truncated(in, "zstd", error);
            in->done = true;
            break;
        }
        zin = (ZSTD_inBuffer){in->in, in->in_len, 0};
        rc = ZSTD_decompressStream(in->zs, &zout, &zin);
        take_in(in, zin.pos);
        *len = zout.pos;
        if (ZSTD_isError(rc)) {
            if (ZSTD_getErrorCode(rc) == ZSTD_error_checksum_wrong)
                g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CHECKSUM,
                            "'%s': zstd checksum mismatch: the checksum of the decompressed data differs from the one in the zstd frame",
                            in->name);
            else
                g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                            "'%s': zstd: invalid compressed data (%s)", in->name,
                            ZSTD_getErrorName(rc));
            return false;
        }
        in->zs_hint = rc;
    }
    return true;
}

bool
xva_input_read(struct xva_input *in, const void **data, size_t *len,
               GError **error)
{
    *data = NULL;
    *len = 0;
    if (!in->started && !start(in, error))
        return false;
    switch (in->codec) {
    case INPUT_PLAIN:
        if (!raw_fill(in, error))
            return false;
        *data = in->in;
        *len = in->in_len;
        take_in(in, in->in_len);
        return true;
    case INPUT_GZIP:
        *data = in->out;
        return gzip_read(in, len, error);
    case INPUT_ZSTD:
        *data = in->out;
        return zstd_read(in, len, error);
    }
    g_return_val_if_reached(false);
}

int64_t
xva_input_skip(struct xva_input *in, int64_t n)
{
    int64_t done = 0;

    /* Only an uncompressed file or memory can skip without reading. */
    if (!in->started || in->codec != INPUT_PLAIN || n <= 0)
        return 0;
    if (in->in_len != 0) {
        size_t k = (size_t)MIN((uint64_t)n, (uint64_t)in->in_len);

        take_in(in, k);
        done += (int64_t)k;
        n -= (int64_t)k;
    }
    if (n == 0 || in->raw_eof)
        return done;
    if (in->fd < 0) {
        size_t k = (size_t)MIN((uint64_t)n, (uint64_t)(in->mem_len - in->mem_pos));

        in->mem_pos += k;
        in->raw_bytes += k;
        return done + (int64_t)k;
    }
    if (in->seekable) {
        off_t here = lseek(in->fd, 0, SEEK_CUR);
        struct stat sb;

        /* Never past the end: a short file must read as truncated. */
        if (here >= 0 && fstat(in->fd, &sb) == 0 && sb.st_size > here) {
            int64_t k = MIN(n, (int64_t)(sb.st_size - here));

            if (lseek(in->fd, (off_t)k, SEEK_CUR) >= 0) {
                in->raw_bytes += (uint64_t)k;
                return done + k;
            }
        }
    }
    return done;
}

bool
xva_input_finish(struct xva_input *in, GError **error)
{
    if (!in->started || in->codec == INPUT_PLAIN)
        return true;
    while (!in->done) {
        const void *data;
        size_t len;

        if (!xva_input_read(in, &data, &len, error))
            return false;
    }
    return true;
}
