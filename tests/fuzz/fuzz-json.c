/* fuzz-json: raw bytes → the JSON reader (step outputs, saved plans). */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "util/jsonread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jval *v = jval_parse("fuzz.json", (const char *)data, (gssize)size, NULL);

    if (v != NULL) {
        (void)jval_get_string(v, "xml", NULL);
        (void)jval_get_number(v, "size", 0);
    }
    jval_free(v);
    return 0;
}
