/* engine/xva internals shared by reader.c and checksum.c; not for other
 * folders (they include xva/xva.h). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
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
