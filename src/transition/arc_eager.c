#include "transition/arc_eager.h"
#include "modelfile/moves_file.h"
#include "transition/choose.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the moves file ---- */

int ae_label(ae_moves *mv, const char *s, size_t n)
{
    /* base and head (a "b||h" label's parts) grow beside the names */
    int16_t *nb = realloc(mv->base, (size_t)(mv->nlabels + 1) * sizeof *nb);
    if (nb) mv->base = nb;
    int16_t *nh = nb ? realloc(mv->head, (size_t)(mv->nlabels + 1) * sizeof *nh) : NULL;
    if (nh) mv->head = nh;
    const int had = mv->nlabels;
    int i = nh ? moves_label(&mv->labels, &mv->nlabels, s, n) : -2;
    if (i == had) mv->base[i] = mv->head[i] = -1;
    return i;
}

typedef struct { double freq; const char *label; size_t len; int action; } move_entry;

/* Python's reverse-sorted (freq, label) tuples: higher frequency first, then the larger label
 * (code point order = UTF-8 byte order). */
static int by_freq_label_desc(const void *pa, const void *pb)
{
    const move_entry *a = pa, *b = pb;
    if (a->freq != b->freq) return a->freq < b->freq ? 1 : -1;
    size_t m = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->label, b->label, m);
    if (c) return -c;
    return a->len < b->len ? 1 : a->len > b->len ? -1 : 0;
}

/* TransitionSystem.add_action: idempotent. */
static int add_class(ae_moves *mv, int move, const char *label, size_t len)
{
    int li = len ? ae_label(mv, label, len) : -1;
    if (li == -2) return -1;
    for (int c = 0; c < mv->nclasses; c++)
        if (mv->classes[c].move == move && mv->classes[c].label == li) return 0;
    ae_class *nc = realloc(mv->classes, (mv->nclasses + 1) * sizeof *nc);
    if (!nc) return -1;
    mv->classes = nc;
    mv->classes[mv->nclasses++] = (ae_class){(uint8_t)move, (int16_t)li};
    return 0;
}

/* spaCy's initialize_actions: actions in key order; within one, labels by (freq, label)
 * descending; labels with a negative frequency (added after training) come last, by the
 * same order, each with all of its actions. */
static nerd_status build_classes(ae_moves *mv, const json_value *root, const char *path, char *err, size_t errlen)
{
    size_t total = 0;
    for (size_t k = 0; k < root->u.obj.n; k++) {
        const json_member *a = &root->u.obj.items[k];
        if (a->keylen != 1 || a->key[0] < '0' || a->key[0] >= '0' + AE_NMOVES || a->val.type != JSON_OBJECT) {
            snprintf(err, errlen, "%s: action \"%s\" is not an arc-eager move (0-4): not a parser moves file", path,
                     a->key);
            return NERD_ERR_FORMAT;
        }
        total += a->val.u.obj.n;
    }
    move_entry *e = malloc((total + 1) * sizeof *e), *neg = malloc((total + 1) * sizeof *neg);
    size_t nneg = 0;
    nerd_status rc = NERD_ERR_FORMAT;
    if (!e || !neg) goto oom;
    for (int move = 0; move < AE_NMOVES; move++) {
        char key[2] = {(char)('0' + move), 0};
        const json_value *acts = json_get(root, key);
        if (!acts) continue;
        size_t n = 0;
        for (size_t j = 0; j < acts->u.obj.n; j++) {
            const json_member *lab = &acts->u.obj.items[j];
            if (lab->val.type != JSON_NUMBER) {
                snprintf(err, errlen, "%s: frequency of \"%s\" is not a number", path, lab->key);
                goto out;
            }
            move_entry x = {lab->val.u.num, lab->key, lab->keylen, move};
            if (x.freq < 0) neg[nneg++] = x;
            else e[n++] = x;
        }
        qsort(e, n, sizeof *e, by_freq_label_desc);
        for (size_t j = 0; j < n; j++)
            if (add_class(mv, move, e[j].label, e[j].len)) goto oom;
    }
    memcpy(e, neg, nneg * sizeof *e); /* insertion order, for "all actions of a label" */
    qsort(neg, nneg, sizeof *neg, by_freq_label_desc);
    for (size_t j = 0; j < nneg; j++)
        for (size_t k = 0; k < nneg; k++)
            if (e[k].len == neg[j].len && !memcmp(e[k].label, neg[j].label, e[k].len) &&
                add_class(mv, e[k].action, e[k].label, e[k].len))
                goto oom;
    rc = NERD_OK;
    goto out;
oom:
    snprintf(err, errlen, "%s: out of memory", path);
    rc = NERD_ERR_NOMEM;
out:
    free(e);
    free(neg);
    return rc;
}

nerd_status ae_load(ae_moves *mv, const char *path, char *err, size_t errlen)
{
    memset(mv, 0, sizeof *mv);
    json_doc jd;
    nerd_status rc = moves_file_read(path, &jd, err, errlen);
    if (rc == NERD_OK) rc = build_classes(mv, &jd.root, path, err, errlen);
    if (rc != NERD_OK) goto out;
    rc = NERD_ERR_FORMAT;
    if (!mv->nclasses) {
        snprintf(err, errlen, "%s: no moves", path);
        goto out;
    }
    mv->root_label = ae_label(mv, "ROOT", 4);
    mv->subtok_label = -1;
    int nmoves_labels = mv->nlabels;
    for (int i = 0; i < nmoves_labels; i++)
        if (!strcmp(mv->labels[i], "subtok")) mv->subtok_label = i;
    if (mv->root_label < 0) goto oom;
    /* decorated labels "a||b": their parts join the table so that deprojectivization compares
     * and assigns label indices */
    for (int i = 0; i < nmoves_labels; i++) {
        const char *s = mv->labels[i], *d = strstr(s, "||");
        if (!d) continue;
        if (strstr(d + 2, "||")) {
            snprintf(err, errlen, "%s: label \"%s\" has more than one || delimiter", path, s);
            goto out;
        }
        int b = ae_label(mv, s, (size_t)(d - s));
        int h = b < 0 ? -2 : ae_label(mv, d + 2, strlen(d + 2));
        if (b < 0 || h < 0) goto oom;
        mv->base[i] = (int16_t)b;
        mv->head[i] = (int16_t)h;
    }
    rc = ae_moves_index(mv);
    if (rc == NERD_ERR_NOMEM) goto oom;
    if (rc != NERD_OK)
        snprintf(err, errlen, "%s: %d classes, more than the %d nerd takes", path, mv->nclasses, CHOOSE_MAX_CLASSES);
    goto out;
oom:
    snprintf(err, errlen, "%s: out of memory", path);
    rc = NERD_ERR_NOMEM;
out:
    json_doc_free(&jd);
    if (rc != NERD_OK) ae_free(mv);
    return rc;
}

nerd_status ae_moves_index(ae_moves *mv)
{
    free(mv->move_mask);
    free(mv->subtok_mask);
    mv->move_mask = mv->subtok_mask = NULL;
    if (mv->nclasses > CHOOSE_MAX_CLASSES) return NERD_ERR_FORMAT;
    const size_t nw = CHOOSE_WORDS(mv->nclasses);
    mv->move_mask = calloc(AE_NMOVES * nw + 1, sizeof *mv->move_mask);
    mv->subtok_mask = calloc(nw + 1, sizeof *mv->subtok_mask);
    if (!mv->move_mask || !mv->subtok_mask) return NERD_ERR_NOMEM;
    for (int c = 0; c < mv->nclasses; c++) {
        const ae_class *k = &mv->classes[c];
        if (k->move < AE_NMOVES) choose_mask_set(mv->move_mask + k->move * nw, c);
        if (k->label >= 0 && k->label == mv->subtok_label && (k->move == AE_LEFT || k->move == AE_RIGHT))
            choose_mask_set(mv->subtok_mask, c);
    }
    return NERD_OK;
}

void ae_free(ae_moves *mv)
{
    moves_labels_free(mv->labels, mv->nlabels);
    free(mv->base);
    free(mv->head);
    free(mv->classes);
    free(mv->move_mask);
    free(mv->subtok_mask);
    memset(mv, 0, sizeof *mv);
}

const char *ae_class_name(const ae_moves *mv, int c, char *buf, size_t len)
{
    static const char names[] = "SDLRB";
    const ae_class *k = &mv->classes[c];
    if (k->label < 0) snprintf(buf, len, "%c", names[k->move]);
    else snprintf(buf, len, "%c-%s", names[k->move], mv->labels[k->label]);
    return buf;
}

/* ---- the state ---- */

size_t ae_state_ints(size_t n) { return 8 * n; }
size_t ae_state_bytes(size_t n) { return 2 * n; }

void ae_state_init(ae_state *st, size_t n, int *ints, uint8_t *bytes)
{
    st->n = (int)n;
    st->stack = ints;
    st->rebuf = ints + n;
    st->heads = ints + 2 * n;
    st->ltop = ints + 3 * n;
    st->rtop = ints + 4 * n;
    st->prev_sib = ints + 5 * n;
    st->labels = (int16_t *)(ints + 6 * n);
    st->unshiftable = bytes;
    st->sent_start = bytes + n;
    st->depth = st->nrebuf = st->b_i = 0;
    st->steps = 0;
    for (size_t i = 0; i < n; i++) st->heads[i] = st->ltop[i] = st->rtop[i] = st->prev_sib[i] = -1;
    memset(bytes, 0, 2 * n);
    if (n) st->sent_start[0] = 1; /* Doc.push_back marks the first token (spaCy issue #2869) */
}

int ae_B(const ae_state *st, int i)
{
    if (i < 0) return -1;
    if (i < st->nrebuf) return st->rebuf[st->nrebuf - 1 - i];
    int b = st->b_i + (i - st->nrebuf);
    return b < st->n ? b : -1;
}

int ae_S(const ae_state *st, int i) { return i < 0 || i >= st->depth ? -1 : st->stack[st->depth - 1 - i]; }

static int buffer_length(const ae_state *st) { return st->n - st->b_i + st->nrebuf; }
int ae_is_final(const ae_state *st) { return st->depth <= 0 && buffer_length(st) == 0; }
static int is_sent_start(const ae_state *st, int w) { return w >= 0 && w < st->n && st->sent_start[w]; }
/* the doc's sent_start == -1 before the parser: nothing in this pipeline sets it (the senter
 * is disabled), so cannot_sent_start is always false and Reduce's l_edge rule never fires */

/* The k-th newest child (k >= 1) of h on the list that starts at top[h], or -1. */
static int nth_child(const ae_state *st, const int *top, int h, int k)
{
    if (h < 0) return -1;
    int c = top[h];
    while (c >= 0 && --k > 0) c = st->prev_sib[c];
    return c;
}

void ae_features(const ae_state *st, int nfeats, int *f)
{
    int b0 = ae_B(st, 0), s0 = ae_S(st, 0), s1 = ae_S(st, 1);
    f[0] = b0;
    f[1] = ae_B(st, 1);
    f[2] = s0;
    f[3] = s1;
    f[4] = ae_S(st, 2);
    if (nfeats == AE_NFEATS_EXTRA) {
        /* spaCy 3.8's order: its set_context_tokens writes L(S0,2) to slot 6 and then
         * overwrites it with R(S0,1), so L(S0,2) is never a feature */
        f[5] = nth_child(st, st->ltop, s0, 1);
        f[6] = nth_child(st, st->rtop, s0, 1);
        f[7] = nth_child(st, st->ltop, b0, 1);
        f[8] = nth_child(st, st->rtop, s0, 2);
        f[9] = nth_child(st, st->ltop, s1, 1);
        f[10] = nth_child(st, st->ltop, s1, 2);
        f[11] = nth_child(st, st->rtop, s1, 1);
        f[12] = nth_child(st, st->rtop, s1, 2);
        return;
    }
    f[5] = nth_child(st, st->ltop, b0, 1);
    f[6] = nth_child(st, st->ltop, s0, 1);
    f[7] = nth_child(st, st->rtop, s0, 1);
}

/* Which moves the state allows, each as a word of all ones or zero (a mask of its classes). */
static void valid_moves(const ae_state *st, uint64_t on[AE_NMOVES])
{
    const int b0 = ae_B(st, 0), b1 = ae_B(st, 1), blen = buffer_length(st), b0_starts = is_sent_start(st, b0);
    on[AE_SHIFT] = -(uint64_t)(st->depth == 0 || (blen >= 2 && !b0_starts && !st->unshiftable[b0]));
    on[AE_REDUCE] = -(uint64_t)(st->depth > 0);
    on[AE_LEFT] = on[AE_RIGHT] = -(uint64_t)(st->depth > 0 && blen > 0 && !b0_starts);
    on[AE_BREAK] = -(uint64_t)(blen >= 2 && b1 == b0 + 1 && !is_sent_start(st, b1));
}

int ae_choose(const ae_moves *mv, const ae_state *st, const float *scores, uint8_t *valid)
{
    /* the state's moves once, then per word of the bitset the classes of those moves; the
     * subtok arcs only join neighbours */
    uint64_t on[AE_NMOVES], mask[CHOOSE_MAX_WORDS];
    valid_moves(st, on);
    const uint64_t subtok_off = ae_S(st, 0) == ae_B(st, 0) - 1 ? 0 : ~(uint64_t)0;
    const size_t nw = CHOOSE_WORDS(mv->nclasses);
    for (size_t w = 0; w < nw; w++) {
        uint64_t v = 0;
        for (int m = 0; m < AE_NMOVES; m++) v |= mv->move_mask[m * nw + w] & on[m];
        mask[w] = v & ~(mv->subtok_mask[w] & subtok_off);
    }
    if (valid) choose_mask_bytes(mask, mv->nclasses, valid);
    return choose_best(scores, mask, mv->nclasses);
}

static void push(ae_state *st)
{
    int b0 = st->nrebuf ? st->rebuf[--st->nrebuf] : st->b_i++;
    st->stack[st->depth++] = b0;
}

/* StateC.del_arc: the arc is the newest of its head's list whenever arc-eager replaces one
 * (a token still on the stack has had no later sibling), so this pops; the unlinking walk is
 * for completeness. */
static void del_arc(ae_state *st, int h, int c)
{
    int *top = h > c ? &st->ltop[h] : &st->rtop[h];
    if (*top == c) {
        *top = st->prev_sib[c];
        return;
    }
    for (int k = *top; k >= 0; k = st->prev_sib[k])
        if (st->prev_sib[k] == c) {
            st->prev_sib[k] = st->prev_sib[c];
            return;
        }
}

static void add_arc(ae_state *st, int h, int c, int label)
{
    if (st->heads[c] >= 0) del_arc(st, st->heads[c], c);
    int *top = h > c ? &st->ltop[h] : &st->rtop[h];
    st->prev_sib[c] = *top;
    *top = c;
    st->heads[c] = h;
    st->labels[c] = (int16_t)label;
}

void ae_apply(const ae_moves *mv, ae_state *st, int c)
{
    st->steps++;
    if (c < 0) { /* no valid move: spaCy forces the final state */
        st->depth = 0;
        st->nrebuf = 0;
        st->b_i = st->n;
        return;
    }
    const ae_class *k = &mv->classes[c];
    int s0 = ae_S(st, 0), b0 = ae_B(st, 0);
    switch (k->move) {
    case AE_SHIFT: push(st); break;
    case AE_REDUCE:
        if (st->heads[s0] >= 0 || st->depth == 1) st->depth--;
        else { /* unshift: back to the buffer, not to be shifted again until it gets a left child */
            st->unshiftable[s0] = 1;
            st->rebuf[st->nrebuf++] = s0;
            st->depth--;
        }
        break;
    case AE_LEFT:
        add_arc(st, b0, s0, k->label);
        st->unshiftable[b0] = 0;
        st->depth--;
        break;
    case AE_RIGHT:
        add_arc(st, s0, b0, k->label);
        push(st);
        break;
    case AE_BREAK: st->sent_start[ae_B(st, 1)] = 1; break;
    }
}

/* ---- what the parser leaves on the doc ---- */

size_t ae_annotate_ints(size_t n) { return 4 * n; }

/* Doc's _set_lr_kids_and_edges: one forward and one backward pass propagating the subtree
 * edges to heads; true when every token's head lies within its sentence (as the edges
 * delimit sentences so far). */
static int set_edges(int n, const int32_t *head, int *l_edge, int *r_edge, uint8_t *is_start)
{
    if (n <= 0) return 1;
    for (int i = 0; i < n; i++) {
        int h = head[i];
        if (l_edge[i] < l_edge[h]) l_edge[h] = l_edge[i];
        if (r_edge[i] > r_edge[h]) r_edge[h] = r_edge[i];
    }
    for (int i = n - 1; i >= 0; i--) {
        int h = head[i];
        if (r_edge[i] > r_edge[h]) r_edge[h] = r_edge[i];
        if (l_edge[i] < l_edge[h]) l_edge[h] = l_edge[i];
    }
    memset(is_start, 0, (size_t)n);
    for (int i = 0; i < n; i++)
        if (head[i] == i) is_start[l_edge[i]] = 1;
    int cur_start = 0;
    for (int i = 0; i < n; i++) {
        if ((i > 0 && is_start[i]) || i == n - 1) {
            for (int j = cur_start; j < i; j++)
                if (head[j] < cur_start || head[j] >= i + 1) return 0;
            cur_start = i;
        }
    }
    return 1;
}

/* Doc's set_children_from_heads, for what it decides: the subtree edges and the sentence
 * starts (the left edge of every root). */
static void children_from_heads(int n, const int32_t *head, int *l_edge, int *r_edge, uint8_t *sent_start)
{
    if (n <= 0) return;
    for (int i = 0; i < n; i++) l_edge[i] = r_edge[i] = i;
    /* repeated for non-projective trees, at most 12 passes as spaCy */
    for (int loops = 0; !set_edges(n, head, l_edge, r_edge, sent_start) && loops <= 10; loops++) {}
    for (int i = 0; i < n; i++) sent_start[i] = 0;
    for (int i = 0; i < n; i++)
        if (head[i] == i) sent_start[l_edge[i]] = 1;
}

/* nonproj._find_new_head: breadth-first from the token's head over Token.children (which
 * scans the stale edges of the last set_children_from_heads against the current heads), the
 * first non-space child labelled head_label other than the token; else the current head. */
static int find_new_head(int n, int tok, int head_label, const int32_t *head, const int16_t *dep, const int *l_edge,
                         const int *r_edge, const uint8_t *is_space, int *queue)
{
    size_t qh = 0, qt = 0;
    queue[qt++] = head[tok];
    while (qh < qt) {
        int q = queue[qh++];
        for (int pass = 0; pass < 2; pass++) {
            int from = pass ? q + 1 : l_edge[q], to = pass ? r_edge[q] + 1 : q;
            for (int c = from; c < to && c < n; c++) {
                if (head[c] != q || c == q || is_space[c] || c == tok) continue;
                if (dep[c] == head_label) return c;
                if (qt < (size_t)n) queue[qt++] = c;
            }
        }
    }
    return head[tok];
}

void ae_annotate(const ae_moves *mv, const ae_state *st, const uint8_t *is_space, int32_t *head, int16_t *dep,
                 uint8_t *sent_start, int *scratch)
{
    const int n = st->n;
    int *l_edge = scratch, *r_edge = scratch + n, *queue = scratch + 2 * n;
    for (int i = 0; i < n; i++) {
        int h = st->heads[i];
        head[i] = h >= 0 ? h : i;
        dep[i] = (int16_t)(h >= 0 ? st->labels[i] : mv->root_label);
    }
    children_from_heads(n, head, l_edge, r_edge, sent_start);
    int changed = 0;
    for (int i = 0; i < n; i++) {
        int d = dep[i];
        if (d < 0 || mv->head[d] < 0) continue;
        head[i] = find_new_head(n, i, mv->head[d], head, dep, l_edge, r_edge, is_space, queue);
        dep[i] = mv->base[d];
        changed = 1;
    }
    if (changed) children_from_heads(n, head, l_edge, r_edge, sent_start);
}
