/* Unit tests of engine/steps' registry and chain builder: the registry's
 * placement data is consistent (every after: names an earlier kind), and
 * step_chain_build() gives each unit the chain the kinds declare -- keys,
 * order, dependencies, fingerprints -- with optional kinds only where
 * their wanted() says so.  Also the copy accounting and rollback's
 * reverse walk over recorded steps. */
#include "config.h"

#undef NDEBUG
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "steps/steps.h"

/* ---- a fake source and target, just enough for the kinds' inputs() ---- */

static bool
fake_shutdown(struct source *s, const struct source_vm *v, char **how,
              GError **error)
{
    return true;
}

static char *
fake_location(struct target *t, const char *vm)
{
    return g_strdup_printf("fake/%s", vm);
}

static bool
fake_start(struct target *t, const char *vm, bool *already, GError **error)
{
    return true;
}

static const struct source_ops src_ops_shutdown = {
    .kind = "fake",
    .shutdown = fake_shutdown,
};
static const struct source_ops src_ops_plain = {
    .kind = "fake",
};
static const struct target_ops tgt_ops_start = {
    .kind = "fake",
    .domain_location = fake_location,
    .start = fake_start,
};
static const struct target_ops tgt_ops_plain = {
    .kind = "fake",
    .domain_location = fake_location,
};

struct fixture {
    struct manifest_vm mvm;
    struct manifest_source msrc;
    struct manifest_target mtgt;
    struct source src;
    struct target tgt;
    struct source_disk sdisk[2];
    struct plan_vm *v;
};

static void
fixture_init(struct fixture *f, bool shutdown, bool fixup, bool start)
{
    memset(f, 0, sizeof *f);
    f->mvm.name = (char *)"web1";
    f->mvm.source = (char *)"src";
    f->mvm.target = (char *)"tgt";
    f->mvm.source_power = shutdown ? MANIFEST_SOURCE_POWER_SHUTDOWN
                                   : MANIFEST_SOURCE_POWER_LEAVE;
    f->mvm.start = start;
    f->mvm.rules = g_ptr_array_new();
    f->mvm.guest.rules = g_ptr_array_new();
    f->msrc.name = (char *)"src";
    f->mtgt.name = (char *)"tgt";
    f->mtgt.networks = g_ptr_array_new();
    f->src.ops = shutdown ? &src_ops_shutdown : &src_ops_plain;
    f->tgt.ops = start ? &tgt_ops_start : &tgt_ops_plain;
    f->tgt.mt = &f->mtgt;

    struct plan_vm *v = g_new0(struct plan_vm, 1);
    v->mvm = &f->mvm;
    v->msrc = &f->msrc;
    v->mtgt = &f->mtgt;
    v->src = &f->src;
    v->tgt = &f->tgt;
    v->sv = g_new0(struct source_vm, 1);
    v->sv->name = g_strdup("web1");
    v->sv->identity = g_strdup("identity=x\n");
    v->kvm_xml_sha256 = g_strdup("k");
    v->source_xml_sha256 = g_strdup("s");
    v->rules_text = g_strdup("");
    v->disks = g_ptr_array_new_with_free_func(plan_disk_free);
    for (guint i = 0; i < 2; i++) {
        struct plan_disk *d = g_new0(struct plan_disk, 1);
        f->sdisk[i].id = (char *)(i == 0 ? "Ref:1" : "Ref:2");
        f->sdisk[i].size = (i + 1) * 1024 * 1024;
        d->sdisk = &f->sdisk[i];
        d->dev = g_strdup(i == 0 ? "vda" : "vdb");
        d->location = g_strdup_printf("out/web1-%s.raw", d->dev);
        g_ptr_array_add(v->disks, d);
    }
    if (fixup)
        v->guest_sets = g_ptr_array_new();
    f->v = v;
}

static void
fixture_release(struct fixture *f)
{
    g_clear_pointer(&f->v->sv->name, g_free);
    g_clear_pointer(&f->v->sv->identity, g_free);
    g_free(f->v->sv);
    f->v->sv = NULL;
    plan_vm_free(f->v);
    g_ptr_array_unref(f->mvm.rules);
    g_ptr_array_unref(f->mvm.guest.rules);
    g_ptr_array_unref(f->mtgt.networks);
}

/* "key<-dep,dep" per step, one line each. */
static char *
chain_text(const struct plan_vm *v)
{
    GString *s = g_string_new(NULL);

    for (guint i = 0; i < v->steps->len; i++) {
        const struct plan_step *ps = v->steps->pdata[i];
        g_string_append(s, ps->key);
        for (guint k = 0; k < ps->deps->len; k++) {
            const struct plan_step *d = ps->deps->pdata[k];
            g_string_append_printf(s, "%s%s", k == 0 ? "<-" : ",", d->key);
        }
        g_string_append_c(s, '\n');
    }
    return g_string_free(s, FALSE);
}

static void
test_registry(void)
{
    for (size_t k = 0; step_kinds[k] != NULL; k++) {
        const struct step_ops *ops = step_kinds[k];

        assert(step_ops_find(ops->name) == ops);
        assert(ops->inputs != NULL && ops->describe != NULL &&
               ops->probe != NULL && ops->apply != NULL);
        assert(ops->scope < STEP_SCOPE_LAST);
        /* Accounting comes in pairs. */
        assert((ops->copy_size == NULL) == (ops->copy_measured == NULL));
        for (size_t a = 0; ops->after != NULL && ops->after[a] != NULL; a++) {
            const struct step_ops *dep = step_ops_find(ops->after[a]);
            size_t at = 0;

            assert(dep != NULL);
            while (step_kinds[at] != dep)
                at++;
            /* A dependency comes earlier in chain order, and a move's
             * one step depends on nothing. */
            assert(at < k);
            assert(ops->scope != STEP_SCOPE_MOVE);
        }
        for (size_t j = k + 1; step_kinds[j] != NULL; j++)
            assert(strcmp(step_kinds[j]->name, ops->name) != 0);
    }
    assert(step_ops_find("no-such-kind") == NULL);
    assert(step_kind_is_move("host-migrate"));
    assert(!step_kind_is_move("disk-copy"));
    assert(!step_kind_is_move("no-such-kind"));
}

static void
test_chain_full(void)
{
    struct fixture f;
    g_autofree char *text = NULL;

    fixture_init(&f, true, true, true);
    step_chain_build(f.v);
    text = chain_text(f.v);
    assert(strcmp(text,
                  "web1/source-shutdown\n"
                  "web1/disk-copy/vda<-web1/source-shutdown\n"
                  "web1/disk-copy/vdb<-web1/source-shutdown\n"
                  "web1/guest-fixup<-web1/disk-copy/vda,web1/disk-copy/vdb\n"
                  "web1/domain-convert<-web1/guest-fixup\n"
                  "web1/domain-define<-web1/domain-convert,web1/guest-fixup,"
                  "web1/disk-copy/vda,web1/disk-copy/vdb\n"
                  "web1/domain-start<-web1/domain-define\n") == 0);
    for (guint i = 0; i < f.v->steps->len; i++) {
        const struct plan_step *ps = f.v->steps->pdata[i];
        g_autofree char *fp = step_fingerprint(ps->ops, ps->inputs);
        assert(ps->inputs != NULL);
        assert(strcmp(fp, ps->fingerprint) == 0);
        assert(strlen(ps->fingerprint) == 64);
        assert(ps->vm == f.v);
        assert((ps->disk != NULL) == (ps->ops->scope == STEP_SCOPE_DISK));
    }
    fixture_release(&f);
}

static void
test_chain_minimal(void)
{
    struct fixture f;
    g_autofree char *text = NULL;

    /* No shutdown (leave), no guest repair, a target that runs nothing. */
    fixture_init(&f, false, false, false);
    step_chain_build(f.v);
    text = chain_text(f.v);
    assert(strcmp(text,
                  "web1/disk-copy/vda\n"
                  "web1/disk-copy/vdb\n"
                  "web1/domain-convert\n"
                  "web1/domain-define<-web1/domain-convert,"
                  "web1/disk-copy/vda,web1/disk-copy/vdb\n") == 0);
    fixture_release(&f);

    /* A VM that failed to evaluate gets no steps. */
    fixture_init(&f, true, true, true);
    f.v->error = g_strdup("boom");
    step_chain_build(f.v);
    assert(f.v->steps != NULL && f.v->steps->len == 0);
    fixture_release(&f);
}

static void
test_accounting(void)
{
    struct fixture f;

    fixture_init(&f, false, false, false);
    step_chain_build(f.v);
    uint64_t total = 0, left = 0;
    for (guint i = 0; i < f.v->steps->len; i++) {
        struct plan_step *ps = f.v->steps->pdata[i];
        ps->action = PLAN_ACTION_TODO;
        total += step_copy_size(ps);
    }
    assert(total == 3 * 1024 * 1024);
    /* vda done, vdb resumed at 512 KiB. */
    ((struct plan_step *)f.v->steps->pdata[0])->action = PLAN_ACTION_DONE;
    ((struct plan_step *)f.v->steps->pdata[1])->action = PLAN_ACTION_RESUME;
    ((struct plan_step *)f.v->steps->pdata[1])->resume_from = 512 * 1024;
    for (guint i = 0; i < f.v->steps->len; i++)
        left += step_copy_remaining(f.v->steps->pdata[i]);
    assert(left == 2 * 1024 * 1024 - 512 * 1024);
    assert(step_vm_windowed(f.v));
    for (guint i = 0; i < f.v->steps->len; i++)
        ((struct plan_step *)f.v->steps->pdata[i])->action = PLAN_ACTION_DONE;
    assert(!step_vm_windowed(f.v));
    fixture_release(&f);

    double bytes = -1, seconds = -1;
    step_copy_measured("disk-copy", "k", "{\"size\":4096,\"seconds\":2.5}", &bytes, &seconds);
    assert(bytes == 4096 && seconds == 2.5);
    step_copy_measured("domain-define", "k", "{\"size\":4096,\"seconds\":2.5}", &bytes, &seconds);
    assert(bytes == 0 && seconds == 0);
    step_copy_measured("no-such-kind", "k", NULL, &bytes, &seconds);
    assert(bytes == 0 && seconds == 0);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/steps/registry", test_registry);
    g_test_add_func("/steps/chain-full", test_chain_full);
    g_test_add_func("/steps/chain-minimal", test_chain_minimal);
    g_test_add_func("/steps/accounting", test_accounting);
    return g_test_run();
}
