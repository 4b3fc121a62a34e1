/* XVA chunk checksums (XXH64 or SHA-1), with a one-slot helper thread so
 * that hashing a chunk overlaps reading the next one from the archive. */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <string.h>
#include <openssl/evp.h>
#include <xxhash.h>

#include "util/error.h"
#include "xva/xva-priv.h"

/* Chunks at least this large are hashed on the helper thread; smaller
 * ones (keep-alives, short tails, fuzz inputs) are hashed at once. */
#define XVA_HASH_ASYNC_MIN (256u * 1024)

struct xva_hasher {
    GThread *thread;          /* NULL until the first large job */
    /* pthread rather than GMutex/GCond: GLib implements those with raw
     * futexes, which ThreadSanitizer cannot see. */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool busy;                /* a job is queued or running */
    bool quit;
    /* The job (written by the caller while !busy). */
    enum xva_sum_kind kind;
    const unsigned char *data;
    size_t len;
    /* Its result (written by whoever computes it). */
    uint64_t xxh;
    unsigned char sha1[20];
    bool sha1_ok;
};

static void
compute(struct xva_hasher *h)
{
    if (h->kind == XVA_SUM_XXHASH) {
        h->xxh = XXH64(h->data, h->len, 0);
    } else {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;

        h->sha1_ok = EVP_Digest(h->data, h->len, md, &n, EVP_sha1(), NULL) == 1 &&
                     n == 20;
        if (h->sha1_ok)
            memcpy(h->sha1, md, 20);
    }
}

static gpointer
worker(gpointer opaque)
{
    struct xva_hasher *h = opaque;

    pthread_mutex_lock(&h->lock);
    for (;;) {
        while (!h->busy && !h->quit)
            pthread_cond_wait(&h->cond, &h->lock);
        if (!h->busy)
            break;
        pthread_mutex_unlock(&h->lock);
        compute(h);
        pthread_mutex_lock(&h->lock);
        h->busy = false;
        pthread_cond_broadcast(&h->cond);
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

struct xva_hasher *
xva_hasher_new(void)
{
    struct xva_hasher *h = g_new0(struct xva_hasher, 1);

    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->cond, NULL);
    return h;
}

static void
wait_idle(struct xva_hasher *h)
{
    pthread_mutex_lock(&h->lock);
    while (h->busy)
        pthread_cond_wait(&h->cond, &h->lock);
    pthread_mutex_unlock(&h->lock);
}

void
xva_hasher_free(struct xva_hasher *h)
{
    if (h == NULL)
        return;
    if (h->thread != NULL) {
        pthread_mutex_lock(&h->lock);
        h->quit = true;
        pthread_cond_broadcast(&h->cond);
        pthread_mutex_unlock(&h->lock);
        g_thread_join(h->thread);
    }
    pthread_mutex_destroy(&h->lock);
    pthread_cond_destroy(&h->cond);
    g_free(h);
}

void
xva_hasher_start(struct xva_hasher *h, enum xva_sum_kind kind,
                 const void *data, size_t len)
{
    wait_idle(h);
    h->kind = kind;
    h->data = data;
    h->len = len;
    if (len >= XVA_HASH_ASYNC_MIN && h->thread == NULL)
        h->thread = g_thread_try_new("xva-hash", worker, h, NULL);
    if (len < XVA_HASH_ASYNC_MIN || h->thread == NULL) {
        compute(h);
        return;
    }
    pthread_mutex_lock(&h->lock);
    h->busy = true;
    pthread_cond_signal(&h->cond);
    pthread_mutex_unlock(&h->lock);
}

static bool
parse_hex(const char *s, size_t n, unsigned char *out)
{
    for (size_t i = 0; i < n; i++) {
        int hi = g_ascii_xdigit_value(s[2 * i]);
        int lo = g_ascii_xdigit_value(s[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return false;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return true;
}

bool
xva_hasher_check(struct xva_hasher *h, const char *ref, const char *number,
                 const char *text, GError **error)
{
    g_autofree char *want = g_strstrip(g_strdup(text));
    size_t wlen = strlen(want);

    wait_idle(h);
    if (h->kind == XVA_SUM_XXHASH) {
        unsigned char b[8];
        uint64_t expect = 0;

        if (wlen != 16 || !parse_hex(want, 8, b)) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                        "disk '%s' chunk %s: malformed xxhash entry '%s' (expected 16 hex digits)",
                        ref, number, want);
            return false;
        }
        for (int i = 0; i < 8; i++)
            expect = expect << 8 | b[i];
        if (h->xxh != expect) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CHECKSUM,
                        "disk '%s' chunk %s: checksum mismatch (xxhash: expected %s, got %016" PRIX64 ")",
                        ref, number, want, h->xxh);
            return false;
        }
    } else {
        unsigned char expect[20];
        char hex[41];

        if (wlen != 40 || !parse_hex(want, 20, expect)) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_FORMAT,
                        "disk '%s' chunk %s: malformed checksum entry '%s' (expected 40 hex digits of SHA-1)",
                        ref, number, want);
            return false;
        }
        if (!h->sha1_ok) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL,
                        "internal error: libcrypto: SHA-1 failed");
            return false;
        }
        if (memcmp(h->sha1, expect, 20) != 0) {
            for (int i = 0; i < 20; i++) {
                hex[2 * i] = "0123456789abcdef"[h->sha1[i] >> 4];
                hex[2 * i + 1] = "0123456789abcdef"[h->sha1[i] & 15];
            }
            hex[40] = '\0';
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CHECKSUM,
                        "disk '%s' chunk %s: checksum mismatch (sha1: expected %s, got %s)",
                        ref, number, want, hex);
            return false;
        }
    }
    return true;
}
