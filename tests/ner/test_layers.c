/* Layer tests: every intermediate value of the ner network against real spaCy's
 * (golden/layers/NN_*), fed with the golden attribute hashes so that the network is checked
 * apart from the tokenizer; and the action sequence, which must be identical. Both the plain
 * reference (tok2vec_net.c, parser_net.c) and the production path (t2v_fast.c) are checked. */
#include "test.h"
#include "npy.h"
#include "transition/biluo.h"
#include "nn/parser_net.h"
#include "nn/t2v_fast.h"
#include "nn/tok2vec_net.h"
#include "util/json.h"

#include <dirent.h>
#include <math.h>

#define TOL 5e-5 /* |a-b| <= TOL * (1 + |b|): fp32 sums in another order than numpy/blis */

typedef struct {
    const char *dir;
    int failed;
    double worst;
} trace_ctx;

static void compare(trace_ctx *c, const char *stage, const float *got, size_t rows, size_t cols)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.npy", c->dir, stage);
    npy_array a;
    if (npy_load(path, &a)) test_fail(__FILE__, __LINE__, "missing %s", path);
    if (a.count != rows * cols) test_fail(__FILE__, __LINE__, "%s: %zu values, expected %zu", path, a.count, rows * cols);
    const float *want = a.data;
    for (size_t k = 0; k < a.count; k++) {
        double d = fabs((double)got[k] - want[k]) / (1 + fabs(want[k]));
        if (d > c->worst) c->worst = d;
        if (!(d <= TOL))
            test_fail(__FILE__, __LINE__, "%s: row %zu col %zu: %.7g != %.7g", path, k / cols, k % cols, got[k], want[k]);
    }
    npy_free(&a);
}

static void on_t2v(void *ctx, const char *stage, const float *data, size_t rows, size_t cols)
{
    compare(ctx, stage, data, rows, cols);
}

typedef struct {
    trace_ctx *c;
    const biluo_moves *mv;
    npy_array feats, hidden, scores, valid;
    const json_value *actions;
    size_t nsteps;
} step_ctx;

static void on_step(void *vctx, size_t step, const int *feats, const float *hidden, const float *scores,
                    const uint8_t *valid, int chosen)
{
    step_ctx *s = vctx;
    const int32_t *wf = (const int32_t *)s->feats.data + step * 3;
    for (int f = 0; f < 3; f++)
        CHECKF(feats[f] == wf[f], "%s step %zu feature %d: %d != %d", s->c->dir, step, f, feats[f], wf[f]);
    int nc = s->mv->nclasses;
    const uint8_t *wv = (const uint8_t *)s->valid.data + step * nc;
    for (int k = 0; k < nc; k++)
        CHECKF(!valid[k] == !wv[k], "%s step %zu class %d: valid %d != %d", s->c->dir, step, k, valid[k], wv[k]);
    const float *wh = (const float *)s->hidden.data + step * 64, *ws = (const float *)s->scores.data + step * nc;
    for (int k = 0; k < 64; k++)
        CHECKF(fabs(hidden[k] - wh[k]) <= TOL * (1 + fabs(wh[k])), "%s step %zu hidden %d: %g != %g", s->c->dir, step, k,
               hidden[k], wh[k]);
    for (int k = 0; k < nc; k++)
        CHECKF(fabs(scores[k] - ws[k]) <= TOL * (1 + fabs(ws[k])), "%s step %zu score %d: %g != %g", s->c->dir, step, k,
               scores[k], ws[k]);
    char name[64];
    CHECKF(step < s->actions->u.arr.n, "%s: more steps than spaCy", s->c->dir);
    CHECK_EQ_STR(biluo_class_name(s->mv, chosen, name, sizeof name), s->actions->u.arr.items[step].u.str.ptr);
    s->nsteps++;
}

static int is_space_token(const char *s, size_t n)
{
    if (!n) return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr(" \t\n\r\v\f", s[i])) return 0;
    return 1;
}

TEST(layers_ner_network_matches_spacy)
{
    char err[512];
    thinc_model m;
    t2v_net t2v;
    parser_net pn;
    biluo_moves mv;
    CHECKF(tw_load(test_path("models/en_core_web_sm/ner/model"), &m, err, sizeof err) == 0, "%s", err);
    CHECKF(t2v_bind(&t2v, &m, 4, 96, 4, 1, 3, err, sizeof err) == 0, "%s", err);
    CHECKF(parser_net_bind(&pn, &m, 96, err, sizeof err) == 0, "%s", err);
    CHECKF(biluo_load(&mv, test_path("models/en_core_web_sm/ner/moves"), err, sizeof err) == 0, "%s", err);
    CHECK_EQ_INT(mv.nclasses, pn.nclasses);
    t2v_packed tpk; /* the production path (t2v_fast.c), checked against the same values */
    parser_packed ppk;
    CHECK(t2v_pack(&tpk, &t2v, 0) == 0 && parser_pack(&ppk, &pn) == 0);

    DIR *d = opendir(test_path("golden/layers"));
    CHECK(d != NULL);
    struct dirent *e;
    int docs = 0;
    double worst = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char dir[512], path[600];
        snprintf(dir, sizeof dir, "%s", test_path("golden/layers"));
        snprintf(dir + strlen(dir), sizeof dir - strlen(dir), "/%s", e->d_name);
        trace_ctx c = {dir, 0, 0};
        npy_array hashes;
        snprintf(path, sizeof path, "%s/attr_hashes.npy", dir);
        CHECK(npy_load(path, &hashes) == 0);
        size_t n = hashes.ndim ? hashes.shape[0] : 0;
        snprintf(path, sizeof path, "%s/info.json", dir);
        size_t len;
        char *info = test_read_file(path, &len);
        json_doc jd;
        CHECK(info && json_parse(info, len, 0, &jd, err, sizeof err) == 0);
        const json_value *toks = json_get(&jd.root, "tokens");
        CHECK(toks && toks->type == JSON_ARRAY && toks->u.arr.n == n);
        uint8_t *space = calloc(n + 1, 1);
        for (size_t i = 0; i < n; i++) space[i] = (uint8_t)is_space_token(toks->u.arr.items[i].u.str.ptr, toks->u.arr.items[i].u.str.len);

        float *scratch = malloc(t2v_scratch_floats(&t2v, n) * sizeof(float) + 64);
        float *out = malloc((n + 1) * 96 * sizeof(float));
        t2v_forward(&t2v, hashes.data, NULL, n, out, scratch, on_t2v, &c);
        float *proj = malloc((n + 1) * pn.nI * sizeof(float));
        float *table = malloc(parser_net_table_floats(&pn, n) * sizeof(float));
        parser_net_precompute(&pn, out, n, proj, table);
        compare(&c, "proj_out", proj, n, pn.nI);
        compare(&c, "precomputed", table, n + 1, (size_t)pn.nF * pn.nO * pn.nP);

        step_ctx s = {.c = &c, .mv = &mv, .actions = json_get(&jd.root, "actions")};
        snprintf(path, sizeof path, "%s/step_features.npy", dir); CHECK(npy_load(path, &s.feats) == 0);
        snprintf(path, sizeof path, "%s/step_hidden.npy", dir); CHECK(npy_load(path, &s.hidden) == 0);
        snprintf(path, sizeof path, "%s/step_scores.npy", dir); CHECK(npy_load(path, &s.scores) == 0);
        snprintf(path, sizeof path, "%s/step_valid.npy", dir); CHECK(npy_load(path, &s.valid) == 0);
        float hidden[64], scores[128];
        uint8_t valid[128];
        biluo_ent *ents = malloc((n + 1) * sizeof *ents);
        size_t nents = biluo_decode(&mv, &pn, table, n, space, NULL, hidden, scores, valid, ents, on_step, &s);
        CHECK_EQ_INT(s.nsteps, s.actions->u.arr.n);
        const json_value *gents = json_get(&jd.root, "ents");
        CHECK_EQ_INT(nents, gents->u.arr.n);
        for (size_t k = 0; k < nents; k++) {
            const json_value *g = &gents->u.arr.items[k];
            CHECK_EQ_INT(ents[k].start, json_get(g, "start")->u.num);
            CHECK_EQ_INT(ents[k].end, json_get(g, "end")->u.num);
            CHECK_EQ_STR(mv.labels[ents[k].label], json_get(g, "label")->u.str.ptr);
        }

        /* the production path: packed kernels, fused passes, its own table layout */
        float *fscratch = malloc(t2v_fast_scratch_floats(&t2v, n) * sizeof(float));
        t2v_fast_forward(&t2v, &tpk, KN_FP32, NULL, hashes.data, NULL, n, out, fscratch, NULL, on_t2v, &c);
        parser_fast_precompute(&pn, &ppk, KN_FP32, out, n, proj, table, NULL, 0);
        compare(&c, "proj_out", proj, n, pn.nI);
        s.nsteps = 0;
        biluo_state st = {0, -1, -1, 0};
        const size_t rowlen = (size_t)pn.nF * pn.nO * pn.nP;
        while (st.i < n) {
            int feats[3];
            const float *rows[3];
            biluo_features(&st, feats);
            for (int f = 0; f < 3; f++) rows[f] = table + (size_t)(feats[f] + 1) * rowlen;
            parser_fast_step_rows(&pn, &ppk, KN_FP32, rows, NULL, hidden, scores);
            int best = biluo_choose(&mv, &st, n, space, NULL, NULL, scores, valid);
            on_step(&s, st.i, feats, hidden, scores, valid, best);
            biluo_apply(&mv, &st, best, ents);
        }
        CHECK_EQ_INT(s.nsteps, s.actions->u.arr.n);
        CHECK_EQ_INT(st.nents, gents->u.arr.n);
        free(fscratch);

        if (c.worst > worst) worst = c.worst;
        npy_free(&s.feats); npy_free(&s.hidden); npy_free(&s.scores); npy_free(&s.valid); npy_free(&hashes);
        free(ents); free(space); free(scratch); free(out); free(proj); free(table); free(info);
        json_doc_free(&jd);
        docs++;
    }
    closedir(d);
    printf("  %d layer folders, worst relative difference %.2e (tolerance %.0e)\n", docs, worst, TOL);
    CHECK(docs == 21);
    t2v_packed_free(&tpk);
    parser_packed_free(&ppk);
    biluo_free(&mv);
    tw_free(&m);
}
