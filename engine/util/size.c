/* Byte size parsing and formatting. */
#include "config.h"

#include <glib.h>

#include "util/size.h"

static const struct {
    const char *suffix;
    uint64_t mult;
} units[] = {
    {"", 1}, {"B", 1},
    {"K", 1ULL << 10}, {"KiB", 1ULL << 10}, {"KB", 1000ULL},
    {"M", 1ULL << 20}, {"MiB", 1ULL << 20}, {"MB", 1000ULL * 1000},
    {"G", 1ULL << 30}, {"GiB", 1ULL << 30}, {"GB", 1000ULL * 1000 * 1000},
    {"T", 1ULL << 40}, {"TiB", 1ULL << 40}, {"TB", 1000ULL * 1000 * 1000 * 1000},
};

bool
size_parse(const char *s, uint64_t *out)
{
    const char *p = s;
    uint64_t n = 0;

    if (s == NULL || !g_ascii_isdigit(*p))
        return false;
    while (g_ascii_isdigit(*p)) {
        unsigned d = (unsigned)(*p - '0');
        if (n > (UINT64_MAX - d) / 10)
            return false;
        n = n * 10 + d;
        p++;
    }
    while (*p == ' ')
        p++;
    for (size_t i = 0; i < G_N_ELEMENTS(units); i++) {
        if (g_str_equal(p, units[i].suffix)) {
            if (units[i].mult != 0 && n > UINT64_MAX / units[i].mult)
                return false;
            *out = n * units[i].mult;
            return true;
        }
    }
    return false;
}

char *
size_format(uint64_t bytes)
{
    static const char *const names[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)bytes;
    size_t i = 0;

    if (bytes < 1024)
        return g_strdup_printf("%" G_GUINT64_FORMAT " B", bytes);
    while (v >= 1024.0 && i + 1 < G_N_ELEMENTS(names)) {
        v /= 1024.0;
        i++;
    }
    return g_strdup_printf("%.1f %s", v, names[i]);
}
