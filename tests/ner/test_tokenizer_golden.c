/* Tokenizer parity: every document of the golden .jsonl files tokenized exactly as spaCy does, in
 * every field (text, idx, ws, norm, prefix, suffix, shape, is_space); on a mismatch the
 * document id and the first differing token are printed. */
#include "test.h"
#include "npy.h"
#include "nerd.h"
#include "modelfile/modelfile.h"
#include "util/json.h"

#include <dirent.h>
#include <unistd.h>


static int str_eq(nerd_str a, const json_value *b)
{
    return b && b->type == JSON_STRING && a.len == b->u.str.len && !memcmp(a.ptr, b->u.str.ptr, a.len);
}

/* Returns 1 if identical, else prints the first difference and returns 0. */
static int compare_doc(const nerd_model *m, nerd_doc *d, const json_value *doc)
{
    const json_value *id = json_get(doc, "id"), *text = json_get(doc, "text"), *toks = json_get(doc, "tokens");
    nerd_status st = nerd_tokenize(m, d, text->u.str.ptr, text->u.str.len);
    if (st != NERD_OK) {
        printf("  %s: nerd_tokenize failed: %s\n", id->u.str.ptr, nerd_strerror(st));
        return 0;
    }
    size_t n = nerd_doc_ntokens(d);
    for (size_t i = 0; i < n || i < toks->u.arr.n; i++) {
        if (i >= n || i >= toks->u.arr.n) {
            printf("  %s: %zu tokens, spaCy has %zu\n", id->u.str.ptr, n, toks->u.arr.n);
            return 0;
        }
        nerd_token t;
        nerd_doc_token(d, i, &t);
        const json_value *g = &toks->u.arr.items[i];
        const char *field = NULL;
        if (!str_eq(t.text, json_get(g, "text"))) field = "text";
        else if ((double)t.idx != json_get(g, "idx")->u.num) field = "idx";
        else if (t.ws != (json_get(g, "ws")->u.str.len == 1)) field = "ws";
        else if (!str_eq(t.norm, json_get(g, "norm"))) field = "norm";
        else if (!str_eq(t.prefix, json_get(g, "prefix"))) field = "prefix";
        else if (!str_eq(t.suffix, json_get(g, "suffix"))) field = "suffix";
        else if (!str_eq(t.shape, json_get(g, "shape"))) field = "shape";
        else if (t.is_space != (json_get(g, "is_space")->type == JSON_TRUE)) field = "is_space";
        if (field) {
            const json_value *gt = json_get(g, "text");
            printf("  %s: token %zu differs in %s: nerd \"%.*s\" idx %zu norm \"%.*s\" shape \"%.*s\" | spaCy \"%s\" "
                   "idx %.0f norm \"%s\" shape \"%s\"\n",
                   id->u.str.ptr, i, field, (int)t.text.len, t.text.ptr, t.idx, (int)t.norm.len, t.norm.ptr,
                   (int)t.shape.len, t.shape.ptr, gt->u.str.ptr, json_get(g, "idx")->u.num,
                   json_get(g, "norm")->u.str.ptr, json_get(g, "shape")->u.str.ptr);
            return 0;
        }
    }
    return 1;
}

static void golden_file(const char *name, int *all_same)
{
    nerd_model *m = test_model();
    nerd_doc *d = nerd_doc_new();
    size_t len;
    char *data = test_read_file(test_path(name), &len);
    CHECKF(data != NULL, "cannot read %s", name);
    size_t docs = 0, same = 0, shown = 0;
    jsonl_iter it;
    jsonl_init(&it, data, len, JSONL_MAX_LINE);
    for (int got; (got = jsonl_next(&it)) != 0;) {
        CHECKF(got > 0, "%s: %s", name, it.err);
        json_doc jd = it.doc;
        docs++;
        if (shown < 20) {
            int ok = compare_doc(m, d, &jd.root);
            same += ok;
            shown += !ok;
        } else {
            /* count silently once 20 differences are shown */
            fflush(stdout);
            int saved = dup(1);
            freopen("/dev/null", "w", stdout);
            same += compare_doc(m, d, &jd.root);
            fflush(stdout);
            dup2(saved, 1);
            close(saved);
        }
    }
    jsonl_free(&it);
    printf("  %s: tokens identical in %zu/%zu documents\n", name, same, docs);
    *all_same = docs > 0 && same == docs;
    free(data);
    nerd_doc_free(d);
    nerd_model_free(m);
}

TEST_T(tokenizer_golden_edge, 120)
{
    int ok;
    golden_file("golden/edge.jsonl", &ok);
    CHECK(ok);
}

TEST_T(tokenizer_golden_ewt, 120)
{
    int ok;
    golden_file("golden/ewt.jsonl", &ok);
    CHECK(ok);
}

TEST_T(tokenizer_golden_ewt_train_sample, 120)
{
    int ok;
    golden_file("golden/ewt_train_sample.jsonl", &ok);
    CHECK(ok);
}
