/* End-to-end parity through the CLI: `nerd eval` over every golden file must find 100% of
 * documents identical (entities and the seed's dict), and `nerd ner` must answer the seed's
 * Paris text with exactly spaCy's dict. */
#include "test.h"
#include "nerd.h"
#include "util/json.h"

#include <sys/wait.h>
#include <unistd.h>

/* Runs a shell command, captures stdout into out; returns the exit status. */
int test_run_capture(const char *cmd, buf *out);
int test_run_capture(const char *cmd, buf *out)
{
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    char chunk[4096];
    size_t r;
    while ((r = fread(chunk, 1, sizeof chunk, p)) > 0) buf_append(out, chunk, r);
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* nerd eval --pipeline p over every golden file; its output in out (the caller frees). */
static void eval_all(const char *pipeline, buf *out)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s eval --model %s --pipeline %s --min-identical 1.0 --golden %s %s %s", test_nerd_bin(),
             test_standin(), pipeline,
             test_path("golden/edge.jsonl"), test_path("golden/ewt.jsonl"), test_path("golden/ewt_train_sample.jsonl"));
    int rc = test_run_capture(cmd, out);
    printf("%s", out->ptr ? out->ptr : "");
    CHECKF(rc == 0, "nerd eval exited %d", rc);
    CHECK(out->ptr && strstr(out->ptr, "identical: 2672/2672 docs (100.00%)"));
}

/* the ner alone, compared with the golden `ner_only` where spaCy's pipelines differ */
TEST_T(eval_ner_pipeline_all_golden_identical, 300)
{
    buf out = {0};
    eval_all("ner", &out);
    buf_free(&out);
}

/* the full pipeline: entities, dict and sentence starts identical in every doc, and the
 * parse too: every head and label as spaCy's */
TEST_T(eval_full_pipeline_all_golden_identical, 300)
{
    buf out = {0};
    eval_all("full", &out);
    const char *all = out.ptr ? strstr(out.ptr, "all: sent_starts identical ") : NULL;
    CHECK(all);
    size_t ss, docs, heads, toks, labels, toks2, same, docs2;
    CHECK(sscanf(all, "all: sent_starts identical %zu/%zu; parse: heads %zu/%zu tokens (%*f), heads+deps %zu/%zu "
                      "(%*f), docs with identical heads and deps %zu/%zu", &ss, &docs, &heads, &toks, &labels, &toks2,
                 &same, &docs2) == 8);
    CHECK(docs == 2672 && ss == docs && toks > 70000 && heads == toks && labels == toks && same == docs);
    buf_free(&out);
}

TEST(eval_min_identical_fails_below_threshold)
{
    /* a golden file whose dict was tampered with: eval must notice and fail */
    char path[] = "/tmp/nerd-eval-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    const char *line = "{\"id\":\"t\",\"text\":\"Paris is in France.\",\"tokens\":[],\"ents\":[],\"dict\":{\"Paris\":\"ORG\"}}\n";
    CHECK(write(fd, line, strlen(line)) == (ssize_t)strlen(line));
    close(fd);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s eval --model %s --min-identical 1.0 --golden %s", test_nerd_bin(), test_standin(),
             path);
    buf out = {0};
    int rc = test_run_capture(cmd, &out);
    unlink(path);
    CHECK(rc == 1);
    CHECK(out.ptr && strstr(out.ptr, "identical: 0/1 docs"));
    buf_free(&out);
}

TEST(ner_cli_answers_paris_with_the_golden_dict)
{
    size_t len;
    char *golden = test_read_file(test_path("golden/edge.jsonl"), &len);
    CHECK(golden);
    char *nl = strchr(golden, '\n');
    json_doc gd;
    char err[256];
    CHECK(json_parse(golden, (size_t)(nl - golden), 0, &gd, err, sizeof err) == 0);
    CHECK_EQ_STR(json_get(&gd.root, "id")->u.str.ptr, "paris");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s ner --model %s %s", test_nerd_bin(), test_standin(), test_path("corpus/paris.txt"));
    buf out = {0};
    CHECK(test_run_capture(cmd, &out) == 0);
    json_doc mine;
    CHECKF(json_parse(out.ptr, out.len, 0, &mine, err, sizeof err) == 0, "%s", err);
    const json_value *want = json_get(&gd.root, "dict");
    CHECK_EQ_INT(mine.root.u.obj.n, want->u.obj.n);
    for (size_t i = 0; i < want->u.obj.n; i++) {
        CHECK_EQ_STR(mine.root.u.obj.items[i].key, want->u.obj.items[i].key);
        CHECK_EQ_STR(mine.root.u.obj.items[i].val.u.str.ptr, want->u.obj.items[i].val.u.str.ptr);
    }
    json_doc_free(&mine);
    json_doc_free(&gd);
    buf_free(&out);
    free(golden);
}

/* nerd eval in a fast mode over the golden files must reach these agreements. */
static void eval_precision_reaches(const char *pipeline, const char *precision, const char *min_identical,
                                   const char *min_f1)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "%s eval --model %s --pipeline %s --precision %s --min-identical %s --min-f1 %s --golden %s %s %s",
             test_nerd_bin(), test_standin(), pipeline, precision, min_identical, min_f1,
             test_path("golden/edge.jsonl"), test_path("golden/ewt.jsonl"), test_path("golden/ewt_train_sample.jsonl"));
    buf out = {0};
    int rc = test_run_capture(cmd, &out);
    printf("%s", out.ptr ? out.ptr : "");
    CHECKF(rc == 0, "nerd eval --pipeline %s --precision %s exited %d", pipeline, precision, rc);
    char want[64];
    snprintf(want, sizeof want, "precision: %s", precision);
    CHECK(out.ptr && strstr(out.ptr, want) && strstr(out.ptr, "entity F1 against spaCy: "));
    buf_free(&out);
}

/* Fast mode: bf16 products are an option, not spaCy-exact. Measured on the golden files
 * (AVX2 fallback, bit-identical to the portable path): 2668/2672 documents identical, entity
 * F1 0.9994 against spaCy. The thresholds leave room for AVX512_BF16 hardware, which flushes
 * denormals. */
TEST_T(eval_bf16_agrees_with_spacy_above_threshold, 300) { eval_precision_reaches("ner", "bf16", "0.995", "0.998"); }

/* int8 products (the encoder's weights 8-bit per column, activations 8-bit asymmetric per row;
 * integer sums, so every code path gives the same bits, and these figures are the same on
 * every machine; the parsers' tables bf16, whose bits are the same everywhere too). Measured on
 * the golden files (2026-11-30, and again with the bf16 tables): 2667/2672 documents identical,
 * entity F1 0.9993 with --pipeline ner; 2659/2672 (sentence starts included), F1 0.9993 with
 * --pipeline full (again 2659, F1 0.9996, with the dependency parser's table int8: the issue's
 * floor of 99.5%). The thresholds are those figures: one document fewer fails. */
TEST_T(eval_int8_agrees_with_spacy_above_threshold, 300) { eval_precision_reaches("ner", "int8", "0.998", "0.999"); }
TEST_T(eval_int8_full_agrees_with_spacy_above_threshold, 300)
{
    eval_precision_reaches("full", "int8", "0.995", "0.999");
}

TEST(precision_option_is_checked)
{
    nerd_precision p = NERD_PRECISION_BF16;
    CHECK(nerd_precision_parse("fp32", &p) == 0 && p == NERD_PRECISION_FP32);
    CHECK(nerd_precision_parse("bf16", &p) == 0 && p == NERD_PRECISION_BF16);
    CHECK(nerd_precision_parse("int8", &p) == 0 && p == NERD_PRECISION_INT8);
    static const char *bad[] = {"", "BF16", "fp16", "INT8", "int4", "bf16 ", "fp3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) CHECKF(nerd_precision_parse(bad[i], &p) == -1, "%s", bad[i]);
    CHECK(nerd_precision_parse(NULL, &p) == -1);
    char cmd[1024];
    buf out = {0};
    snprintf(cmd, sizeof cmd, "echo Paris | %s ner --model %s --precision fp16 - 2>&1", test_nerd_bin(), test_standin());
    CHECK(test_run_capture(cmd, &out) == 2);
    CHECK(out.ptr && strstr(out.ptr, "--precision must be fp32, bf16 or int8, not 'fp16'"));
    buf_clear(&out);
    snprintf(cmd, sizeof cmd, "%s serve --model %s --precision double 2>&1", test_nerd_bin(), test_standin());
    CHECK(test_run_capture(cmd, &out) == 2);
    CHECK(out.ptr && strstr(out.ptr, "--precision must be fp32, bf16 or int8, not 'double'"));
    buf_clear(&out);
    /* every precision answers the seed's text with spaCy's dict */
    static const char *precisions[] = {"fp32", "bf16", "int8"};
    for (int k = 0; k < 3; k++) {
        snprintf(cmd, sizeof cmd, "echo 'Paris is the capital of France.' | %s ner --model %s --precision=%s -",
                 test_nerd_bin(), test_standin(),
                 precisions[k]);
        CHECK(test_run_capture(cmd, &out) == 0);
        CHECKF(out.ptr && !strcmp(out.ptr, "{\"Paris\":\"GPE\",\"France\":\"GPE\"}\n"), "%s", out.ptr ? out.ptr : "");
        buf_clear(&out);
    }
    /* the cache size from the environment is checked at load */
    snprintf(cmd, sizeof cmd, "echo Paris | NERD_EMBED_CACHE=lots %s ner --model %s - 2>&1", test_nerd_bin(),
             test_standin());
    CHECK(test_run_capture(cmd, &out) == 1);
    CHECKF(out.ptr && strstr(out.ptr, "$NERD_EMBED_CACHE=lots"), "%s", out.ptr ? out.ptr : "");
    buf_free(&out);
}
