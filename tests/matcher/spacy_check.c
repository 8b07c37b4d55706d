/* spacy_check.c - nerd's Matcher and PhraseMatcher against spaCy's (`make test-matcher`).
 *
 * Reads the cases file of tests/matcher/gen_cases.py: its first line holds the patterns, each
 * other line a doc's tokens (attributes as spaCy computed them) and spaCy's matches. Compiles
 * the patterns, runs both matchers over each doc and compares the lists exactly (keys, spans,
 * order). Prints the first differences and, last, "matcher-spacy: ..." with the counts; the
 * exit status is non-zero on any difference.
 *
 *     build/matcher-spacy-check build/matcher/cases.jsonl */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "matcher/matcher.h"
#include "modelfile/modelfile.h"
#include "util/buf.h"
#include "util/json.h"

static const struct { const char *name; unsigned bit; } flag_bits[] = {
    {"IS_ALPHA", MATCHER_IS_ALPHA}, {"IS_ASCII", MATCHER_IS_ASCII}, {"IS_DIGIT", MATCHER_IS_DIGIT},
    {"IS_LOWER", MATCHER_IS_LOWER}, {"IS_UPPER", MATCHER_IS_UPPER}, {"IS_TITLE", MATCHER_IS_TITLE},
    {"IS_PUNCT", MATCHER_IS_PUNCT}, {"IS_SPACE", MATCHER_IS_SPACE}, {"IS_BRACKET", MATCHER_IS_BRACKET},
    {"IS_QUOTE", MATCHER_IS_QUOTE}, {"IS_LEFT_PUNCT", MATCHER_IS_LEFT_PUNCT},
    {"IS_RIGHT_PUNCT", MATCHER_IS_RIGHT_PUNCT}, {"IS_CURRENCY", MATCHER_IS_CURRENCY},
    {"IS_STOP", MATCHER_IS_STOP}, {"LIKE_NUM", MATCHER_LIKE_NUM}, {"LIKE_URL", MATCHER_LIKE_URL},
    {"LIKE_EMAIL", MATCHER_LIKE_EMAIL},
};

/* the cases file's token fields, by string attribute */
static const char *const str_fields[MATCHER_NSTR] = {
    [MATCHER_ORTH] = "text", [MATCHER_LOWER] = "lower", [MATCHER_NORM] = "norm",
    [MATCHER_LEMMA] = "lemma", [MATCHER_POS] = "pos", [MATCHER_TAG] = "tag",
    [MATCHER_MORPH] = "morph", [MATCHER_DEP] = "dep", [MATCHER_ENT_TYPE] = "ent_type",
    [MATCHER_ENT_ID] = "ent_id", [MATCHER_ENT_KB_ID] = "ent_kb_id", [MATCHER_SHAPE] = "shape",
};

static unsigned flag_order[32];
static size_t n_flag_order;

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "matcher-spacy: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(2);
}

static matcher_text text_of(const json_value *v)
{
    if (!v || v->type != JSON_STRING) die("a token field is not a string", NULL);
    return (matcher_text){v->u.str.ptr, v->u.str.len};
}

static void read_token(const json_value *t, matcher_token *out)
{
    memset(out, 0, sizeof *out);
    for (int a = 0; a < MATCHER_NSTR; a++) out->str[a] = text_of(json_get(t, str_fields[a]));
    const json_value *length = json_get(t, "length"), *flags = json_get(t, "flags"),
                     *spacy = json_get(t, "spacy"), *sent = json_get(t, "sent_start"),
                     *iob = json_get(t, "ent_iob");
    if (!length || !flags || !spacy || !sent || !iob || flags->u.str.len != n_flag_order)
        die("a token misses a field", NULL);
    out->length = (long)length->u.num;
    for (size_t i = 0; i < n_flag_order; i++)
        if (flags->u.str.ptr[i] == '1') out->flags |= flag_order[i];
    if (spacy->type == JSON_TRUE) out->flags |= MATCHER_SPACY;
    out->sent_start = (int)sent->u.num;
    out->ent_iob = (int)iob->u.num;
}

/* 1 if spaCy's list (JSON [[key, start, end], ...]) equals ours; prints the first difference. */
static int same(const char *doc_id, const char *what, const json_value *want, const matcher_matches *got,
                const char *(*name)(const void *, unsigned), const void *owner, int report)
{
    size_t n = want->u.arr.n > got->n ? want->u.arr.n : got->n;
    for (size_t i = 0; i < n; i++) {
        const json_value *w = i < want->u.arr.n ? &want->u.arr.items[i] : NULL;
        const matcher_match *g = i < got->n ? &got->items[i] : NULL;
        if (w && g && !strcmp(w->u.arr.items[0].u.str.ptr, name(owner, g->key)) &&
            (int)w->u.arr.items[1].u.num == g->start && (int)w->u.arr.items[2].u.num == g->end)
            continue;
        if (report)
            fprintf(stderr, "%s: %s, match %zu of spaCy's %zu (ours %zu): spaCy (%s, %d, %d), nerd (%s, %d, %d)\n",
                    doc_id, what, i, want->u.arr.n, got->n,
                    w ? w->u.arr.items[0].u.str.ptr : "-", w ? (int)w->u.arr.items[1].u.num : -1,
                    w ? (int)w->u.arr.items[2].u.num : -1, g ? name(owner, g->key) : "-",
                    g ? g->start : -1, g ? g->end : -1);
        return 0;
    }
    return 1;
}

static const char *token_key(const void *m, unsigned k) { return matcher_key_name(m, k); }
static const char *phrase_key(const void *m, unsigned k) { return phrase_matcher_key_name(m, k); }

int main(int argc, char **argv)
{
    if (argc != 2) die("usage", "matcher-spacy-check CASES.jsonl");
    buf file = {0};
    char err[512];
    if (mf_read(argv[1], MF_MAX_MODEL_FILE, &file, err, sizeof err)) die("cannot read", err);
    jsonl_iter lines;
    jsonl_init(&lines, file.ptr, file.len, JSONL_MAX_LINE);
    int line = jsonl_next(&lines);
    if (line <= 0) die("header", line ? lines.err : "no header line");
    json_doc header = lines.doc; /* kept while the lines after it are read */
    lines.doc = (json_doc){0};

    const json_value *flags = json_get(&header.root, "flags");
    for (size_t i = 0; i < flags->u.arr.n && i < 32; i++) {
        size_t f = 0;
        while (f < sizeof flag_bits / sizeof flag_bits[0] && strcmp(flag_bits[f].name, flags->u.arr.items[i].u.str.ptr)) f++;
        if (f == sizeof flag_bits / sizeof flag_bits[0]) die("unknown flag", flags->u.arr.items[i].u.str.ptr);
        flag_order[n_flag_order++] = flag_bits[f].bit;
    }

    /* the named pattern sets ("golden", "random"), each its own matcher */
    enum { MAX_SETS = 8 };
    const json_value *sets = json_get(&header.root, "matchers");
    matcher *ms[MAX_SETS];
    size_t n_sets = sets->u.obj.n < MAX_SETS ? sets->u.obj.n : MAX_SETS, n_patterns = 0, n_keys = 0;
    for (size_t si = 0; si < n_sets; si++) {
        const json_value *rules = &sets->u.obj.items[si].val;
        ms[si] = matcher_new();
        for (size_t i = 0; i < rules->u.arr.n; i++) {
            const json_value *r = &rules->u.arr.items[i];
            const json_value *greedy = json_get(r, "greedy"), *patterns = json_get(r, "patterns");
            matcher_greedy g = greedy->type != JSON_STRING ? MATCHER_GREEDY_NONE
                             : !strcmp(greedy->u.str.ptr, "FIRST") ? MATCHER_GREEDY_FIRST : MATCHER_GREEDY_LONGEST;
            if (matcher_add(ms[si], json_get(r, "key")->u.str.ptr, patterns, g, err, sizeof err)) die("pattern", err);
            n_patterns += patterns->u.arr.n;
        }
        n_keys += matcher_key_count(ms[si]);
    }
    static const struct { const char *name; matcher_str_attr attr; } phrase_attrs[] = {
        {"ORTH", MATCHER_ORTH}, {"LOWER", MATCHER_LOWER}};
    enum { N_PHRASE_ATTRS = 2 };
    phrase_matcher *pms[N_PHRASE_ATTRS];
    size_t n_phrases = 0;
    const json_value *phrases = json_get(&header.root, "phrases");
    for (int a = 0; a < N_PHRASE_ATTRS; a++) {
        pms[a] = phrase_matcher_new(phrase_attrs[a].attr);
        const json_value *keys = json_get(phrases, phrase_attrs[a].name);
        for (size_t k = 0; k < keys->u.arr.n; k++) {
            const json_value *kv = &keys->u.arr.items[k], *list = json_get(kv, "phrases");
            for (size_t p = 0; p < list->u.arr.n; p++) {
                const json_value *toks = &list->u.arr.items[p];
                matcher_text words[64];
                size_t nw = 0;
                for (size_t w = 0; w < toks->u.arr.n && w < 64; w++) words[nw++] = text_of(&toks->u.arr.items[w]);
                if (phrase_matcher_add(pms[a], json_get(kv, "key")->u.str.ptr, words, nw)) die("out of memory", NULL);
                n_phrases++;
            }
        }
    }

    size_t n_docs = 0, n_tokens = 0, n_compared = 0, n_phrase_compared = 0, n_diff = 0;
    matcher_matches got = {0};
    matcher_token *toks = NULL;
    size_t toks_cap = 0;
    while ((line = jsonl_next(&lines)) != 0) {
        if (line < 0) die("doc line", lines.err);
        const json_doc d = lines.doc;
        const char *id = json_get(&d.root, "id")->u.str.ptr;
        const json_value *tokens = json_get(&d.root, "tokens");
        size_t n = tokens->u.arr.n;
        if (grow_array((void **)&toks, &toks_cap, n + 1, sizeof *toks)) die("out of memory", NULL);
        for (size_t i = 0; i < n; i++) read_token(&tokens->u.arr.items[i], &toks[i]);
        int ok = 1;
        const char *set = json_get(&d.root, "patterns")->u.str.ptr;
        size_t si = 0;
        while (si < n_sets && strcmp(sets->u.obj.items[si].key, set)) si++;
        if (si == n_sets) die("unknown pattern set", set);
        matcher *m = ms[si];
        const json_value *want = json_get(&d.root, "matches");
        if (matcher_run(m, toks, n, &got)) die("matcher_run failed", id);
        ok &= same(id, "Matcher", want, &got, token_key, m, n_diff < 20);
        n_compared += want->u.arr.n;
        const json_value *pwant = json_get(&d.root, "phrase_matches");
        for (int a = 0; a < N_PHRASE_ATTRS; a++) {
            const json_value *w = json_get(pwant, phrase_attrs[a].name);
            if (phrase_matcher_run(pms[a], toks, n, &got)) die("phrase_matcher_run failed", id);
            ok &= same(id, phrase_attrs[a].name, w, &got, phrase_key, pms[a], n_diff < 20);
            n_phrase_compared += w->u.arr.n;
        }
        n_diff += !ok;
        n_docs++;
        n_tokens += n;
    }
    jsonl_free(&lines);
    printf("matcher-spacy: %zu docs (%zu tokens), %zu patterns under %zu keys: %zu matches compared; "
           "PhraseMatcher (ORTH, LOWER) x %zu phrases: %zu matches compared; %zu docs differ\n",
           n_docs, n_tokens, n_patterns, n_keys, n_compared, n_phrases, n_phrase_compared, n_diff);
    matcher_matches_free(&got);
    free(toks);
    for (size_t si = 0; si < n_sets; si++) matcher_free(ms[si]);
    for (int a = 0; a < N_PHRASE_ATTRS; a++) phrase_matcher_free(pms[a]);
    json_doc_free(&header);
    buf_free(&file);
    return n_diff ? 1 : 0;
}
