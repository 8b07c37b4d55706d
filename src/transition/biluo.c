#include "transition/biluo.h"
#include "modelfile/moves_file.h"
#include "transition/choose.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

nerd_status biluo_load(biluo_moves *mv, const char *path, char *err, size_t errlen)
{
    memset(mv, 0, sizeof *mv);
    json_doc jd;
    nerd_status rc = moves_file_read(path, &jd, err, errlen);
    if (rc != NERD_OK) goto out;
    rc = NERD_ERR_FORMAT;
    /* classes in action order (B, I, L, U, O), labels within an action in the file's order */
    for (int kind = BILUO_B; kind <= BILUO_O; kind++) {
        char key[4];
        snprintf(key, sizeof key, "%d", kind);
        const json_value *acts = json_get(&jd.root, key);
        if (!acts || acts->type != JSON_OBJECT) {
            snprintf(err, errlen, "%s: action %d missing: not a BILUO (ner) moves file", path, kind);
            goto out;
        }
        for (size_t j = 0; j < acts->u.obj.n; j++) {
            const json_member *lab = &acts->u.obj.items[j];
            int li = -1;
            if (lab->keylen) {
                li = moves_label(&mv->labels, &mv->nlabels, lab->key, lab->keylen);
                if (li < 0) goto oom;
            }
            biluo_class *nc = realloc(mv->classes, (mv->nclasses + 1) * sizeof *nc);
            if (!nc) goto oom;
            mv->classes = nc;
            mv->classes[mv->nclasses++] = (biluo_class){(uint8_t)kind, (int16_t)li};
        }
    }
    rc = biluo_moves_index(mv);
    if (rc == NERD_ERR_NOMEM) goto oom;
    if (rc != NERD_OK)
        snprintf(err, errlen, "%s: %d classes, more than the %d nerd takes", path, mv->nclasses, CHOOSE_MAX_CLASSES);
    goto out;
oom:
    snprintf(err, errlen, "%s: out of memory", path);
    rc = NERD_ERR_NOMEM;
out:
    json_doc_free(&jd);
    if (rc != NERD_OK) biluo_free(mv);
    return rc;
}

static void free_index(biluo_moves *mv)
{
    free(mv->kind_mask);
    free(mv->il_start);
    free(mv->il_class);
    mv->kind_mask = NULL;
    mv->il_start = mv->il_class = NULL;
}

nerd_status biluo_moves_index(biluo_moves *mv)
{
    free_index(mv);
    if (mv->nclasses > CHOOSE_MAX_CLASSES) return NERD_ERR_FORMAT;
    const size_t nw = CHOOSE_WORDS(mv->nclasses);
    mv->label_lo = mv->label_hi = 0;
    for (int c = 0; c < mv->nclasses; c++) {
        const int l = mv->classes[c].label;
        if (!c || l < mv->label_lo) mv->label_lo = l;
        if (!c || l > mv->label_hi) mv->label_hi = l;
    }
    const size_t nl = (size_t)(mv->label_hi - mv->label_lo + 1);
    mv->kind_mask = calloc((BILUO_O + 1) * nw + 1, sizeof *mv->kind_mask);
    mv->il_start = calloc(nl + 1, sizeof *mv->il_start);
    mv->il_class = malloc(((size_t)mv->nclasses + 1) * sizeof *mv->il_class);
    if (!mv->kind_mask || !mv->il_start || !mv->il_class) {
        free_index(mv);
        return NERD_ERR_NOMEM;
    }
    /* B and U need a label (the hidden "U-" is never valid without presets); I and L take the
     * open entity's label: a list per label, counted, then filled in class order */
    for (int c = 0; c < mv->nclasses; c++) {
        const biluo_class *k = &mv->classes[c];
        if (k->kind == BILUO_O || ((k->kind == BILUO_B || k->kind == BILUO_U) && k->label >= 0))
            choose_mask_set(mv->kind_mask + k->kind * nw, c);
        if (k->kind == BILUO_I || k->kind == BILUO_L) mv->il_start[k->label - mv->label_lo + 1]++;
    }
    for (size_t l = 0; l < nl; l++) mv->il_start[l + 1] += mv->il_start[l];
    int *fill = calloc(nl, sizeof *fill);
    if (!fill) {
        free_index(mv);
        return NERD_ERR_NOMEM;
    }
    for (int c = 0; c < mv->nclasses; c++) {
        const biluo_class *k = &mv->classes[c];
        const int l = k->label - mv->label_lo;
        if (k->kind == BILUO_I || k->kind == BILUO_L) mv->il_class[mv->il_start[l] + fill[l]++] = c;
    }
    free(fill);
    return NERD_OK;
}

void biluo_free(biluo_moves *mv)
{
    moves_labels_free(mv->labels, mv->nlabels);
    free(mv->classes);
    free_index(mv);
    memset(mv, 0, sizeof *mv);
}

const char *biluo_class_name(const biluo_moves *mv, int c, char *buf, size_t len)
{
    static const char kinds[] = "?BILUO";
    const biluo_class *k = &mv->classes[c];
    if (k->kind == BILUO_O) snprintf(buf, len, "O");
    else snprintf(buf, len, "%c-%s", kinds[k->kind], k->label >= 0 ? mv->labels[k->label] : "");
    return buf;
}

/* Validity as spaCy's ner.pyx has it. i = B(0), the token being labelled; an entity is open
 * from open_start with open_label. Presets (entities set before the ner) are checked first, in
 * ner.pyx's order: a preset entity is forced through, whatever the sentence starts and spaces. */
static int is_valid(const biluo_class *c, size_t i, size_t n, long open_start, int open_label,
                    const uint8_t *is_space, const uint8_t *sent_start, const biluo_preset *preset)
{
    int has_next = i + 1 < n;
    int next_starts_sent = has_next && sent_start && sent_start[i + 1];
    int iob0 = preset ? preset[i].iob : 0, label0 = preset ? preset[i].label : BILUO_PRESET_NONE;
    int iob1 = preset && has_next ? preset[i + 1].iob : 0;
    enum { I = 1, B = 3 };
    switch (c->kind) {
    case BILUO_B:
        if (open_start >= 0 || !has_next || c->label == BILUO_PRESET_NONE || iob0 == I) return 0;
        if (iob0 == B) return c->label == label0 && iob1 == I;
        return iob1 != B && !next_starts_sent && !is_space[i];
    case BILUO_I:
        if (open_start < 0 || !has_next || c->label == BILUO_PRESET_NONE || c->label != open_label || iob0 == B ||
            iob1 == B)
            return 0;
        if (iob0 == I) return iob1 != 0 && iob1 != 2 && c->label == label0;
        return !next_starts_sent;
    case BILUO_L:
        if (c->label == BILUO_PRESET_NONE || open_start < 0) return 0;
        if (iob0 == I && iob1 != I) return c->label == label0;
        return c->label == open_label && iob1 != I;
    case BILUO_U: /* the empty label's U is valid only on a blocked token (never preset here) */
        if (c->label == BILUO_PRESET_NONE || open_start >= 0 || iob1 == I) return 0;
        if (iob0 == B) return c->label == label0;
        return !is_space[i];
    case BILUO_O:
        return open_start < 0 && iob0 != B && iob0 != I;
    }
    return 0;
}

void biluo_features(const biluo_state *st, int feats[3])
{
    /* the buffer's first token, the open entity's first token, and the token before B(0)
     * when both exist (spaCy's set_context_tokens for 3 features) */
    feats[0] = (int)st->i;
    feats[1] = (int)st->open_start;
    feats[2] = st->open_start >= 0 && st->i >= 1 ? (int)st->i - 1 : -1;
}

void biluo_features_extra(const biluo_state *st, int feats[BILUO_EXTRA_FEATS])
{
    feats[0] = (int)st->i;
    int j = 1;
    for (long t = st->open_start; st->open_start >= 0 && t < (long)st->i && j < BILUO_EXTRA_FEATS; t++) feats[j++] = (int)t;
    while (j < BILUO_EXTRA_FEATS) feats[j++] = -1;
}

void biluo_valid_mask(const biluo_moves *mv, const biluo_state *st, size_t n, const uint8_t *is_space,
                      const uint8_t *sent_start, const biluo_preset *preset, uint64_t *mask)
{
    /* Validity as spaCy's ner.pyx has it for documents without preset entities, i = B(0) the
     * token being labelled, an entity open from open_start with open_label: B needs a next
     * token for its L, no sentence start inside and no whitespace; I continues the open
     * entity's label with a next token; L ends it; U and O need none open, U no whitespace.
     * The state's part once per step, as a mask per kind over its classes' bitset, then the I
     * and L classes of the open label. A doc with preset entities (an entity_ruler before the
     * ner) takes is_valid's full rules class by class instead. */
    const size_t i = st->i;
    const size_t nw = CHOOSE_WORDS(mv->nclasses);
    if (preset) {
        memset(mask, 0, nw * sizeof *mask);
        for (int c = 0; c < mv->nclasses; c++)
            if (is_valid(&mv->classes[c], i, n, st->open_start, st->open_label, is_space, sent_start, preset))
                choose_mask_set(mask, c);
    } else {
        const int open = st->open_start >= 0, has_next = i + 1 < n;
        const int next_starts_sent = has_next && sent_start && sent_start[i + 1], space = is_space[i];
        const uint64_t on_b = -(uint64_t)(!open && has_next && !next_starts_sent && !space);
        const uint64_t on_u = -(uint64_t)(!open && !space), on_o = -(uint64_t)!open;
        const uint64_t *kb = mv->kind_mask + BILUO_B * nw, *ku = mv->kind_mask + BILUO_U * nw,
                       *ko = mv->kind_mask + BILUO_O * nw;
        for (size_t w = 0; w < nw; w++) mask[w] = (kb[w] & on_b) | (ku[w] & on_u) | (ko[w] & on_o);
        const int ok_i = open && has_next && !next_starts_sent, ok_l = open;
        if ((ok_i || ok_l) && st->open_label >= mv->label_lo && st->open_label <= mv->label_hi) {
            const int l = st->open_label - mv->label_lo;
            for (int j = mv->il_start[l]; j < mv->il_start[l + 1]; j++) {
                const int c = mv->il_class[j];
                if (mv->classes[c].kind == BILUO_I ? ok_i : ok_l) choose_mask_set(mask, c);
            }
        }
    }
}

int biluo_choose_valid(const biluo_moves *mv, const biluo_state *st, size_t n, const uint8_t *is_space,
                       const uint8_t *sent_start, const biluo_preset *preset, const float *scores, const uint64_t *mask,
                       int padded)
{
    int best = (padded ? choose_best_padded : choose_best)(scores, mask, mv->nclasses);
    /* the classes spaCy adds for a preset label the ner lacks, at the tokens that preset */
    static const uint8_t added_kinds[] = {BILUO_B, BILUO_I, BILUO_L, BILUO_U};
    for (size_t k = 0; best < 0 && preset && k < sizeof added_kinds; k++) {
        biluo_class added = {added_kinds[k], BILUO_PRESET_UNKNOWN};
        if (preset[st->i].label == BILUO_PRESET_UNKNOWN &&
            is_valid(&added, st->i, n, st->open_start, st->open_label, is_space, sent_start, preset))
            return BILUO_PRESET_MOVE(added_kinds[k]);
    }
    return best;
}

int biluo_choose(const biluo_moves *mv, const biluo_state *st, size_t n, const uint8_t *is_space,
                 const uint8_t *sent_start, const biluo_preset *preset, const float *scores, uint8_t *valid)
{
    uint64_t mask[CHOOSE_MAX_WORDS];
    biluo_valid_mask(mv, st, n, is_space, sent_start, preset, mask);
    if (valid) choose_mask_bytes(mask, mv->nclasses, valid);
    return biluo_choose_valid(mv, st, n, is_space, sent_start, preset, scores, mask, 0);
}

static void apply_class(const biluo_class *c, biluo_state *st, biluo_ent *ents)
{
    switch (c->kind) {
    case BILUO_B: st->open_start = (long)st->i; st->open_label = c->label; break;
    case BILUO_L:
        ents[st->nents++] = (biluo_ent){(uint32_t)st->open_start, (uint32_t)st->i + 1, st->open_label};
        st->open_start = -1;
        st->open_label = -1;
        break;
    case BILUO_U: ents[st->nents++] = (biluo_ent){(uint32_t)st->i, (uint32_t)st->i + 1, c->label}; break;
    default: break;
    }
    st->i++;
}

void biluo_apply(const biluo_moves *mv, biluo_state *st, int best, biluo_ent *ents)
{
    if (best < 0 && best != -1) { /* a class of a preset label the ner lacks */
        biluo_class added = {(uint8_t)(-16 - best), BILUO_PRESET_UNKNOWN};
        apply_class(&added, st, ents);
        return;
    }
    if (best < 0) { /* no valid move: spaCy's force_final */
        st->i = SIZE_MAX;
        st->open_start = -1;
        return;
    }
    apply_class(&mv->classes[best], st, ents);
}

size_t biluo_decode(const biluo_moves *mv, const parser_net *net, const float *table, size_t n,
                    const uint8_t *is_space, const uint8_t *sent_start, float *hidden, float *scores, uint8_t *valid,
                    biluo_ent *ents, biluo_trace_fn trace, void *trace_ctx)
{
    biluo_state st = {0, -1, -1, 0};
    while (st.i < n) {
        int feats[3];
        biluo_features(&st, feats);
        parser_net_step(net, table, feats, hidden, scores);
        int best = biluo_choose(mv, &st, n, is_space, sent_start, NULL, scores, valid);
        if (trace) trace(trace_ctx, st.i, feats, hidden, scores, valid, best);
        biluo_apply(mv, &st, best, ents);
    }
    return st.nents;
}
