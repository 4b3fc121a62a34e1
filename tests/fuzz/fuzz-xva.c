/* fuzz-xva: raw bytes → the XVA stream reader from memory, strict and
 * lenient, streaming every disk through callbacks that touch each byte.
 * Errors are the expected outcome and are dropped. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "xva/xva.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
fz_data(void *opaque, const struct xva_vdi *vdi, uint64_t offset,
        const void *buf, size_t len, GError **error)
{
    const unsigned char *p = buf;
    unsigned *sum = opaque;

    /* Read every delivered byte so the sanitizers check the range. */
    for (size_t i = 0; i < len; i++)
        *sum += p[i];
    return true;
}

static bool
fz_zero(void *opaque, const struct xva_vdi *vdi, uint64_t offset,
        uint64_t len, GError **error)
{
    return true;
}

static const struct xva_stream_ops fz_ops = {
    .data = fz_data,
    .zero = fz_zero,
};

static void
run(const uint8_t *data, size_t size, unsigned flags)
{
    struct xva_reader *r = xva_reader_open_memory(data, size, flags, NULL);
    unsigned sum = 0;

    if (r == NULL)
        return;
    (void)xva_reader_ova_xml(r, NULL);
    (void)xva_reader_stream(r, NULL, &fz_ops, &sum, NULL);
    (void)xva_reader_bytes_read(r);
    xva_reader_free(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run(data, size, 0);
    run(data, size, XVA_OPEN_LENIENT);
    return 0;
}
