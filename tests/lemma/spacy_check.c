/* spacy_check.c - nerd's rule lemmatizer and noun chunks (English, French) against spaCy's
 * (`make test-lemma`).
 *
 * Reads a cases file of tests/lemma/gen_cases.py: its first line names the model folder and the
 * lemmatizer's config, each other line a doc's tokens (text, pos, morph, the lemma set before the
 * lemmatizer ran, the final lemma, head, dep, left and right edges) and its noun chunks. Loads the
 * folder's lemmatizer as its config.cfg configures it (its language picks the lemmatizer's class
 * and the syntax iterator), computes every token's lemma, the doc's edges and its chunks from
 * those inputs and compares them exactly.
 * Prints the first differences and, last, "lemma-spacy: ..." with the counts; the exit status is
 * non-zero on any difference.
 *
 *     build/lemma-spacy-check build/lemma/cases-real.jsonl */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "components/lemmatizer.h"
#include "components/noun_chunks.h"
#include "modelfile/modelfile.h"
#include "modelfile/spacy_config.h"
#include "util/buf.h"
#include "util/json.h"

enum { MAX_REPORTS = 20 };
/* a token's fields in the cases file */
enum { F_TEXT, F_POS, F_MORPH, F_PRESET, F_LEMMA, F_HEAD, F_DEP, F_LEFT_EDGE, F_RIGHT_EDGE, NFIELDS };

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "lemma-spacy: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(2);
}

static nerd_str str_field(const json_value *tok, int f)
{
    const json_value *v = &tok->u.arr.items[f];
    if (v->type != JSON_STRING) die("a token field is not a string", NULL);
    return (nerd_str){v->u.str.ptr, v->u.str.len};
}

static int same(nerd_str a, const char *p, size_t n) { return a.len == n && !memcmp(a.ptr, p, n); }

int main(int argc, char **argv)
{
    if (argc != 2) die("usage", "lemma-spacy-check CASES.jsonl");
    buf file = {0};
    char err[512];
    if (mf_read(argv[1], MF_MAX_MODEL_FILE, &file, err, sizeof err)) die("cannot read", err);
    jsonl_iter lines;
    jsonl_init(&lines, file.ptr, file.len, JSONL_MAX_LINE);
    if (jsonl_next(&lines) <= 0) die("header", lines.err);
    json_doc header = lines.doc; /* kept while the lines after it are read */
    lines.doc = (json_doc){0};
    const json_value *model = json_get(&header.root, "model");
    if (!model || model->type != JSON_STRING) die("header", "no model folder");
    /* the lemmatizer as the folder's config.cfg configures it (mode, overwrite, language) */
    buf path = {0};
    if (buf_printf(&path, "%s/config.cfg", model->u.str.ptr)) die("out of memory", NULL);
    spacy_config *cfg;
    if (cfg_load(path.ptr, &cfg, err, sizeof err)) die("cannot read the config", err);
    lemmatizer *lz;
    if (lemmatizer_load_component(&lz, cfg, model->u.str.ptr, "lemmatizer", err, sizeof err))
        die("cannot load the lemmatizer", err);
    char lang[16] = "";
    cfg_str(cfg, "nlp", "lang", lang, sizeof lang);
    cfg_free(cfg);
    noun_chunks_fn noun_chunks = noun_chunks_for_lang(lang);
    if (!noun_chunks) die("no noun chunks for the language", lang);

    size_t docs = 0, tokens = 0, presets = 0, lemmas_same = 0, chunk_docs_same = 0, chunks = 0, reports = 0;
    buf lemma = {0};
    size_t edges_same = 0;
    int32_t *head = NULL, *left_edge = NULL, *right_edge = NULL;
    const char **dep = NULL, **pos = NULL;
    size_t *start = NULL, *end = NULL, cap = 0;
    int line;
    while ((line = jsonl_next(&lines)) != 0) {
        if (line < 0) die("bad line", lines.err);
        const json_value *id = json_get(&lines.doc.root, "id"), *toks = json_get(&lines.doc.root, "tokens"),
                         *want = json_get(&lines.doc.root, "chunks");
        if (!id || !toks || !want || toks->type != JSON_ARRAY || want->type != JSON_ARRAY) die("a doc misses a field", NULL);
        size_t n = toks->u.arr.n;
        if (n > cap) {
            cap = n;
            head = realloc(head, cap * sizeof *head);
            left_edge = realloc(left_edge, cap * sizeof *left_edge);
            right_edge = realloc(right_edge, cap * sizeof *right_edge);
            dep = realloc(dep, cap * sizeof *dep);
            pos = realloc(pos, cap * sizeof *pos);
            start = realloc(start, cap * sizeof *start);
            end = realloc(end, cap * sizeof *end);
            if (!head || !left_edge || !right_edge || !dep || !pos || !start || !end) die("out of memory", NULL);
        }
        docs++;
        for (size_t i = 0; i < n; i++) {
            const json_value *t = &toks->u.arr.items[i];
            if (t->type != JSON_ARRAY || t->u.arr.n != NFIELDS) die("a token is not a list of its fields", id->u.str.ptr);
            lemmatizer_token lt = {str_field(t, F_TEXT), str_field(t, F_POS), str_field(t, F_MORPH), str_field(t, F_PRESET)};
            nerd_str wanted = str_field(t, F_LEMMA);
            buf_clear(&lemma);
            if (lemmatizer_lemma(lz, &lt, &lemma)) die("out of memory", NULL);
            tokens++;
            presets += lt.preset.len > 0;
            if (same(wanted, lemma.ptr ? lemma.ptr : "", lemma.len)) lemmas_same++;
            else if (reports++ < MAX_REPORTS)
                fprintf(stderr, "%s: token %zu %.*s (%.*s, %.*s, preset \"%.*s\"): spaCy \"%.*s\", nerd \"%.*s\"\n",
                        id->u.str.ptr, i, (int)lt.text.len, lt.text.ptr, (int)lt.pos.len, lt.pos.ptr,
                        (int)lt.morph.len, lt.morph.ptr, (int)lt.preset.len, lt.preset.ptr, (int)wanted.len,
                        wanted.ptr, (int)lemma.len, lemma.ptr ? lemma.ptr : "");
            head[i] = (int32_t)t->u.arr.items[F_HEAD].u.num;
            dep[i] = str_field(t, F_DEP).ptr;
            pos[i] = lt.pos.ptr;
        }
        if (doc_edges(n, head, left_edge, right_edge)) die("out of memory", NULL);
        for (size_t i = 0; i < n; i++) {
            int want_left = (int)toks->u.arr.items[i].u.arr.items[F_LEFT_EDGE].u.num;
            int want_right = (int)toks->u.arr.items[i].u.arr.items[F_RIGHT_EDGE].u.num;
            if (want_left == left_edge[i] && want_right == right_edge[i]) edges_same++;
            else if (reports++ < MAX_REPORTS)
                fprintf(stderr, "%s: token %zu: edges spaCy [%d, %d], nerd [%d, %d]\n", id->u.str.ptr, i, want_left,
                        want_right, (int)left_edge[i], (int)right_edge[i]);
        }
        long got = noun_chunks(n, head, dep, pos, start, end);
        if (got < 0) die("out of memory", NULL);
        chunks += want->u.arr.n;
        int ok = (size_t)got == want->u.arr.n;
        for (size_t k = 0; ok && k < want->u.arr.n; k++) {
            const json_value *c = &want->u.arr.items[k];
            ok = (size_t)c->u.arr.items[0].u.num == start[k] && (size_t)c->u.arr.items[1].u.num == end[k];
        }
        if (ok) chunk_docs_same++;
        else if (reports++ < MAX_REPORTS) {
            fprintf(stderr, "%s: noun chunks differ: spaCy", id->u.str.ptr);
            for (size_t k = 0; k < want->u.arr.n; k++)
                fprintf(stderr, " [%d,%d)", (int)want->u.arr.items[k].u.arr.items[0].u.num,
                        (int)want->u.arr.items[k].u.arr.items[1].u.num);
            fprintf(stderr, "; nerd");
            for (long k = 0; k < got; k++) fprintf(stderr, " [%zu,%zu)", start[k], end[k]);
            fprintf(stderr, "\n");
        }
    }
    printf("lemma-spacy: %s: %zu docs, %zu tokens (%zu with the attribute_ruler's lemma), %zu lemmas and %zu tokens' edges identical; "
           "%zu noun chunks, %zu of %zu docs' chunks identical\n",
           model->u.str.ptr, docs, tokens, presets, lemmas_same, edges_same, chunks, chunk_docs_same, docs);
    int fail = lemmas_same != tokens || edges_same != tokens || chunk_docs_same != docs;
    free(head);
    free(left_edge);
    free(right_edge);
    free(dep);
    free(pos);
    free(start);
    free(end);
    buf_free(&lemma);
    buf_free(&path);
    lemmatizer_free(lz);
    jsonl_free(&lines);
    json_doc_free(&header);
    buf_free(&file);
    return fail;
}
