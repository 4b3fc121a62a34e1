/* engine/xva internals shared by reader.c and checksum.c; not for other
 * folders (they include xva/xva.h). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

enum xva_sum_kind {
    XVA_SUM_XXHASH,   /* "REF/NUMBER.xxhash": XXH64 seed 0, 16 hex digits */
    XVA_SUM_SHA1,     /* "REF/NUMBER.checksum": SHA-1, 40 hex digits */
};

/* ------------------------------------------------------------------ */
/* checksum.c: chunk checksums, computed on a helper thread for large
 * chunks so that hashing one chunk overlaps reading the next. */

struct xva_hasher;

/* A hasher with one job slot; the thread starts on first large job. */
struct xva_hasher *xva_hasher_new(void);
/* Waits for a running job, stops the thread; NULL is a no-op. */
void xva_hasher_free(struct xva_hasher *h);
/* Start hashing len bytes of data (borrowed until xva_hasher_check()
 * returns).  The previous job must have been checked. */
void xva_hasher_start(struct xva_hasher *h, enum xva_sum_kind kind,
                      const void *data, size_t len);
/* Wait for the job and compare its digest with text, the content of the
 * checksum entry (whitespace is trimmed; hex case does not matter).
 * Fails with CONVOY_ERROR_FORMAT for a malformed entry and
 * CONVOY_ERROR_CHECKSUM for a mismatch, naming disk ref and chunk
 * number. */
bool xva_hasher_check(struct xva_hasher *h, const char *ref,
                      const char *number, const char *text, GError **error);

/* ------------------------------------------------------------------ */
/* input.c: the bytes under the tar reader, decompressed here when they
 * are gzip or zstd so that the compressed stream's own checksums (gzip
 * CRC-32 and ISIZE, zstd frame checksums) are checked. */

struct xva_input;

/* Read fd (borrowed, >= 0) or, when fd is -1, mem_len bytes at mem
 * (borrowed).  name is used in messages. */
struct xva_input *xva_input_new(int fd, const void *mem, size_t mem_len,
                                const char *name);
void xva_input_free(struct xva_input *in);
/* The next decoded bytes: *data (borrowed until the next call) and *len,
 * 0 at the end.  Fails with CONVOY_ERROR_CHECKSUM when a gzip trailer or
 * a zstd frame checksum does not match, CONVOY_ERROR_FORMAT for bad or
 * truncated compressed data, CONVOY_ERROR_IO when the file cannot be
 * read; the messages name the file. */
bool xva_input_read(struct xva_input *in, const void **data, size_t *len,
                    GError **error);
/* Skip up to n decoded bytes without reading them when that is cheap (an
 * uncompressed regular file or memory); returns the bytes skipped (0 when
 * the caller must read them instead). */
int64_t xva_input_skip(struct xva_input *in, int64_t n);
/* Decode the rest of a compressed stream, checking its checksums (what
 * follows the tar stream's end is only padding). */
bool xva_input_finish(struct xva_input *in, GError **error);
/* Bytes consumed from the file or memory (compressed bytes). */
uint64_t xva_input_bytes_read(const struct xva_input *in);
