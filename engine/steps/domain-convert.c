/* domain-convert: record the KVM domain XML evaluated from the source's
 * Xen domain XML, the rule sets and the manifest's mappings.  The XML is
 * computed at plan time (so a rule change re-plans); this step keeps it
 * in the state store for inspection and for the define step. */
#include "config.h"

#include <string.h>
#include <glib.h>

#include "convert/convert.h"
#include "steps/steps.h"
#include "util/json.h"
#include "util/jsonread.h"

static char *
convert_inputs(const struct plan_step *ps)
{
    const struct plan_vm *v = ps->vm;
    const char *src_digest = v->source_xml_sha256;
    const char *out_digest = v->kvm_xml_sha256;
    g_autoptr(GString) disks = g_string_new(NULL);
    g_autoptr(GString) nets = g_string_new(NULL);
    g_autofree char *rules = g_strdelimit(g_strdup(v->rules_text), "\n", ' ');

    for (guint i = 0; i < v->disks->len; i++) {
        const struct plan_disk *d = v->disks->pdata[i];
        g_string_append_printf(disks, "%s%s=%s", i ? " " : "", d->dev, d->location);
    }
    for (guint i = 0; i < v->mtgt->networks->len; i++) {
        const struct manifest_netmap *n = v->mtgt->networks->pdata[i];
        g_string_append_printf(nets, "%s%d:%s=%d:%s", i ? " " : "", (int)n->from,
                               n->from_value ? n->from_value : "*", (int)n->to,
                               n->to_value);
    }
    return g_strdup_printf("disk_format=%s\ndisks=%s\nmemory=%" G_GUINT64_FORMAT "\n"
                           "name=%s\nnetworks=%s\nresult_sha256=%s\nrules=%s\n"
                           "source_xml_sha256=%s\nvcpus=%u\n",
                           disk_format_name(v->mvm->disk_format), disks->str,
                           v->mvm->memory, manifest_vm_target_name(v->mvm),
                           nets->str, out_digest, g_strstrip(rules), src_digest,
                           v->mvm->vcpus);
}

static char *
convert_describe(const struct plan_step *ps)
{
    const struct plan_vm *v = ps->vm;
    g_autoptr(GString) s = g_string_new(NULL);

    for (guint i = 0; i < v->mvm->rules->len; i++)
        g_string_append_printf(s, "%s%s", i ? ", " : "rules ",
                               (const char *)v->mvm->rules->pdata[i]);
    g_string_append_printf(s, "; %u change%s", v->changes->len,
                           v->changes->len == 1 ? "" : "s");
    return g_string_free(g_steal_pointer(&s), FALSE);
}

static bool
convert_probe(const struct plan_step *ps, struct target *t, const char *outputs,
              char **why)
{
    return true;
}

static bool
convert_apply(struct plan_step *ps, struct step_ctx *ctx, char **outputs,
              GError **error)
{
    g_autofree char *xml = step_domain_xml(ps->vm, ctx->st, error);
    struct json j;

    if (xml == NULL)
        return false;
    /* What is recorded here is what domain-define defines: refuse XML
     * that does not parse back to this VM's name. */
    if (!convert_xml_check_domain(xml, manifest_vm_target_name(ps->vm->mvm), error) ||
        !convert_xml_check_schema(xml, manifest_vm_target_name(ps->vm->mvm), error))
        return false;
    json_init(&j, false);
    json_begin_object(&j);
    json_kv_string(&j, "xml", xml);
    json_end_object(&j);
    *outputs = json_steal(&j);
    json_release(&j);
    return true;
}

static char *
convert_domain_xml(const struct state_step_record *rec)
{
    g_autoptr(jval) out = NULL;

    if (rec->status != STATE_STEP_DONE || rec->outputs == NULL)
        return NULL;
    out = jval_parse(rec->key, rec->outputs, -1, NULL);
    return g_strdup(jval_get_string(out, "xml", NULL));
}

static const char *const convert_after[] = {"guest-fixup", NULL};

const struct step_ops step_domain_convert = {
    .name = "domain-convert",
    .version = 1,
    .scope = STEP_SCOPE_VM,
    .after = convert_after,
    .checkpointed = false,
    .windowed = true,
    .domain_xml = convert_domain_xml,
    .inputs = convert_inputs,
    .describe = convert_describe,
    .probe = convert_probe,
    .apply = convert_apply,
};
