/* Byte sizes: parsing "8GiB"/"512M"/"1073741824" and formatting "1.5 GiB". */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Parse a size with an optional unit (B, K/KiB, M/MiB, G/GiB, T/TiB are
 * powers of 1024; KB, MB, GB, TB powers of 1000).  false on bad syntax or
 * overflow. */
bool size_parse(const char *s, uint64_t *out);
/* Human form with one decimal ("1.5 GiB"); returns a new string. */
char *size_format(uint64_t bytes);
