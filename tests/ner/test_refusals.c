/* Every factory, architecture and setting nerd does not compute is refused at load with a
 * message naming config.cfg, the section and what it does not implement (issue 19); each case
 * edits a copy of the stand-in's config.cfg (or writes a patterns file) in a temporary folder. */
#include "test.h"
#include "model_helper.h"
#include "nerd.h"
#include "util/buf.h"

#include <sys/stat.h>
#include <unistd.h>

static char copy_dir[256];

/* A copy of the stand-in: config.cfg copied (so it can be edited), everything else linked. */
static void fresh(void)
{
    char real[1024], cmd[4096];
    CHECK(realpath(test_path("models/en_core_web_sm"), real));
    snprintf(copy_dir, sizeof copy_dir, "/tmp/nerd-refusals-%d", (int)getpid());
    snprintf(cmd, sizeof cmd, "rm -rf %s && cp -rs %s %s && rm %s/config.cfg && cp %s/config.cfg %s/config.cfg",
             copy_dir, real, copy_dir, copy_dir, real, copy_dir);
    CHECK(system(cmd) == 0);
}

static void cleanup(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", copy_dir);
    if (system(cmd)) {}
}

static void edit(const char *anchor, const char *from, const char *to) { test_edit_config(copy_dir, anchor, from, to); }

/* The load fails with status want and an error holding every needle. */
static void expect_refusal(const char *what, nerd_status want, const char *const *needles)
{
    char err[1024] = "";
    nerd_status st = NERD_OK;
    nerd_model *m = nerd_model_load(copy_dir, &st, err, sizeof err);
    CHECKF(!m, "%s: loaded", what);
    CHECKF(st == want, "%s: status %d, expected %d (%s)", what, st, want, err);
    for (int i = 0; needles[i]; i++) CHECKF(strstr(err, needles[i]), "%s: \"%s\" does not name %s", what, err, needles[i]);
    printf("  %s -> %s\n", what, err);
}

TEST(refusal_names_the_unsupported_factory_and_section)
{
    static const struct { const char *anchor, *from, *to, *needles[4]; } cases[] = {
        {"[components.lemmatizer]", "factory = \"lemmatizer\"", "factory = \"textcat\"",
         {"config.cfg", "[components.lemmatizer]", "factory \"textcat\" is not supported", NULL}},
        {"[components.lemmatizer]", "factory = \"lemmatizer\"", "factory = \"sentencizer\"",
         {"config.cfg", "[components.lemmatizer]", "factory \"sentencizer\"", NULL}},
        /* a span_ruler that writes doc.ents (without annotate_ents it writes only doc.spans) with
         * a filter or a phrase attribute nerd does not implement */
        {"[components.lemmatizer]", "factory = \"lemmatizer\"",
         "factory = \"span_ruler\"\nannotate_ents = true\nents_filter = {\"@misc\":\"my.ents_filter.v1\"}",
         {"config.cfg", "[components.lemmatizer]", "ents_filter \"my.ents_filter.v1\" is not supported", NULL}},
        {"[components.lemmatizer]", "factory = \"lemmatizer\"",
         "factory = \"span_ruler\"\nannotate_ents = true\nphrase_matcher_attr = \"SHAPE\"",
         {"config.cfg", "[components.lemmatizer]", "phrase_matcher_attr \"SHAPE\" is not supported", NULL}},
        {"[components.tagger]", "factory = \"tagger\"", "factory = \"merge_entities\"",
         {"[components.tagger]", "factory \"merge_entities\"", NULL}},
        {"[components.ner]", "factory = \"ner\"", "factory = \"beam_ner\"",
         {"[components.ner]", "factory \"beam_ner\"", NULL}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fresh();
        edit(cases[i].anchor, cases[i].from, cases[i].to);
        expect_refusal(cases[i].to, NERD_ERR_UNSUPPORTED, cases[i].needles);
    }
    cleanup();
}

/* A span_ruler writing only doc.spans (annotate_ents false, its default) changes no entity: the
 * folder loads and gives the stand-in's entities; its spans are the doc's "ruler" group (spaCy
 * reads its patterns file, which must be there). */
TEST(refusal_spares_a_span_ruler_that_leaves_the_entities)
{
    fresh();
    edit("[components.lemmatizer]", "factory = \"lemmatizer\"", "factory = \"span_ruler\"\nannotate_ents = false");
    char path[512];
    snprintf(path, sizeof path, "%s/lemmatizer/patterns", copy_dir);
    FILE *f = fopen(path, "w");
    CHECK(f);
    fputs("{\"label\":\"CITY\",\"pattern\":\"Paris\"}\n", f);
    fclose(f);
    char err[1024] = "";
    nerd_status st;
    nerd_model *m = nerd_model_load(copy_dir, &st, err, sizeof err);
    CHECKF(m, "span_ruler without annotate_ents refused: %s", err);
    nerd_doc *d = nerd_doc_new();
    const char *text = "Angela Merkel visited Paris.";
    CHECK_EQ_INT(nerd_ner(m, d, text, strlen(text), NERD_PIPELINE_FULL), NERD_OK);
    /* the stand-in's own answer */
    nerd_doc *plain = nerd_doc_new();
    nerd_model *standin = test_model();
    CHECK_EQ_INT(nerd_ner(standin, plain, text, strlen(text), NERD_PIPELINE_FULL), NERD_OK);
    CHECK(nerd_doc_nents(d) == nerd_doc_nents(plain) && nerd_doc_nents(d) > 0);
    for (size_t i = 0; i < nerd_doc_nents(d); i++) {
        nerd_ent a, b;
        CHECK(nerd_doc_ent(d, i, &a) == 0 && nerd_doc_ent(plain, i, &b) == 0);
        CHECK(a.start == b.start && a.end == b.end && !strcmp(a.label, b.label) && !*a.ent_id);
    }
    size_t nspans = 0;
    nerd_ent s;
    CHECK(nerd_doc_nspan_groups(d) == 1 && !strcmp(nerd_doc_span_group(d, 0, &nspans), "ruler") && nspans == 1);
    CHECK(nerd_doc_span(d, 0, 0, &s) == 0 && s.start == 3 && s.end == 4 && !strcmp(s.label, "CITY"));
    nerd_doc_free(plain);
    nerd_model_free(standin);
    nerd_doc_free(d);
    nerd_model_free(m);
    cleanup();
}

TEST(refusal_names_the_unsupported_architecture_and_setting)
{
    static const struct { const char *anchor, *from, *to, *needles[4]; } cases[] = {
        {"[components.ner.model.tok2vec.embed]", "include_static_vectors = false", "include_static_vectors = true",
         {"[components.ner.model.tok2vec.embed]", "include_static_vectors", NULL}},
        {"[components.ner.model]", "spacy.TransitionBasedParser.v2", "spacy.TransitionBasedParser.v3",
         {"[components.ner.model]", "spacy.TransitionBasedParser.v3", NULL}},
        /* Tok2Vec.v1 pads a v1 encoder; with a v2 one spaCy's answers depend on the batch */
        {"[components.ner.model.tok2vec]", "spacy.Tok2Vec.v2", "spacy.Tok2Vec.v1",
         {"[components.ner.model.tok2vec.encode]", "spacy.MaxoutWindowEncoder.v2", NULL}},
        {"[components.ner.model.tok2vec.embed]", "spacy.MultiHashEmbed.v2", "spacy.CharacterEmbed.v2",
         {"[components.ner.model.tok2vec.embed]", "spacy.CharacterEmbed.v2", NULL}},
        {"[components.ner.model.tok2vec.encode]", "spacy.MaxoutWindowEncoder.v2", "spacy.TorchBiLSTMEncoder.v1",
         {"[components.ner.model.tok2vec.encode]", "spacy.TorchBiLSTMEncoder.v1", NULL}},
        {"[components.ner.model.tok2vec.embed]", "\"SHAPE\"]", "\"LENGTH\"]",
         {"[components.ner.model.tok2vec.embed]", "LENGTH", NULL}},
        {"[components.ner.model.tok2vec]", "@architectures = \"spacy.Tok2Vec.v2\"",
         "@architectures = \"spacy.Tok2VecListener.v1\"\nupstream = \"nosuch\"",
         {"[components.ner.model.tok2vec]", "\"nosuch\"", NULL}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fresh();
        edit(cases[i].anchor, cases[i].from, cases[i].to);
        expect_refusal(cases[i].to, NERD_ERR_UNSUPPORTED, cases[i].needles);
    }
    /* use_upper = false over weights that have an output layer, 6 ner features over weights for 3:
     * the weights do not match */
    fresh();
    edit("[components.ner.model]", "use_upper = true", "use_upper = false");
    expect_refusal("use_upper = false", NERD_ERR_FORMAT, (const char *const[]){"ner/model", "output layer", NULL});
    fresh();
    edit("[components.ner.model]", "extra_state_tokens = false", "extra_state_tokens = true");
    expect_refusal("ner extra_state_tokens", NERD_ERR_FORMAT, (const char *const[]){"ner/model", "3 features", NULL});
    fresh();
    edit("[components.parser.model]", "extra_state_tokens = false", "extra_state_tokens = true");
    expect_refusal("parser extra_state_tokens", NERD_ERR_FORMAT,
                   (const char *const[]){"parser/model", "8 features", NULL});
    cleanup();
}

/* A senter sets sentence starts the parser and the ner respect: nerd runs a folder with one
 * only where it changes nothing (enabled after the parser, overwrite = false). */
TEST(refusal_of_a_senter_that_changes_sentence_starts)
{
    fresh();
    edit("[nlp]", "disabled = [\"senter\"]", "disabled = []");
    char err[1024];
    nerd_model *m = nerd_model_load(copy_dir, NULL, err, sizeof err);
    CHECKF(m, "an enabled senter after the parser without overwrite: %s", err);
    nerd_model_free(m);
    edit("[components.senter]", "overwrite = false", "overwrite = true");
    expect_refusal("senter with overwrite", NERD_ERR_UNSUPPORTED, (const char *const[]){"[components.senter]", "overwrite", NULL});
    fresh();
    edit("[nlp]", "\"tagger\",\"parser\",\"senter\"", "\"tagger\",\"senter\",\"parser\"");
    edit("[nlp]", "disabled = [\"senter\"]", "disabled = []");
    expect_refusal("senter before the parser", NERD_ERR_UNSUPPORTED,
                   (const char *const[]){"[components.senter]", "before the parser", NULL});
    cleanup();
}

/* An attribute_ruler before the ner that sets NORM changes what the ner embeds: refused, by
 * the library and by `nerd ner --pipeline ner` (which would otherwise drop it silently). */
TEST(refusal_of_an_attribute_ruler_that_sets_what_the_ner_reads)
{
    fresh();
    /* [{"patterns": [[{"ORTH": "x"}]], "attrs": {"NORM": "y"}, "index": 0}] */
    static const unsigned char patterns[] = {
        0x91, 0x83, 0xa8, 'p', 'a', 't', 't', 'e', 'r', 'n', 's', 0x91, 0x91, 0x81, 0xa4, 'O', 'R', 'T', 'H', 0xa1, 'x',
        0xa5, 'a', 't', 't', 'r', 's', 0x81, 0xa4, 'N', 'O', 'R', 'M', 0xa1, 'y', 0xa5, 'i', 'n', 'd', 'e', 'x', 0x00};
    char p[1024];
    snprintf(p, sizeof p, "%s/attribute_ruler/patterns", copy_dir);
    CHECK(unlink(p) == 0);
    FILE *f = fopen(p, "wb");
    CHECK(f && fwrite(patterns, 1, sizeof patterns, f) == sizeof patterns);
    fclose(f);
    expect_refusal("NORM rule", NERD_ERR_UNSUPPORTED,
                   (const char *const[]){"[components.attribute_ruler]", "sets NORM", NULL});
    char cmd[1024], out[2048];
    snprintf(cmd, sizeof cmd, "echo 'Paris' | %s ner --pipeline ner --model %s 2>&1", test_nerd_bin(), copy_dir);
    FILE *pp = popen(cmd, "r");
    CHECK(pp);
    size_t n = fread(out, 1, sizeof out - 1, pp);
    out[n] = 0;
    CHECK(pclose(pp) != 0);
    CHECKF(strstr(out, "sets NORM"), "%s", out);
    /* after the ner the same rule changes nothing the ner saw: the folder loads */
    edit("[nlp]", "\"attribute_ruler\",\"lemmatizer\",\"ner\"", "\"lemmatizer\",\"ner\",\"attribute_ruler\"");
    char err[1024];
    nerd_model *m = nerd_model_load(copy_dir, NULL, err, sizeof err);
    CHECKF(m, "%s", err);
    nerd_model_free(m);
    cleanup();
}

/* confection's ${section.key} references (what spacy init config writes) resolve like
 * ${section:key}; nerd used to refuse them as missing dimensions. */
TEST(config_dot_references_resolve)
{
    fresh();
    edit("[components.tok2vec.model.embed]", "${components.tok2vec.model.encode:width}",
         "${components.tok2vec.model.encode.width}");
    char err[1024];
    nerd_model *m = nerd_model_load(copy_dir, NULL, err, sizeof err);
    CHECKF(m, "%s", err);
    CHECK(nerd_model_has_pipeline(m, NERD_PIPELINE_FULL));
    nerd_model_free(m);
    cleanup();
}

/* config.cfg's [nlp] lang picks spaCy's Language class (its tokenizer class and lexical
 * attributes): a language nerd does not compute is refused by name, as is a tokenizer the
 * language's class would not build. */
TEST(refusal_names_the_unsupported_language)
{
    fresh();
    edit("[nlp]", "lang = \"en\"", "lang = \"ja\"");
    expect_refusal("lang ja", NERD_ERR_UNSUPPORTED,
                   (const char *const[]){"config.cfg", "lang = \"ja\"", "not supported", "en, de", "zh", NULL});
    fresh();
    edit("[nlp]", "lang = \"en\"", "");
    expect_refusal("no lang", NERD_ERR_FORMAT, (const char *const[]){"config.cfg", "[nlp] has no lang", NULL});
    fresh();
    edit("[nlp]", "\"spacy.Tokenizer.v1\"", "\"spacy.ja.JapaneseTokenizer\"");
    expect_refusal("Japanese tokenizer", NERD_ERR_UNSUPPORTED,
                   (const char *const[]){"config.cfg", "spacy.ja.JapaneseTokenizer", "\"en\"", NULL});
    /* a language nerd computes loads, and says which it is */
    fresh();
    char err[1024];
    nerd_model *m = nerd_model_load(copy_dir, NULL, err, sizeof err);
    CHECKF(m, "%s", err);
    CHECK(!strcmp(nerd_model_lang(m), "en"));
    nerd_model_free(m);
    cleanup();
}

/* doc.noun_chunks follow the language's syntax iterator: nerd computes English's and French's;
 * another language spaCy has one for (de) is refused by name, as is one spaCy has none for (ru,
 * where spaCy raises E894). The stand-in's English lemmatizer is taken out of the pipeline so
 * that the doc pipeline itself loads in each language. */
TEST(refusal_names_the_noun_chunks_language)
{
    static const struct {
        const char *lang, *needles[3]; /* needles NULL: noun chunks computed */
    } cases[] = {
        {"de", {"lang \"de\"", "spacy/lang/de/syntax_iterators.py", NULL}},
        {"ru", {"lang \"ru\"", "E894", NULL}},
        {"fr", {NULL}},
        {"en", {NULL}},
    };
    char lang_line[64];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fresh();
        snprintf(lang_line, sizeof lang_line, "lang = \"%s\"", cases[i].lang);
        edit("[nlp]", "lang = \"en\"", lang_line);
        edit("[nlp]", ",\"lemmatizer\"", "");
        char err[1024] = "";
        nerd_model *m = nerd_model_load(copy_dir, NULL, err, sizeof err);
        CHECKF(m, "lang %s: %s", cases[i].lang, err);
        CHECKF(nerd_model_has_pipeline(m, NERD_PIPELINE_DOC), "lang %s: %s", cases[i].lang,
               nerd_model_pipeline_error(m, NERD_PIPELINE_DOC));
        const char *why = nerd_model_noun_chunks_error(m);
        if (!cases[i].needles[0]) CHECKF(!why, "lang %s: %s", cases[i].lang, why);
        for (int k = 0; cases[i].needles[k]; k++)
            CHECKF(why && strstr(why, cases[i].needles[k]), "lang %s: \"%s\" does not name %s", cases[i].lang,
                   why ? why : "(computed)", cases[i].needles[k]);
        printf("  lang %s -> %s\n", cases[i].lang, why ? why : "computed");
        nerd_model_free(m);
    }
    /* French with the stand-in's English tables: the doc pipeline's own refusal comes first */
    fresh();
    edit("[nlp]", "lang = \"en\"", "lang = \"fr\"");
    char err[1024] = "";
    nerd_model *m = nerd_model_load(copy_dir, NULL, err, sizeof err);
    CHECKF(m, "%s", err);
    const char *why = nerd_model_noun_chunks_error(m);
    CHECKF(why && strstr(why, "lemma_lookup"), "%s", why ? why : "(computed)");
    nerd_model_free(m);
    cleanup();
}
