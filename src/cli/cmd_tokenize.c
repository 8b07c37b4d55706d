/* nerd tokenize: spaCy's tokens and the lexical attributes nerd computes as JSON. */
#include "cli/cli.h"
#include "cli/cli_common.h"
#include "pipeline/engine.h"
#include "text/lang.h"
#include "modelfile/modelfile.h"
#include "util/json.h"

#include <stdio.h>
#include <string.h>

static int put_str(buf *o, const char *key, nerd_str s)
{
    return buf_printf(o, ",\"%s\":", key) || json_write_string(o, s.ptr, s.len, 0);
}

/* The tokens of one text as JSON objects, each followed by sep ("\n" one per line, "," in an
 * array; the last one's separator is left off for an array). -1 with the cause on stderr. */
static int tokens_json(const nerd_model *m, nerd_doc *d, const char *text, size_t len, const char *sep, buf *out)
{
    nerd_status st = nerd_tokenize(m, d, text, len);
    if (st != NERD_OK) {
        fprintf(stderr, "nerd tokenize: %s\n", nerd_strerror(st));
        return -1;
    }
    size_t n = nerd_doc_ntokens(d);
    for (size_t i = 0; i < n; i++) {
        nerd_token t;
        nerd_doc_token(d, i, &t);
        int like_num = lang_like_num(m->lang, t.text.ptr, t.text.len), is_stop = lang_is_stop(m->lang, t.text.ptr, t.text.len);
        if (like_num < 0 || is_stop < 0) {
            fprintf(stderr, "nerd tokenize: out of memory\n");
            return -1;
        }
        buf_puts(out, "{\"text\":");
        json_write_string(out, t.text.ptr, t.text.len, 0);
        buf_printf(out, ",\"idx\":%zu,\"ws\":\"%s\"", t.idx, t.ws ? " " : "");
        put_str(out, "norm", t.norm);
        put_str(out, "prefix", t.prefix);
        put_str(out, "suffix", t.suffix);
        put_str(out, "shape", t.shape);
        buf_printf(out, ",\"is_space\":%s,\"like_num\":%s,\"is_stop\":%s}%s", t.is_space ? "true" : "false",
                   like_num ? "true" : "false", is_stop ? "true" : "false", i + 1 < n || *sep == '\n' ? sep : "");
    }
    return 0;
}

int cmd_tokenize(int argc, char **argv)
{
    const char *model = NULL, *input = NULL;
    int jsonl = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc) model = argv[++i];
        else if (!strncmp(argv[i], "--model=", 8)) model = argv[i] + 8;
        else if (!strcmp(argv[i], "--jsonl")) jsonl = 1;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: nerd tokenize [--model DIR] [--jsonl] [FILE|-]\n"
                   "Prints one JSON line per token: text, idx (code points), ws, norm, prefix, suffix, shape, is_space,\n"
                   "like_num, is_stop (those of the language, config.cfg [nlp] lang). With --jsonl each input line is\n"
                   "{\"text\": ...} and gets one line {\"tokens\": [...]}. DIR is any pipeline folder of a language\n"
                   "nerd computes, a blank one too (only its config, tokenizer and vocab are read).\n");
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "nerd tokenize: unknown option %s\n", argv[i]);
            return 2;
        } else input = argv[i];
    }
    buf text = {0}, out = {0};
    nerd_model *m = NULL;
    nerd_doc *d = NULL;
    int rc = 1;
    char path[4096], err[1024];
    if (cli_read_input(input, &text)) goto done;
    if (nerd_model_path(model, path, sizeof path, err, sizeof err) || !(m = engine_load_text(path, NULL, err, sizeof err))) {
        fprintf(stderr, "nerd: cannot load model: %s\n", err);
        goto done;
    }
    if (!(d = nerd_doc_new())) goto done;
    if (!jsonl) {
        if (tokens_json(m, d, text.ptr, text.len, "\n", &out)) goto done;
        fwrite(out.ptr, 1, out.len, stdout);
        rc = 0;
        goto done;
    }
    jsonl_iter it;
    jsonl_init(&it, text.ptr, text.len, JSONL_MAX_LINE);
    rc = 0;
    for (int got; (got = jsonl_next(&it)) != 0;) {
        buf_clear(&out);
        const json_value *t = got > 0 ? json_get(&it.doc.root, "text") : NULL;
        if (!t || t->type != JSON_STRING) {
            if (got < 0) fprintf(stderr, "nerd tokenize: %s\n", it.err); /* it names the line */
            else fprintf(stderr, "nerd tokenize: line %zu: %s\n", it.lineno, t ? "text must be a string" : "missing text");
            rc = 1;
            break;
        }
        buf_puts(&out, "{\"tokens\":[");
        if (tokens_json(m, d, t->u.str.ptr, t->u.str.len, ",", &out)) {
            rc = 1;
            break;
        }
        buf_puts(&out, "]}\n");
        fwrite(out.ptr, 1, out.len, stdout);
    }
    jsonl_free(&it);
done:
    buf_free(&text);
    buf_free(&out);
    nerd_doc_free(d);
    nerd_model_free(m);
    return rc;
}
