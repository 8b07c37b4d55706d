/* The doc pipeline (NERD_PIPELINE_DOC): what spacy.load(folder) runs, refused by the name of
 * a component nerd does not compute, and its entities those of the full pipeline. */
#include "test.h"
#include "model_helper.h"
#include "nerd.h"

#include <unistd.h>

/* A copy of the stand-in made of symlinks (test_edit_config unlinks what it rewrites). */
static const char *link_copy(char *dir, size_t len)
{
    char real[1024], cmd[2400];
    CHECK(realpath(test_standin(), real));
    snprintf(dir, len, "/tmp/nerd-doc-model-%d", (int)getpid());
    snprintf(cmd, sizeof cmd, "rm -rf %s && cp -rs %s %s", dir, real, dir);
    CHECK(system(cmd) == 0);
    return dir;
}

static void remove_copy(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

TEST(doc_pipeline_names)
{
    static const struct { const char *name; nerd_pipeline p; } names[] = {
        {"ner", NERD_PIPELINE_NER}, {"full", NERD_PIPELINE_FULL}, {"doc", NERD_PIPELINE_DOC}};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        nerd_pipeline p = (nerd_pipeline)-1;
        CHECK(nerd_pipeline_parse(names[i].name, &p) == 0 && p == names[i].p);
        CHECK(!strcmp(nerd_pipeline_name(names[i].p), names[i].name));
    }
    nerd_pipeline p;
    static const char *const bad[] = {"", "Doc", "docs", "full ", "2"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) CHECKF(nerd_pipeline_parse(bad[i], &p) == -1, "%s", bad[i]);
    CHECK(nerd_pipeline_parse(NULL, &p) == -1);
    CHECK(!strcmp(nerd_pipeline_name((nerd_pipeline)7), "unknown"));
}

/* An enabled component the doc pipeline does not compute is named (here the tagger; the senter
 * en_core_web_sm ships disabled is computed: after the parser without overwrite it changes
 * nothing); the other pipelines still run. */
TEST(doc_pipeline_refuses_by_name)
{
    char dir[256];
    link_copy(dir, sizeof dir);
    test_edit_config(dir, "[nlp]", "disabled = [\"senter\"]", "disabled = []");
    char err[1024];
    nerd_model *m = nerd_model_load(dir, NULL, err, sizeof err);
    CHECKF(m, "%s", err);
    CHECK(nerd_model_has_pipeline(m, NERD_PIPELINE_FULL) && !nerd_model_has_pipeline(m, NERD_PIPELINE_DOC));
    const char *why = nerd_model_pipeline_error(m, NERD_PIPELINE_DOC);
    CHECKF(why && strstr(why, "tagger") && strstr(why, "[components.tagger]"), "%s", why ? why : "(null)");
    nerd_doc *d = nerd_doc_new();
    CHECK(nerd_ner(m, d, "Paris", 5, NERD_PIPELINE_DOC) == NERD_ERR_UNSUPPORTED);
    CHECK(nerd_ner(m, d, "Paris", 5, NERD_PIPELINE_FULL) == NERD_OK);
    nerd_doc_free(d);
    nerd_model_free(m);
    /* the CLI says the same */
    char cmd[1024], out[2048] = "";
    snprintf(cmd, sizeof cmd, "echo Paris | %s ner --pipeline doc --model %s 2>&1", test_nerd_bin(), dir);
    CHECK(test_run_output(cmd, out, sizeof out) > 0);
    CHECKF(strstr(out, "cannot run the doc pipeline") && strstr(out, "tagger"), "%s", out);
    remove_copy(dir);
}

/* With only what the full pipeline computes, the doc pipeline's entities and parse are the
 * full pipeline's. */
TEST(doc_pipeline_entities_are_full)
{
    char dir[256];
    link_copy(dir, sizeof dir);
    test_edit_config(dir, "[nlp]", "\"tagger\",", "");
    test_edit_config(dir, "[nlp]", "\"attribute_ruler\",\"lemmatizer\",", "");
    char err[1024];
    nerd_model *m = nerd_model_load(dir, NULL, err, sizeof err);
    CHECKF(m, "%s", err);
    CHECKF(nerd_model_has_pipeline(m, NERD_PIPELINE_DOC), "%s", nerd_model_pipeline_error(m, NERD_PIPELINE_DOC));
    static const char text[] = "Apple is looking at buying U.K. startup for $1 billion. Paris is in France.";
    nerd_doc *a = nerd_doc_new(), *b = nerd_doc_new();
    CHECK(nerd_ner(m, a, text, sizeof text - 1, NERD_PIPELINE_DOC) == NERD_OK);
    CHECK(nerd_ner(m, b, text, sizeof text - 1, NERD_PIPELINE_FULL) == NERD_OK);
    char *x = test_annotations(a), *y = test_annotations(b);
    CHECK(nerd_doc_nents(a) > 0 && nerd_doc_sent_start(a, 0) == 1);
    CHECKF(!strcmp(x, y), "doc: %s\nfull: %s", x, y);
    free(x);
    free(y);
    nerd_doc_free(a);
    nerd_doc_free(b);
    nerd_model_free(m);
    remove_copy(dir);
}
