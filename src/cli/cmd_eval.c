/* nerd eval: nerd against spaCy's golden outputs: tokens, entities and the seed's dict,
 * document by document, with precision/recall/F1 against the golden labels. With the full
 * pipeline also the sentence starts (part of "identical"), and the parse: heads and labels
 * token by token (UAS/LAS-like agreement with spaCy, not with a treebank) and whole docs. */
#include "cli/cli.h"
#include "cli/cli_common.h"
#include "util/ents_json.h"
#include "modelfile/modelfile.h"
#include "util/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    size_t docs, tok_same, ents_same, dict_same, same, tp, npred, ngold;
    size_t sents_same, parse_same, toks, head_same, label_same; /* full pipeline */
} eval_counts;

static int dict_equal(const json_value *a, const json_value *b)
{
    if (!a || !b || a->type != JSON_OBJECT || b->type != JSON_OBJECT || a->u.obj.n != b->u.obj.n) return 0;
    for (size_t i = 0; i < a->u.obj.n; i++) {
        const json_member *x = &a->u.obj.items[i], *y = &b->u.obj.items[i];
        if (x->keylen != y->keylen || memcmp(x->key, y->key, x->keylen) || x->val.type != JSON_STRING ||
            y->val.type != JSON_STRING || strcmp(x->val.u.str.ptr, y->val.u.str.ptr))
            return 0;
    }
    return 1;
}

static double num(const json_value *o, const char *k)
{
    const json_value *v = json_get(o, k);
    return v && v->type == JSON_NUMBER ? v->u.num : -1;
}

static const char *str(const json_value *o, const char *k)
{
    const json_value *v = json_get(o, k);
    return v && v->type == JSON_STRING ? v->u.str.ptr : "";
}

/* The full pipeline's parse against the golden sent_starts, heads and deps. Returns 1 when
 * the sentence starts are identical; counts head and label agreement; *doc_parse_same = 1 when
 * every head and label is. */
static int eval_parse(const nerd_doc *d, const json_value *g, eval_counts *c, int *doc_parse_same)
{
    const json_value *ss = json_get(g, "sent_starts"), *heads = json_get(g, "heads"), *deps = json_get(g, "deps");
    size_t n = nerd_doc_ntokens(d), k = 0;
    int sents_same = ss && ss->type == JSON_ARRAY;
    for (size_t i = 0; sents_same && i < n; i++) {
        if (nerd_doc_sent_start(d, i) != 1) continue;
        sents_same = k < ss->u.arr.n && ss->u.arr.items[k].type == JSON_NUMBER && ss->u.arr.items[k].u.num == (double)i;
        k++;
    }
    sents_same = sents_same && k == ss->u.arr.n;
    c->sents_same += sents_same;
    int parse_same = heads && deps && heads->type == JSON_ARRAY && deps->type == JSON_ARRAY && heads->u.arr.n == n &&
                     deps->u.arr.n == n;
    *doc_parse_same = parse_same;
    if (!parse_same) return sents_same;
    for (size_t i = 0; i < n; i++) {
        size_t h;
        const char *dep;
        if (nerd_doc_head(d, i, &h, &dep)) { parse_same = 0; continue; }
        const json_value *gh = &heads->u.arr.items[i], *gd = &deps->u.arr.items[i];
        int head_ok = gh->type == JSON_NUMBER && gh->u.num == (double)h;
        int label_ok = head_ok && gd->type == JSON_STRING && !strcmp(gd->u.str.ptr, dep);
        c->head_same += head_ok;
        c->label_same += label_ok;
        parse_same &= label_ok;
    }
    c->toks += n;
    c->parse_same += parse_same;
    *doc_parse_same = parse_same;
    return sents_same;
}

/* One golden document; returns 1 if identical: entities, dict and (full pipeline) sentence
 * starts, and with all_fields the tokens and (full) every head and label too. Prints the
 * difference when *shown < max. */
static int eval_doc(const nerd_model *m, nerd_doc *d, nerd_pipeline p, int all_fields, const json_value *g,
                    eval_counts *c, int *shown, int max_shown, buf *scratch)
{
    const json_value *text = json_get(g, "text"), *toks = json_get(g, "tokens");
    const json_value *src = g, *only = json_get(g, "ner_only");
    if (p == NERD_PIPELINE_NER && only && only->type == JSON_OBJECT) src = only;
    const json_value *gents = json_get(src, "ents"), *gdict = json_get(src, "dict");
    if (!text || text->type != JSON_STRING || !gents || gents->type != JSON_ARRAY) {
        fprintf(stderr, "nerd eval: a golden line without text or ents\n");
        return 0;
    }
    c->docs++;
    nerd_status st = nerd_ner(m, d, text->u.str.ptr, text->u.str.len, p);
    if (st != NERD_OK) {
        if (*shown < max_shown) printf("  %s: %s\n", str(g, "id"), nerd_strerror(st)), (*shown)++;
        return 0;
    }
    int tok_same = toks && toks->type == JSON_ARRAY && toks->u.arr.n == nerd_doc_ntokens(d);
    for (size_t i = 0; tok_same && i < toks->u.arr.n; i++) {
        nerd_token t;
        nerd_doc_token(d, i, &t);
        const json_value *gt = json_get(&toks->u.arr.items[i], "text");
        tok_same = gt && gt->u.str.len == t.text.len && !memcmp(gt->u.str.ptr, t.text.ptr, t.text.len) &&
                   num(&toks->u.arr.items[i], "idx") == (double)t.idx;
    }
    c->tok_same += tok_same;

    size_t n = nerd_doc_nents(d), gn = gents->u.arr.n;
    int ents_same = n == gn;
    for (size_t i = 0; i < n; i++) {
        nerd_ent e;
        nerd_doc_ent(d, i, &e);
        if (ents_same) {
            const json_value *ge = &gents->u.arr.items[i];
            ents_same = num(ge, "start_char") == (double)e.start_char && num(ge, "end_char") == (double)e.end_char &&
                        !strcmp(str(ge, "label"), e.label);
        }
        for (size_t k = 0; k < gn; k++) { /* true positives: same span and label */
            const json_value *ge = &gents->u.arr.items[k];
            if (num(ge, "start_char") == (double)e.start_char && num(ge, "end_char") == (double)e.end_char &&
                !strcmp(str(ge, "label"), e.label)) {
                c->tp++;
                break;
            }
        }
    }
    c->npred += n;
    c->ngold += gn;
    c->ents_same += ents_same;

    int sents_same = 1, parse_same = 1;
    if (p != NERD_PIPELINE_NER) sents_same = eval_parse(d, g, c, &parse_same);

    buf_clear(scratch);
    json_doc mine;
    char err[128];
    int dict_same = !ents_write_dict(d, text->u.str.ptr, scratch) &&
                    !json_parse(scratch->ptr, scratch->len, 0, &mine, err, sizeof err) && dict_equal(&mine.root, gdict);
    json_doc_free(&mine);
    c->dict_same += dict_same;
    int same = ents_same && dict_same && sents_same && (!all_fields || (tok_same && parse_same));
    c->same += same;
    if (!sents_same && *shown < max_shown) printf("  %s: sentence starts differ\n", str(g, "id"));
    if (all_fields && !tok_same && *shown < max_shown) printf("  %s: tokens differ\n", str(g, "id"));
    if (all_fields && !parse_same && *shown < max_shown) printf("  %s: heads or labels differ\n", str(g, "id"));
    if (!same && *shown < max_shown) {
        (*shown)++;
        printf("  %s: nerd %s\n", str(g, "id"), scratch->ptr);
        buf_clear(scratch);
        buf_puts(scratch, "{");
        for (size_t k = 0; gdict && k < gdict->u.obj.n; k++) {
            const json_member *mb = &gdict->u.obj.items[k];
            if (k) buf_putc(scratch, ',');
            json_write_string(scratch, mb->key, mb->keylen, 0);
            buf_putc(scratch, ':');
            json_write_string(scratch, mb->val.u.str.ptr, mb->val.u.str.len, 0);
        }
        buf_puts(scratch, "}");
        printf("  %*s  spaCy %s\n", (int)strlen(str(g, "id")), "", scratch->ptr);
    }
    return same;
}

static void print_counts(const char *name, const eval_counts *c, int full)
{
    double p = c->npred ? (double)c->tp / c->npred : 1, r = c->ngold ? (double)c->tp / c->ngold : 1;
    double f = p + r > 0 ? 2 * p * r / (p + r) : 0;
    printf("%s: %zu docs, tokens identical %zu/%zu, ents identical %zu/%zu, dict identical %zu/%zu, "
           "entity P %.4f R %.4f F1 %.4f, identical %zu/%zu\n",
           name, c->docs, c->tok_same, c->docs, c->ents_same, c->docs, c->dict_same, c->docs, p, r, f, c->same, c->docs);
    if (full)
        printf("%s: sent_starts identical %zu/%zu; parse: heads %zu/%zu tokens (%.4f), heads+deps %zu/%zu (%.4f), "
               "docs with identical heads and deps %zu/%zu\n",
               name, c->sents_same, c->docs, c->head_same, c->toks, c->toks ? (double)c->head_same / c->toks : 1,
               c->label_same, c->toks, c->toks ? (double)c->label_same / c->toks : 1, c->parse_same, c->docs);
}

int cmd_eval(int argc, char **argv)
{
    cli_model_opts mo = CLI_MODEL_OPTS_DEFAULT;
    const char *files[64], *v;
    int nfiles = 0, max_shown = 5, all_fields = 0;
    double min_identical = -1, min_f1 = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int taken = cli_model_opt(argc, argv, &i, &mo);
        if (taken < 0) return 2;
        if (taken) continue;
        if ((v = cli_opt_value(argc, argv, &i, "--golden"))) {
            if (nfiles < 64) files[nfiles++] = v;
        } else if (!strcmp(a, "--min-identical") && i + 1 < argc) min_identical = atof(argv[++i]);
        else if (!strcmp(a, "--min-f1") && i + 1 < argc) min_f1 = atof(argv[++i]);
        else if (!strcmp(a, "--show") && i + 1 < argc) max_shown = atoi(argv[++i]);
        else if (!strcmp(a, "--all-fields")) all_fields = 1;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: nerd eval [--model DIR] [--pipeline full|ner|doc] [--precision fp32|bf16|int8] --golden FILE.jsonl...\n"
                   "                 [--min-identical FRACTION] [--min-f1 F1] [--show N] [--all-fields]\n"
                   "Compares nerd with spaCy's golden outputs; the last lines are the entity F1 against spaCy over all\n"
                   "files and \"identical: X/Y docs (P%%)\". Exits 1 below --min-identical or --min-f1.\n"
                   "--pipeline full (the default) also compares sentence starts, and reports head/label agreement;\n"
                   "--pipeline ner compares with the golden ner_only answers where spaCy's pipelines differ.\n"
                   "--all-fields: a document counts as identical only when its tokens (text, offset) and, with\n"
                   "--pipeline full, every head and label are identical too.\n");
            return 0;
        } else if (a[0] != '-' && nfiles > 0 && nfiles < 64) files[nfiles++] = a; /* --golden a.jsonl b.jsonl */
        else {
            fprintf(stderr, "nerd eval: unknown argument %s\n", a);
            return 2;
        }
    }
    if (!nfiles) {
        fprintf(stderr, "nerd eval: give at least one --golden FILE.jsonl\n");
        return 2;
    }
    const nerd_precision precision = mo.precision;
    nerd_model *m = cli_load_model(mo.model, 0);
    if (!m) return 1;
    const nerd_pipeline pipeline = mo.pipeline_given ? mo.pipeline : nerd_model_default_pipeline(m);
    if (cli_apply_precision(m, precision, 0)) {
        nerd_model_free(m);
        return 1;
    }
    printf("model: %s %s from %s, weights sha256 %.12s\n", nerd_model_name(m), nerd_model_version(m), nerd_model_dir(m),
           nerd_model_weights_sha256(m));
    printf("precision: %s (products on the %s code path, instruction set %s)\n", nerd_precision_name(precision),
           nerd_precision_kernel(precision), nerd_isa());
    if (!nerd_model_has_pipeline(m, pipeline)) {
        fprintf(stderr, "nerd eval: cannot run the %s pipeline: %s\n", nerd_pipeline_name(pipeline),
                nerd_model_pipeline_error(m, pipeline));
        nerd_model_free(m);
        return 1;
    }
    nerd_doc *d = nerd_doc_new();
    buf in = {0}, scratch = {0};
    eval_counts total = {0};
    int rc = 0, shown = 0;
    for (int f = 0; f < nfiles; f++) {
        buf_clear(&in);
        if (cli_read_input(files[f], &in)) { rc = 1; continue; }
        eval_counts c = {0};
        jsonl_iter it;
        jsonl_init(&it, in.ptr, in.len, JSONL_MAX_LINE);
        for (int got; (got = jsonl_next(&it)) != 0;) {
            if (got < 0) {
                fprintf(stderr, "nerd eval: %s: %s\n", files[f], it.err);
                rc = 1;
            } else {
                eval_doc(m, d, pipeline, all_fields, &it.doc.root, &c, &shown, max_shown, &scratch);
            }
        }
        jsonl_free(&it);
        print_counts(files[f], &c, pipeline != NERD_PIPELINE_NER);
        total.docs += c.docs; total.tok_same += c.tok_same; total.ents_same += c.ents_same;
        total.dict_same += c.dict_same; total.same += c.same; total.tp += c.tp; total.npred += c.npred;
        total.ngold += c.ngold;
        total.sents_same += c.sents_same; total.parse_same += c.parse_same; total.toks += c.toks;
        total.head_same += c.head_same; total.label_same += c.label_same;
    }
    if (nfiles > 1) print_counts("all", &total, pipeline != NERD_PIPELINE_NER);
    double frac = total.docs ? (double)total.same / total.docs : 0;
    double f1 = total.npred + total.ngold ? 2.0 * total.tp / (double)(total.npred + total.ngold) : 1.0;
    printf("entity F1 against spaCy: %.4f\n", f1);
    printf("identical: %zu/%zu docs (%.2f%%)\n", total.same, total.docs, 100 * frac);
    if (min_identical >= 0 && frac < min_identical) rc = 1;
    if (min_f1 >= 0 && f1 < min_f1) rc = 1;
    buf_free(&in);
    buf_free(&scratch);
    nerd_doc_free(d);
    nerd_model_free(m);
    return rc;
}
