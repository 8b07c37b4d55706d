/* The transition systems' choice of class (choose.c, ae_choose, biluo_choose) against plain
 * references written here as spaCy's rules read: validity class by class, then the loop
 * `if (valid && (best < 0 || score > scores[best])) best = c`. Random class tables (any order of
 * moves and labels), random states and scores full of ties, -0.0, -inf and NaN, on every
 * instruction-set level this CPU runs (a level it lacks prints SKIP). */
#include "test.h"
#include "model_helper.h"
#include "nn/kernels.h"
#include "transition/arc_eager.h"
#include "transition/biluo.h"
#include "transition/choose.h"

#include <math.h>
#include <stdint.h>

static unsigned next(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}
static int below(unsigned *s, int n) { return (int)(next(s) % (unsigned)n); }

/* Scores drawn mostly from a few values, so that ties are the rule. */
static float draw_score(unsigned *s)
{
    static const float few[] = {-INFINITY, -0.0f, 0.0f, 1.5f, 2.0f, -3.0f, INFINITY};
    switch (below(s, 8)) {
    case 0: return NAN;
    case 1: case 2: return (float)below(s, 2000) / 7.0f - 140.0f;
    default: return few[below(s, (int)(sizeof few / sizeof *few))];
    }
}

/* Fills n scores in a buffer of exactly n floats (an overread is an ASan error). */
static float *draw_scores(unsigned *s, int n)
{
    float *sc = malloc(sizeof(float) * (size_t)(n ? n : 1));
    int all_inf = below(s, 10) == 0, no_nan = below(s, 3) == 0;
    for (int c = 0; c < n; c++) {
        sc[c] = all_inf ? -INFINITY : draw_score(s);
        if (no_nan && isnan(sc[c])) sc[c] = 1.0f;
    }
    return sc;
}

static int ref_best(const float *scores, const uint8_t *valid, int n)
{
    int best = -1;
    for (int c = 0; c < n; c++)
        if (valid[c] && (best < 0 || scores[c] > scores[best])) best = c;
    return best;
}

/* For each level this CPU runs, fn(seed) over `cases` random cases. */
static void on_every_isa(void (*fn)(unsigned seed), int cases)
{
    for (kn_isa isa = KN_ISA_PORTABLE; isa < KN_ISA_COUNT; isa++) {
        if (!test_use_isa(isa)) continue;
        for (int k = 0; k < cases; k++) fn(1000u * (unsigned)isa + (unsigned)k);
        printf("  %s: %d random cases agree with the reference\n", kn_isa_name(isa), cases);
    }
    kn_set_isa(kn_isa_best());
}

static void one_best_case(unsigned seed)
{
    unsigned s = seed * 2654435761u + 1;
    int n = 1 + below(&s, 300);
    float *sc = draw_scores(&s, n);
    uint8_t *valid = malloc((size_t)n);
    uint64_t mask[CHOOSE_WORDS(300)] = {0};
    int density = below(&s, 5); /* 0: none valid, 4: all valid */
    for (int c = 0; c < n; c++) {
        valid[c] = (uint8_t)(density == 4 || (density && below(&s, 4) < density));
        if (valid[c]) choose_mask_set(mask, c);
    }
    int got = choose_best(sc, mask, n), want = ref_best(sc, valid, n);
    CHECKF(got == want, "seed %u, %d classes on %s: chose %d, the reference %d (score %g vs %g)", seed, n,
           kn_isa_name(kn_isa_current()), got, want, got >= 0 ? sc[got] : 0.0, want >= 0 ? sc[want] : 0.0);
    /* the same scores padded to whole vectors of 16, the padding drawn too (never valid) */
    const int whole = (n + 15) / 16 * 16;
    float *padded = malloc(sizeof(float) * (size_t)whole);
    memcpy(padded, sc, sizeof(float) * (size_t)n);
    for (int c = n; c < whole; c++) padded[c] = below(&s, 2) ? INFINITY : draw_score(&s);
    got = choose_best_padded(padded, mask, n);
    CHECKF(got == want, "seed %u, %d classes padded on %s: chose %d, the reference %d", seed, n,
           kn_isa_name(kn_isa_current()), got, want);
    free(padded);
    uint8_t *back = malloc((size_t)n);
    choose_mask_bytes(mask, n, back);
    CHECK(!memcmp(back, valid, (size_t)n));
    free(back);
    free(valid);
    free(sc);
}

TEST(choose_best_is_the_first_highest_valid_on_every_isa) { on_every_isa(one_best_case, 4000); }

/* The fast modes' upper layer with its choice (kn_row_f32_chains_choose, and int8's
 * kn_row_bf16_chains_choose): the scores it writes are kn_row_f32_chains's (kn_row_bf16_chains's)
 * bits, and where it chooses (the AVX-512 path, every wanted panel in one group) it picks what
 * choose_best_padded picks from them. a = 0 half the time, so the scores are
 * the bias as drawn (ties, -0.0, +-inf and NaN), else random products; 1 to 13 panels, any set of
 * valid classes (none, one, all). */
static int choices_made;
static void one_row_choice_case(unsigned seed, int bf16)
{
    unsigned s = seed * 2246822519u + 7;
    static const int Ns[] = {74, 106, 128, 203, 16, 5, 113};
    const int N = Ns[below(&s, (int)(sizeof Ns / sizeof *Ns))], K = 64;
    float *W = malloc(sizeof(float) * (size_t)N * K), a[64], *b = draw_scores(&s, N);
    for (int i = 0; i < N * K; i++) W[i] = (float)below(&s, 2001) / 1000.0f - 1.0f;
    const int zero_a = below(&s, 2);
    for (int k = 0; k < K; k++) a[k] = zero_a ? 0.0f : (float)below(&s, 2001) / 1000.0f - 1.0f;
    kn_weights p;
    CHECK(kn_pack(&p, W, N, K, bf16 ? KN_PACK_BF16 : 0) == 0);
    uint64_t mask[CHOOSE_WORDS(208)] = {0};
    const int density = below(&s, 6); /* 0: none valid, 4: all valid, 5: one */
    const int one = below(&s, N);
    for (int c = 0; c < N; c++)
        if (density == 4 || (density == 5 && c == one) || (density && density < 4 && below(&s, 4) < density))
            choose_mask_set(mask, c);
    const size_t floats = (size_t)p.npanels * KN_NR;
    float *got = malloc(sizeof(float) * floats), *plain = malloc(sizeof(float) * floats);
    const int chosen = (bf16 ? kn_row_bf16_chains_choose : kn_row_f32_chains_choose)(&p, a, b, mask, got);
    (bf16 ? kn_row_bf16_chains : kn_row_f32_chains)(&p, a, b, mask, plain);
    CHECKF(!memcmp(got, plain, sizeof(float) * floats), "seed %u: scores differ from the chains' without the choice", seed);
    if (chosen != KN_NOT_CHOSEN) {
        const int want = choose_best_padded(got, mask, N);
        CHECKF(chosen == want, "seed %u, %d classes on %s: chose %d, choose_best_padded %d", seed, N,
               kn_isa_name(kn_isa_current()), chosen, want);
        choices_made++;
    }
    free(plain);
    free(got);
    kn_free(&p);
    free(b);
    free(W);
}

static void row_choice_on_every_isa(int bf16)
{
    for (kn_isa isa = KN_ISA_PORTABLE; isa < KN_ISA_COUNT; isa++) {
        if (!test_use_isa(isa)) continue;
        choices_made = 0;
        for (int k = 0; k < 3000; k++) one_row_choice_case(7000u * (unsigned)isa + (unsigned)k, bf16);
        /* the AVX-512 path chooses whenever the wanted panels fit one group (up to 8 of them) */
        if (isa >= KN_ISA_AVX512) CHECKF(choices_made > 2000, "%s chose only %d times", kn_isa_name(isa), choices_made);
        printf("  %s: 3000 random rows, %d choices made in registers, each choose_best_padded's\n", kn_isa_name(isa),
               choices_made);
    }
    kn_set_isa(kn_isa_best());
}

TEST(row_chains_choice_is_choose_best_padded_on_every_isa) { row_choice_on_every_isa(0); }

/* int8 mode's bf16 upper layer chooses alike (kn_row_bf16_chains_choose) */
TEST(row_bf16_chains_choice_is_choose_best_padded_on_every_isa) { row_choice_on_every_isa(1); }

/* A class table of random length with kinds first_kind .. first_kind + nkinds - 1 and labels
 * -1 .. nlabels - 1 in any order. */
enum { MOST_CLASSES = 200 };
typedef struct {
    int n, nlabels;
    uint8_t kind[MOST_CLASSES];
    int16_t label[MOST_CLASSES];
} drawn_table;

static void draw_classes(unsigned *s, int first_kind, int nkinds, int most_labels, drawn_table *t)
{
    t->n = 1 + below(s, MOST_CLASSES);
    t->nlabels = 1 + below(s, most_labels);
    for (int c = 0; c < t->n; c++) {
        t->kind[c] = (uint8_t)(first_kind + below(s, nkinds));
        t->label[c] = (int16_t)(below(s, t->nlabels + 1) - 1);
    }
}

/* ---- arc-eager ---- */

/* Random state: only what validity reads (depth, stack, the buffer, sentence starts, unshiftable). */
typedef struct {
    int ints[8 * 40];
    uint8_t bytes[2 * 40];
} ae_space;

static void draw_ae_state(unsigned *s, ae_state *st, ae_space *sp)
{
    int n = below(s, 12) ? 1 + below(s, 40) : 0;
    ae_state_init(st, (size_t)n, sp->ints, sp->bytes);
    st->b_i = n ? below(s, n + 1) : 0;
    st->depth = n ? below(s, n < 6 ? n + 1 : 6) : 0;
    for (int d = 0; d < st->depth; d++) st->stack[d] = below(s, n);
    if (below(s, 2) && n) { /* the stack's top as B(0)'s left neighbour: subtok arcs allowed */
        if (st->depth && st->b_i < n && st->b_i > 0) st->stack[st->depth - 1] = st->b_i - 1;
    }
    st->nrebuf = n && st->b_i > 0 ? below(s, 3) : 0;
    for (int r = 0; r < st->nrebuf; r++) st->rebuf[r] = below(s, st->b_i);
    for (int t = 0; t < n; t++) {
        st->sent_start[t] = (uint8_t)(below(s, 5) == 0);
        st->unshiftable[t] = (uint8_t)(below(s, 4) == 0);
    }
}

/* spaCy's arc_eager.pyx rules, move by move. */
static int ref_ae_move_valid(const ae_state *st, int move)
{
    int b0 = ae_B(st, 0), b1 = ae_B(st, 1), blen = 0;
    while (ae_B(st, blen) >= 0) blen++;
    int starts0 = b0 >= 0 && st->sent_start[b0], starts1 = b1 >= 0 && st->sent_start[b1];
    if (move == AE_SHIFT) return st->depth == 0 || (blen >= 2 && !starts0 && !st->unshiftable[b0]);
    if (move == AE_REDUCE) return st->depth > 0;
    if (move == AE_LEFT || move == AE_RIGHT) return st->depth > 0 && blen > 0 && !starts0;
    if (move == AE_BREAK) return blen >= 2 && b1 == b0 + 1 && !starts1;
    return 0;
}

static void one_ae_case(unsigned seed)
{
    unsigned s = seed * 2246822519u + 7;
    drawn_table t;
    draw_classes(&s, AE_SHIFT, AE_NMOVES, 50, &t);
    ae_moves mv = {.nclasses = t.n, .classes = malloc(sizeof(ae_class) * MOST_CLASSES)};
    for (int c = 0; c < t.n; c++) mv.classes[c] = (ae_class){t.kind[c], t.label[c]};
    mv.subtok_label = below(&s, 4) ? below(&s, t.nlabels) : -1;
    CHECK(ae_moves_index(&mv) == NERD_OK);
    for (int k = 0; k < 20; k++) {
        ae_state st;
        ae_space sp;
        draw_ae_state(&s, &st, &sp);
        float *sc = draw_scores(&s, mv.nclasses);
        uint8_t *want = malloc((size_t)mv.nclasses), *got = malloc((size_t)mv.nclasses);
        for (int c = 0; c < mv.nclasses; c++) {
            const ae_class *cl = &mv.classes[c];
            int v = ref_ae_move_valid(&st, cl->move);
            if (cl->label >= 0 && cl->label == mv.subtok_label && (cl->move == AE_LEFT || cl->move == AE_RIGHT))
                v = v && ae_S(&st, 0) == ae_B(&st, 0) - 1;
            want[c] = (uint8_t)v;
        }
        memset(got, 7, (size_t)mv.nclasses);
        int best = ae_choose(&mv, &st, sc, got), ref = ref_best(sc, want, mv.nclasses);
        CHECKF(best == ref, "seed %u step %d on %s: ae_choose %d, the reference %d", seed, k,
               kn_isa_name(kn_isa_current()), best, ref);
        CHECKF(!memcmp(got, want, (size_t)mv.nclasses), "seed %u step %d: valid[] differs", seed, k);
        CHECK(ae_choose(&mv, &st, sc, NULL) == ref);
        free(want);
        free(got);
        free(sc);
    }
    ae_free(&mv);
}

TEST(ae_choose_matches_the_reference_on_every_isa) { on_every_isa(one_ae_case, 400); }

/* ---- BILUO ---- */

/* ner.pyx's is_valid per kind. Without presets: B needs a label, no open entity, a next token,
 * no sentence start at it and no space; I the open label, a next token and no sentence start
 * at it; L the open label; U a label, none open and no space; O none open. With presets (iob: 0
 * missing, 1 I, 2 O, 3 B) the preset rules come first. */
static int ref_biluo_valid(int kind, int label, const biluo_state *st, size_t n, const uint8_t *is_space,
                           const uint8_t *sent_start, const biluo_preset *preset)
{
    const size_t i = st->i;
    const int open = st->open_start >= 0, has_next = i + 1 < n;
    const int next_starts = has_next && sent_start && sent_start[i + 1];
    if (!preset) switch (kind) {
        case BILUO_B: return label >= 0 && !open && has_next && !next_starts && !is_space[i];
        case BILUO_I: return label == st->open_label && open && has_next && !next_starts;
        case BILUO_L: return label == st->open_label && open;
        case BILUO_U: return label >= 0 && !open && !is_space[i];
        case BILUO_O: return !open;
        default: return 0;
        }
    const int iob0 = preset ? preset[i].iob : 0, iob1 = preset && has_next ? preset[i + 1].iob : 0;
    const int plabel = preset ? preset[i].label : BILUO_PRESET_NONE;
    if (kind == BILUO_O) return !open && iob0 != 1 && iob0 != 3;
    if (label == BILUO_PRESET_NONE) return 0;
    if (kind == BILUO_B) {
        if (open || !has_next || iob0 == 1) return 0;
        return iob0 == 3 ? label == plabel && iob1 == 1 : iob1 != 3 && !next_starts && !is_space[i];
    }
    if (kind == BILUO_I) {
        if (!open || !has_next || label != st->open_label || iob0 == 3 || iob1 == 3) return 0;
        return iob0 == 1 ? iob1 != 0 && iob1 != 2 && label == plabel : !next_starts;
    }
    if (kind == BILUO_L) {
        if (!open) return 0;
        return iob0 == 1 && iob1 != 1 ? label == plabel : label == st->open_label && iob1 != 1;
    }
    if (kind == BILUO_U) {
        if (open || iob1 == 1) return 0;
        return iob0 == 3 ? label == plabel : !is_space[i];
    }
    return 0;
}

static void one_biluo_case(unsigned seed)
{
    unsigned s = seed * 3266489917u + 11;
    drawn_table t;
    draw_classes(&s, BILUO_B, 5, 30, &t);
    const int nlabels = t.nlabels;
    biluo_moves mv = {.nclasses = t.n, .classes = malloc(sizeof(biluo_class) * MOST_CLASSES)};
    for (int c = 0; c < t.n; c++) mv.classes[c] = (biluo_class){t.kind[c], t.label[c]};
    CHECK(biluo_moves_index(&mv) == NERD_OK);
    enum { MAXN = 24 };
    for (int k = 0; k < 20; k++) {
        size_t n = 1 + (size_t)below(&s, MAXN);
        uint8_t space[MAXN], starts[MAXN];
        biluo_preset preset[MAXN];
        for (size_t t = 0; t < n; t++) {
            space[t] = (uint8_t)(below(&s, 5) == 0);
            starts[t] = (uint8_t)(below(&s, 4) == 0);
            preset[t] = (biluo_preset){(uint8_t)below(&s, 4), (int16_t)(below(&s, nlabels + 2) - 2)};
        }
        biluo_state st = {(size_t)below(&s, (int)n), -1, -1, 0};
        if (below(&s, 2)) {
            st.open_start = below(&s, (int)st.i + 1);
            st.open_label = below(&s, 8) ? below(&s, nlabels) : below(&s, 3) - 2; /* -2, -1 or 0 */
        }
        const uint8_t *ss = below(&s, 2) ? starts : NULL;
        const biluo_preset *pr = below(&s, 3) ? NULL : preset;
        float *sc = draw_scores(&s, mv.nclasses);
        uint8_t *want = malloc((size_t)mv.nclasses), *got = malloc((size_t)mv.nclasses);
        for (int c = 0; c < mv.nclasses; c++)
            want[c] = (uint8_t)ref_biluo_valid(mv.classes[c].kind, mv.classes[c].label, &st, n, space, ss, pr);
        int ref = ref_best(sc, want, mv.nclasses);
        static const int added[] = {BILUO_B, BILUO_I, BILUO_L, BILUO_U};
        for (int a = 0; ref == -1 && pr && a < 4; a++)
            if (pr[st.i].label == BILUO_PRESET_UNKNOWN &&
                ref_biluo_valid(added[a], BILUO_PRESET_UNKNOWN, &st, n, space, ss, pr))
                ref = BILUO_PRESET_MOVE(added[a]);
        memset(got, 7, (size_t)mv.nclasses);
        int best = biluo_choose(&mv, &st, n, space, ss, pr, sc, got);
        CHECKF(best == ref, "seed %u step %d on %s (%s): biluo_choose %d, the reference %d", seed, k,
               kn_isa_name(kn_isa_current()), pr ? "presets" : "no presets", best, ref);
        CHECKF(!memcmp(got, want, (size_t)mv.nclasses), "seed %u step %d: valid[] differs", seed, k);
        CHECK(biluo_choose(&mv, &st, n, space, ss, pr, sc, NULL) == ref);
        free(want);
        free(got);
        free(sc);
    }
    biluo_free(&mv);
}

TEST(biluo_choose_matches_the_reference_on_every_isa) { on_every_isa(one_biluo_case, 400); }

/* A table beyond the bitsets' size is refused, not overrun. */
TEST(choose_refuses_more_classes_than_it_takes)
{
    biluo_moves mv = {0};
    mv.nclasses = CHOOSE_MAX_CLASSES + 1;
    mv.classes = calloc((size_t)mv.nclasses, sizeof *mv.classes);
    CHECK(biluo_moves_index(&mv) == NERD_ERR_FORMAT);
    biluo_free(&mv);
    ae_moves am = {0};
    am.nclasses = CHOOSE_MAX_CLASSES + 1;
    am.classes = calloc((size_t)am.nclasses, sizeof *am.classes);
    CHECK(ae_moves_index(&am) == NERD_ERR_FORMAT);
    ae_free(&am);
}
