/* fuzz-guest-rules: feed raw bytes to the guest rules loader and, when
 * they load, match the set and every ${FACT} template against a fixed set
 * of inspection facts (no appliance: the operations need a guest). */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "guest/guest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(guest_rule_set) rs =
        guest_rule_set_load_data("fuzz.yaml", "/nonexistent", (const char *)data, size, NULL);
    g_autoptr(GHashTable) facts = NULL;
    g_autofree char *json = NULL;

    if (rs == NULL)
        return 0;
    facts = g_hash_table_new(g_str_hash, g_str_equal);
    g_hash_table_insert(facts, (char *)"os", (char *)"linux");
    g_hash_table_insert(facts, (char *)"distro", (char *)"debian");
    g_hash_table_insert(facts, (char *)"major", (char *)"12");
    g_hash_table_insert(facts, (char *)"partitioned", (char *)"true");
    (void)guest_rule_set_matches(rs, facts);
    json = guest_facts_json(facts);
    return 0;
}
