/* Hash helpers on GChecksum (SHA-256) and libxxhash (XXH64). */
#include "config.h"

#include <errno.h>
#include <glib.h>
#include <xxhash.h>

#include "util/hash.h"

char *
hash_sha256_hex(const void *data, size_t len)
{
    return g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, len);
}

char *
hash_sha256_file(const char *path)
{
    g_autofree char *buf = NULL;
    size_t len = 0;

    if (!g_file_get_contents(path, &buf, &len, NULL)) {
        errno = ENOENT;
        return NULL;
    }
    return hash_sha256_hex(buf, len);
}

uint64_t
hash_xxh64(const void *data, size_t len)
{
    return XXH64(data, len, 0);
}
