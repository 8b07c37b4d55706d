/* nerd ner: entities of a text (a whole file) or of JSON lines {"text": ...}, one answer each. */
#include "cli/cli.h"
#include "cli/cli_common.h"
#include "util/ents_json.h"
#include "util/doc_json.h"
#include "modelfile/modelfile.h"
#include "util/json.h"

#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

typedef enum { FMT_DICT, FMT_ENTS, FMT_TOKENS, FMT_DOC } ner_format;

static int write_tokens(const nerd_doc *d, const char *text, buf *out)
{
    /* each token with the label of the entity it is in (BILUO-free, as spaCy's ent_type_);
     * after the full pipeline also its head, dependency label and sentence start */
    size_t ne = nerd_doc_nents(d), e = 0;
    if (buf_putc(out, '[')) return -1;
    for (size_t i = 0; i < nerd_doc_ntokens(d); i++) {
        nerd_token t;
        nerd_doc_token(d, i, &t);
        nerd_ent ent;
        const char *label = "";
        while (e < ne && !nerd_doc_ent(d, e, &ent) && ent.end <= i) e++;
        if (e < ne && !nerd_doc_ent(d, e, &ent) && ent.start <= i && i < ent.end) label = ent.label;
        if ((i && buf_putc(out, ',')) || buf_puts(out, "{\"text\":") || json_write_string(out, t.text.ptr, t.text.len, 0) ||
            buf_printf(out, ",\"idx\":%zu,\"ws\":%s,\"ent_type\":", t.idx, t.ws ? "true" : "false") ||
            json_write_string(out, label, strlen(label), 0))
            return -1;
        size_t head;
        const char *dep;
        if (!nerd_doc_head(d, i, &head, &dep) &&
            (buf_printf(out, ",\"head\":%zu,\"dep\":", head) || json_write_string(out, dep, strlen(dep), 0)))
            return -1;
        /* the parser's or, without one, the senter's */
        int start = nerd_doc_sent_start(d, i);
        if (start >= 0 && buf_printf(out, ",\"sent_start\":%s", start == 1 ? "true" : "false")) return -1;
        /* the doc pipeline's pos, morph and lemma, where the doc has them (spaCy's has_annotation) */
        static const struct { unsigned annot; const char *key; size_t field; } annot_fields[] = {
            {NERD_ANNOT_POS, "pos", offsetof(nerd_token_annot, pos)},
            {NERD_ANNOT_MORPH, "morph", offsetof(nerd_token_annot, morph)},
            {NERD_ANNOT_LEMMA, "lemma", offsetof(nerd_token_annot, lemma)},
        };
        nerd_token_annot an;
        unsigned have = nerd_doc_annotations(d);
        for (size_t k = 0; k < sizeof annot_fields / sizeof *annot_fields; k++) {
            if (!(have & annot_fields[k].annot) || nerd_doc_token_annot(d, i, &an)) continue;
            const nerd_str *v = (const nerd_str *)((const char *)&an + annot_fields[k].field);
            if (buf_printf(out, ",\"%s\":", annot_fields[k].key) || json_write_string(out, v->ptr, v->len, 0)) return -1;
        }
        if (buf_putc(out, '}')) return -1;
    }
    (void)text;
    return buf_putc(out, ']');
}

static int answer(const nerd_model *m, nerd_doc *d, const char *text, size_t len, nerd_pipeline p, ner_format f,
                  int noun_chunks, buf *out)
{
    nerd_status st = nerd_ner(m, d, text, len, p);
    if (st != NERD_OK) return buf_printf(out, "{\"error\":\"%s\"}", nerd_strerror(st)) ? -1 : 1;
    if (f == FMT_DICT) return ents_write_dict(d, text, out);
    if (f == FMT_ENTS) return ents_write_list(d, text, out);
    if (f == FMT_DOC) return doc_write_json(d, text, len, noun_chunks ? DOC_JSON_NOUN_CHUNKS : 0, out);
    return write_tokens(d, text, out);
}

int cmd_ner(int argc, char **argv)
{
    cli_model_opts mo = CLI_MODEL_OPTS_DEFAULT;
    const char *input = NULL, *v;
    ner_format fmt = FMT_DICT;
    int jsonl = 0, verbose = 0, noun_chunks = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int taken = cli_model_opt(argc, argv, &i, &mo);
        if (taken < 0) return 2;
        if (taken) continue;
        if ((v = cli_opt_value(argc, argv, &i, "--format"))) {
            if (!strcmp(v, "dict")) fmt = FMT_DICT;
            else if (!strcmp(v, "ents")) fmt = FMT_ENTS;
            else if (!strcmp(v, "tokens")) fmt = FMT_TOKENS;
            else if (!strcmp(v, "doc")) fmt = FMT_DOC;
            else { fprintf(stderr, "nerd ner: --format must be dict, ents, tokens or doc\n"); return 2; }
        } else if (!strcmp(a, "--jsonl")) jsonl = 1;
        else if (!strcmp(a, "--noun-chunks")) noun_chunks = 1;
        else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) verbose = 1;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: nerd ner [--model DIR] [--pipeline full|ner|doc] [--precision fp32|bf16|int8] [--format dict|ents|tokens|doc] [--noun-chunks] [--jsonl] [--verbose] [FILE|-]\n"
                   "Without --jsonl the whole input is one text; with it, each line is {\"text\": ...} and gets one answer line.\n"
                   "dict is the seed server's answer {entity_text: label}. --pipeline full (the default) runs the shared\n"
                   "tok2vec and the parser before the ner, as spacy.load; tokens then carry head, dep and sent_start.\n"
                   "--pipeline doc runs every component spacy.load runs (the tagger, attribute_ruler, lemmatizer too).\n"
                   "--format doc is spaCy's doc.to_json() (with --noun-chunks also doc.noun_chunks); it runs the doc\n"
                   "pipeline unless --pipeline says otherwise.\n"
                   "--precision bf16 runs the tok2vecs' products in bfloat16 (faster on CPUs with AVX512_BF16), int8 in\n"
                   "int8 (faster with AVX2); neither always gives spaCy's entities (see nerd eval); fp32, the default, does.\n");
            return 0;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "nerd ner: unknown option %s\n", a);
            return 2;
        } else input = a;
    }
    buf in = {0}, out = {0};
    nerd_model *m = NULL;
    nerd_doc *d = NULL;
    int rc = 1;
    nerd_pipeline pipeline = mo.pipeline;
    if (cli_read_input(input, &in) || !(m = cli_load_model(mo.model, verbose)) ||
        cli_apply_precision(m, mo.precision, verbose) || !(d = nerd_doc_new()))
        goto done;
    if (!mo.pipeline_given) pipeline = fmt == FMT_DOC ? NERD_PIPELINE_DOC : nerd_model_default_pipeline(m);
    if (!nerd_model_has_pipeline(m, pipeline)) {
        fprintf(stderr, "nerd ner: cannot run the %s pipeline: %s\n", nerd_pipeline_name(pipeline),
                nerd_model_pipeline_error(m, pipeline));
        goto done;
    }
    if (noun_chunks && fmt == FMT_DOC && nerd_model_noun_chunks_error(m)) {
        fprintf(stderr, "nerd ner: --noun-chunks: %s\n", nerd_model_noun_chunks_error(m));
        goto done;
    }
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    size_t docs = 0;
    rc = 0;
    if (!jsonl) {
        if (answer(m, d, in.ptr, in.len, pipeline, fmt, noun_chunks, &out) < 0) rc = 1;
        buf_putc(&out, '\n');
        fwrite(out.ptr, 1, out.len, stdout);
        rc |= nerd_doc_nents(d) == 0 && out.len > 9 && !strncmp(out.ptr, "{\"error\"", 8);
        docs = 1;
    } else {
        jsonl_iter it;
        jsonl_init(&it, in.ptr, in.len, JSONL_MAX_LINE);
        for (int got; (got = jsonl_next(&it)) != 0;) {
            buf_clear(&out);
            const json_value *t = got > 0 ? json_get(&it.doc.root, "text") : NULL;
            if (!t || t->type != JSON_STRING) {
                const char *why = t ? "text must be a string" : got < 0 ? it.err : "missing text";
                buf_puts(&out, "{\"error\":");
                json_write_string(&out, why, strlen(why), 0);
                buf_putc(&out, '}');
                rc = 1;
            } else if (answer(m, d, t->u.str.ptr, t->u.str.len, pipeline, fmt, noun_chunks, &out)) {
                rc = 1;
            }
            buf_putc(&out, '\n');
            fwrite(out.ptr, 1, out.len, stdout);
            docs++;
        }
        jsonl_free(&it);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (verbose)
        fprintf(stderr, "nerd: %zu document(s) in %.2f ms, resident memory %ld KiB\n", docs,
                (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6, cli_rss_kib());
done:
    buf_free(&in);
    buf_free(&out);
    nerd_doc_free(d);
    nerd_model_free(m);
    return rc;
}
