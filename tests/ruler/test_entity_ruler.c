/* The entity_ruler (components/entity_ruler.c) on copies of the stand-in with a ruler added
 * to config.cfg, against answers spaCy 3.8.7 gave on the same pipelines (each expected list was
 * printed by spaCy: nlp.add_pipe("entity_ruler", ...), add_patterns, nlp(text).ents), and the
 * English lexical flags (text/lexattr.c) against spaCy's lexemes. `make test-ruler` compares
 * whole pipelines over the golden and generated texts. */
#include "test.h"
#include "../ner/model_helper.h"
#include "nerd.h"
#include "text/lexattr.h"
#include "util/buf.h"
#include "util/ents_json.h"
#include "util/json.h"
#include "text/pystr.h"
#include "pipeline/engine.h"
#include "../server/serve_helper.h"

#include <signal.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char ruler_dir[256];

/* A copy of the stand-in whose pipeline has an entity_ruler before or after the ner, with the
 * given cfg and patterns.jsonl. */
static void make_ruler_folder(int before_ner, const char *cfg, const char *patterns)
{
    char real[1024], cmd[4096], path[512];
    CHECK(realpath(test_path("models/en_core_web_sm"), real));
    snprintf(ruler_dir, sizeof ruler_dir, "/tmp/nerd-ruler-%d", (int)getpid());
    snprintf(cmd, sizeof cmd, "rm -rf %s && cp -rs %s %s && rm %s/config.cfg && cp %s/config.cfg %s/config.cfg",
             ruler_dir, real, ruler_dir, ruler_dir, real, ruler_dir);
    CHECK(system(cmd) == 0);
    test_edit_config(ruler_dir, "[nlp]", "\"lemmatizer\",\"ner\"]",
                     before_ner ? "\"lemmatizer\",\"entity_ruler\",\"ner\"]" : "\"lemmatizer\",\"ner\",\"entity_ruler\"]");
    snprintf(path, sizeof path, "%s/config.cfg", ruler_dir);
    FILE *f = fopen(path, "a");
    CHECK(f);
    fputs("\n[components.entity_ruler]\nfactory = \"entity_ruler\"\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/entity_ruler", ruler_dir);
    CHECK(mkdir(path, 0755) == 0);
    const char *names[2] = {"cfg", "patterns.jsonl"}, *texts[2] = {cfg, patterns};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/entity_ruler/%s", ruler_dir, names[i]);
        CHECK((f = fopen(path, "w")));
        fputs(texts[i], f);
        fclose(f);
    }
}

/* A second ruler, "late_ruler", after the ner of a folder whose first ruler is before it. */
static void add_late_ruler(const char *cfg, const char *patterns)
{
    char path[512];
    test_edit_config(ruler_dir, "[nlp]", "\"entity_ruler\",\"ner\"]", "\"entity_ruler\",\"ner\",\"late_ruler\"]");
    snprintf(path, sizeof path, "%s/config.cfg", ruler_dir);
    FILE *f = fopen(path, "a");
    CHECK(f);
    fputs("\n[components.late_ruler]\nfactory = \"entity_ruler\"\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/late_ruler", ruler_dir);
    CHECK(mkdir(path, 0755) == 0);
    const char *names[2] = {"cfg", "patterns.jsonl"}, *texts[2] = {cfg, patterns};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/late_ruler/%s", ruler_dir, names[i]);
        CHECK((f = fopen(path, "w")));
        fputs(texts[i], f);
        fclose(f);
    }
}

static void remove_ruler_folder(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", ruler_dir);
    if (system(cmd)) {}
}

typedef struct { size_t start, end; const char *label, *ent_id; } want_ent;

static void expect_ents(const char *text, nerd_pipeline p, const want_ent *want, size_t nwant)
{
    char err[1024] = "";
    nerd_status st;
    nerd_model *m = nerd_model_load(ruler_dir, &st, err, sizeof err);
    CHECKF(m, "load: %s", err);
    nerd_doc *d = nerd_doc_new();
    CHECK_EQ_INT(nerd_ner(m, d, text, strlen(text), p), NERD_OK);
    for (size_t i = 0; i < nerd_doc_nents(d) || i < nwant; i++) {
        nerd_ent e = {0};
        int have = nerd_doc_ent(d, i, &e) == 0;
        CHECKF(have && i < nwant && e.start == want[i].start && e.end == want[i].end &&
                   !strcmp(e.label, want[i].label) && !strcmp(e.ent_id, want[i].ent_id),
               "entity %zu: nerd (%zu, %zu, %s, \"%s\"), spaCy (%zu, %zu, %s, \"%s\")", i, have ? e.start : 0,
               have ? e.end : 0, have ? e.label : "-", have ? e.ent_id : "-", i < nwant ? want[i].start : 0,
               i < nwant ? want[i].end : 0, i < nwant ? want[i].label : "-", i < nwant ? want[i].ent_id : "-");
    }
    nerd_doc_free(d);
    nerd_model_free(m);
}

/* Two keys match each "Paris": spaCy keeps the first of EntityRuler.match's set of matches,
 * whose order is CPython's hash table's, so the winner changes along the text. */
TEST(ruler_after_ner_same_span_keys_in_python_set_order)
{
    make_ruler_folder(0, "{\"overwrite\": true, \"phrase_matcher_attr\": \"LOWER\", \"ent_id_sep\": \"||\"}",
                      "{\"label\":\"GPE\",\"pattern\":\"paris\",\"id\":\"paris-fr\"}\n"
                      "{\"label\":\"CITY\",\"pattern\":[{\"LOWER\":\"paris\"}]}\n");
    static const want_ent want[] = {
        {0, 1, "CITY", ""}, {2, 3, "GPE", "paris-fr"}, {4, 5, "CITY", ""}, {6, 7, "CITY", ""}, {8, 9, "CITY", ""},
        {10, 11, "CITY", ""}, {12, 13, "GPE", "paris-fr"}, {14, 15, "CITY", ""}, {16, 17, "GPE", "paris-fr"},
    };
    expect_ents("Paris and Paris and Paris, Paris, paris . PARIS is Paris or Paris in Paris.", NERD_PIPELINE_NER, want,
                sizeof want / sizeof *want);
    remove_ruler_folder();
}

/* After the ner with overwrite: a pattern on the ner's ENT_TYPE replaces its GPE entities and
 * gives them an id; the other entities are the ner's. */
TEST(ruler_after_ner_overwrites_on_ent_type)
{
    make_ruler_folder(0, "{\"overwrite\": true, \"phrase_matcher_attr\": \"LOWER\"}",
                      "{\"label\":\"GPE\",\"pattern\":\"paris\",\"id\":\"paris-fr\"}\n"
                      "{\"label\":\"CITY\",\"pattern\":[{\"LOWER\":\"paris\"}]}\n"
                      "{\"label\":\"GPE\",\"pattern\":[{\"ENT_TYPE\":\"GPE\",\"OP\":\"+\"}],\"id\":\"gpe-ruled\"}\n");
    /* the first golden text's first 400 characters: "Paris[a] is the capital ... France. With ..." */
    size_t len;
    char *golden = test_read_file(test_path("golden/edge.jsonl"), &len), jerr[128];
    CHECK(golden);
    json_doc jd;
    CHECK(json_parse(golden, strcspn(golden, "\n"), JSON_MAX_DEPTH_DEFAULT, &jd, jerr, sizeof jerr) == 0);
    const json_value *t = json_get(&jd.root, "text");
    CHECK(t && t->type == JSON_STRING);
    size_t bytes = 0;
    for (int chars = 0; chars < 400 && bytes < t->u.str.len; chars++) {
        uint32_t cp;
        bytes += py_utf8_next(t->u.str.ptr + bytes, t->u.str.len - bytes, &cp);
    }
    char text[2048];
    snprintf(text, sizeof text, "%.*s", (int)bytes, t->u.str.ptr);
    json_doc_free(&jd);
    free(golden);
    static const want_ent want[] = {
        {10, 11, "GPE", "gpe-ruled"}, {18, 19, "DATE", ""}, {23, 26, "DATE", ""}, {31, 34, "MONEY", ""},
        {36, 37, "CARDINAL", ""}, {40, 41, "CITY", ""}, {43, 44, "ORDINAL", ""}, {50, 51, "NORP", ""},
        {55, 56, "ORDINAL", ""}, {64, 65, "DATE", ""}, {71, 72, "CITY", ""},
    };
    expect_ents(text, NERD_PIPELINE_FULL, want, sizeof want / sizeof *want);
    remove_ruler_folder();
}

/* Before the ner: the ruler's entities are presets the ner keeps, with a label the ner lacks
 * (spaCy adds its classes), and the ner still finds its own around them. Without the ruler
 * the stand-in finds (0,1) PERSON, (5,6) PERSON and (15,16) GPE. */
TEST(ruler_before_ner_entities_are_the_ners_presets)
{
    make_ruler_folder(1, "{\"overwrite\": false, \"phrase_matcher_attr\": null, \"ent_id_sep\": \"||\"}",
                      "{\"label\":\"CAPWORDS\",\"pattern\":[{\"IS_SENT_START\":false,\"IS_TITLE\":true},"
                      "{\"IS_TITLE\":true,\"SPACY\":true}],\"id\":\"caps\"}\n");
    static const want_ent want[] = {
        {0, 1, "PERSON", ""}, {2, 4, "CAPWORDS", "caps"}, {5, 6, "PERSON", ""},
        {7, 9, "CAPWORDS", "caps"}, {12, 14, "CAPWORDS", "caps"}, {15, 16, "GPE", ""},
    };
    const char *text = "Jean-Pierre Dupont and Mary-Kate Olsen met Hans-Dietrich Genscher in Baden-Württemberg.";
    expect_ents(text, NERD_PIPELINE_FULL, want, sizeof want / sizeof *want);

    /* POST /ents' list: "ent_id" on the entities that have one, and only there */
    char err[512];
    nerd_status st;
    nerd_model *m = nerd_model_load(ruler_dir, &st, err, sizeof err);
    CHECKF(m, "%s", err);
    nerd_doc *d = nerd_doc_new();
    CHECK_EQ_INT(nerd_ner(m, d, text, strlen(text), NERD_PIPELINE_FULL), NERD_OK);
    buf out = {0};
    CHECK(ents_write_list(d, text, &out) == 0 && buf_putc(&out, 0) == 0);
    CHECKF(strstr(out.ptr, "{\"text\":\"Pierre Dupont\",\"label\":\"CAPWORDS\",\"start_char\":5,\"end_char\":18,"
                           "\"start\":2,\"end\":4,\"ent_id\":\"caps\"}") &&
               strstr(out.ptr, "{\"text\":\"Jean\",\"label\":\"PERSON\",\"start_char\":0,\"end_char\":4,\"start\":0,"
                               "\"end\":1},"),
           "%s", out.ptr);
    buf_free(&out);
    nerd_doc_free(d);
    nerd_model_free(m);
    remove_ruler_folder();
}

/* Two rulers: the second overwrites with spans that have no id, so their tokens keep the first's
 * ent_ids (spaCy's set_ents), and an entity's ent_id_ is its root token's (Span.root over the
 * parse), not its first token's. spaCy on the stand-in: roots 1, 0 and 3. */
TEST(ruler_ent_id_is_the_root_tokens_after_two_rulers)
{
    make_ruler_folder(1, "{\"overwrite\": false}",
                      "{\"label\":\"ORG\",\"pattern\":[{\"LOWER\":{\"IN\":[\"apple\",\"george\",\"new\"]}}],"
                      "\"id\":\"first\"}\n");
    add_late_ruler("{\"overwrite\": true}", "{\"label\":\"HEADLINE\",\"pattern\":[{\"IS_SENT_START\":true,"
                                            "\"IS_TITLE\":true},{\"IS_TITLE\":true,\"OP\":\"{1,}\"}]}\n");
    static const want_ent apple[] = {{0, 3, "HEADLINE", ""}}, george[] = {{0, 3, "HEADLINE", "first"}},
                          york[] = {{0, 4, "HEADLINE", ""}};
    expect_ents("Apple Inc. Amazon", NERD_PIPELINE_FULL, apple, 1);
    expect_ents("George Bush Senior spoke.", NERD_PIPELINE_FULL, george, 1);
    expect_ents("New York Times Square is busy.", NERD_PIPELINE_FULL, york, 1);
    remove_ruler_folder();
}

/* POST /ents of `nerd serve` on a folder with a ruler: "ent_id" where a pattern set one */
TEST(ruler_post_ents_answers_ent_id)
{
    make_ruler_folder(0, "{\"overwrite\": true, \"phrase_matcher_attr\": \"LOWER\"}",
                      "{\"label\":\"GPE\",\"pattern\":\"paris\",\"id\":\"paris-fr\"}\n"
                      "{\"label\":\"PERSON\",\"pattern\":[{\"LOWER\":\"merkel\"}]}\n");
    const char *args[] = {"--model", ruler_dir, NULL};
    test_server s;
    server_start(&s, args);
    buf out = {0};
    CHECK(http_json(s.port, "POST", "/ents", "{\"text\": \"Angela Merkel visited Paris.\"}", &out) == 200);
    /* spaCy's entities on this pipeline: [("Merkel", PERSON, 7, 13, 1, 2, ""),
     * ("Paris", GPE, 22, 27, 3, 4, "paris-fr")] */
    CHECK_EQ_STR(http_body(&out),
                 "{\"ents\":[{\"text\":\"Merkel\",\"label\":\"PERSON\",\"start_char\":7,\"end_char\":13,\"start\":1,"
                 "\"end\":2},{\"text\":\"Paris\",\"label\":\"GPE\",\"start_char\":22,\"end_char\":27,\"start\":3,"
                 "\"end\":4,\"ent_id\":\"paris-fr\"}]}");
    buf_free(&out);
    CHECK(server_stop(&s, SIGTERM) == 0);
    remove_ruler_folder();
}

TEST(ruler_refuses_patterns_nerd_cannot_match_by_name)
{
    static const struct { const char *cfg, *patterns, *needle; nerd_status want; } cases[] = {
        {"{\"phrase_matcher_attr\": \"NORM\"}", "{\"label\":\"X\",\"pattern\":\"a\"}\n", "phrase_matcher_attr NORM",
         NERD_ERR_UNSUPPORTED},
        {"{}", "{\"label\":\"X\",\"pattern\":\"a\",\"id\":5}\n", "line 1", NERD_ERR_FORMAT},
        {"{}", "{\"label\":\"X\",\"pattern\":[{\"ORTH\":\"a\",\"OP\":\"%\"}]}\n", "line 1", NERD_ERR_UNSUPPORTED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        make_ruler_folder(0, cases[i].cfg, cases[i].patterns);
        char err[1024] = "";
        nerd_status st = NERD_OK;
        nerd_model *m = nerd_model_load(ruler_dir, &st, err, sizeof err);
        CHECKF(!m && st == cases[i].want, "case %zu: status %d: %s", i, st, err);
        CHECKF(strstr(err, "entity_ruler/patterns.jsonl") || strstr(err, "entity_ruler/cfg"), "case %zu: %s", i, err);
        CHECKF(strstr(err, cases[i].needle), "case %zu: \"%s\" does not name %s", i, err, cases[i].needle);
        printf("  %s\n", err);
        remove_ruler_folder();
    }
}

/* Patterns on what the tagger, the parser, the attribute_ruler and the lemmatizer set: the ruler
 * sees them before the ner and after it as spaCy's does (spaCy 3.8.7's entities, overwrite_ents
 * true); --pipeline ner, where spaCy (those components excluded) raises E155, is refused naming
 * TAG, as spaCy's first check. The old code refused such a folder at load. */
TEST(ruler_reads_what_the_components_before_it_set)
{
    static const char patterns[] =
        "{\"label\": \"SPEAKER\", \"pattern\": [{\"POS\": \"PROPN\", \"OP\": \"+\"}, {\"LEMMA\": \"say\"}], \"id\": \"sp\"}\n"
        "{\"label\": \"SUBJ\", \"pattern\": [{\"DEP\": \"nsubj\", \"TAG\": \"PRP\"}]}\n"
        "{\"label\": \"PLURAL\", \"pattern\": [{\"MORPH\": {\"IS_SUPERSET\": [\"Number=Plur\"]}, \"POS\": \"NOUN\"}]}\n"
        "{\"label\": \"SPACE\", \"pattern\": [{\"DEP\": \"dep\"}]}\n";
    static const want_ent want[] = {
        {0, 3, "SPEAKER", "sp"}, {3, 4, "SUBJ", ""}, {5, 6, "CARDINAL", ""}, {6, 7, "PLURAL", ""},
        {7, 8, "SPACE", ""},     {9, 10, "GPE", ""}, {11, 12, "SUBJ", ""},
    };
    static const char text[] = "Angela Merkel said they bought three houses  in Berlin. She sold them.";
    for (int before = 0; before < 2; before++) {
        make_ruler_folder(before, "{\"overwrite\": true}", patterns);
        expect_ents(text, NERD_PIPELINE_FULL, want, sizeof want / sizeof *want);
        expect_ents(text, NERD_PIPELINE_DOC, want, sizeof want / sizeof *want);
        char err[1024] = "";
        nerd_model *m = nerd_model_load(ruler_dir, NULL, err, sizeof err);
        CHECKF(m, "%s", err);
        const char *why = nerd_model_pipeline_error(m, NERD_PIPELINE_NER);
        CHECKF(why && strstr(why, "E155") && strstr(why, "on TAG"), "%s", why ? why : "(null)");
        /* full shows none of the doc's fields it computed for the ruler */
        nerd_doc *d = nerd_doc_new();
        CHECK_EQ_INT(nerd_ner(m, d, text, strlen(text), NERD_PIPELINE_FULL), NERD_OK);
        CHECK_EQ_INT(nerd_doc_annotations(d) & (NERD_ANNOT_TAG | NERD_ANNOT_POS | NERD_ANNOT_LEMMA), 0);
        nerd_doc_free(d);
        nerd_model_free(m);
        remove_ruler_folder();
    }
}

/* A ruler reading what a component after it can set, or what none before it sets, is refused by
 * name (spaCy's would see other values or raise E155); one after everything it reads loads. */
TEST(ruler_reading_annotations_refused_where_spacy_sees_other_values)
{
    static const struct { const char *after, *pattern, *needle; } cases[] = {
        {"\"tok2vec\",", "[{\"TAG\": \"NN\"}]", "on TAG, which no component before the ruler sets"},
        {"\"parser\",", "[{\"DEP\": \"nsubj\"}]", "component attribute_ruler after the ruler"},
        {"\"tagger\",", "[{\"DEP\": \"nsubj\"}]", "on DEP, which no component before the ruler sets"},
        {"\"attribute_ruler\",", "[{\"LEMMA\": \"be\"}]", "on LEMMA, which no component before the ruler sets"},
        {"\"attribute_ruler\",", "[{\"POS\": \"NOUN\", \"DEP\": \"dep\"}]", NULL}, /* the lemmatizer after it sets neither */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char line[256], moved[64];
        snprintf(line, sizeof line, "{\"label\": \"X\", \"pattern\": %s}\n", cases[i].pattern);
        make_ruler_folder(1, "{}", line);
        test_edit_config(ruler_dir, "[nlp]", "\"entity_ruler\",\"ner\"]", "\"ner\"]");
        snprintf(moved, sizeof moved, "%s\"entity_ruler\",", cases[i].after);
        test_edit_config(ruler_dir, "[nlp]", cases[i].after, moved);
        char err[1024] = "";
        nerd_status st = NERD_OK;
        nerd_model *m = nerd_model_load(ruler_dir, &st, err, sizeof err);
        if (cases[i].needle)
            CHECKF(!m && st == NERD_ERR_UNSUPPORTED && strstr(err, cases[i].needle), "case %zu: %d %s", i, st, err);
        else
            CHECKF(m, "case %zu: %s", i, err);
        nerd_model_free(m);
        remove_ruler_folder();
    }
}

typedef struct { const tokenizer *tok; tok_scratch *tsc; } url_probe;
static int probe_url(void *ctx, const char *s, size_t len)
{
    url_probe *p = ctx;
    return tokenizer_url_match(p->tok, s, len, p->tsc);
}

/* spaCy's English lexeme flags (en.vocab[word].is_alpha ...), printed by spaCy 3.8.7 */
TEST(ruler_english_lexical_flags_as_spacy)
{
    static const struct { const char *word; long flags; } cases[] = {
        {"Hello", LEX_IS_ALPHA | LEX_IS_ASCII | LEX_IS_TITLE},
        {"HELLO", LEX_IS_ALPHA | LEX_IS_ASCII | LEX_IS_UPPER},
        {"hello", LEX_IS_ALPHA | LEX_IS_ASCII | LEX_IS_LOWER},
        {"ǅemal", LEX_IS_ALPHA | LEX_IS_TITLE},
        {"ⓐⓑ", LEX_IS_LOWER},
        {"3rd", LEX_IS_ASCII | LEX_IS_LOWER | LEX_LIKE_NUM},
        {"twenty", LEX_IS_ALPHA | LEX_IS_ASCII | LEX_IS_LOWER | LEX_LIKE_NUM | LEX_IS_STOP},
        {"Twentieth", LEX_IS_ALPHA | LEX_IS_ASCII | LEX_IS_TITLE | LEX_LIKE_NUM},
        {"1/2", LEX_IS_ASCII | LEX_LIKE_NUM},
        {"+1,000.5", LEX_IS_ASCII | LEX_LIKE_NUM},
        {"±5", LEX_LIKE_NUM},
        {"www.x", LEX_IS_ASCII | LEX_IS_LOWER | LEX_LIKE_URL},
        {"example.com", LEX_IS_ASCII | LEX_IS_LOWER | LEX_LIKE_URL},
        {"a@b.co", LEX_IS_ASCII | LEX_IS_LOWER | LEX_LIKE_EMAIL},
        {"“", LEX_IS_PUNCT | LEX_IS_QUOTE | LEX_IS_LEFT_PUNCT},
        {"''", LEX_IS_ASCII | LEX_IS_PUNCT | LEX_IS_QUOTE | LEX_IS_RIGHT_PUNCT},
        {"$", LEX_IS_ASCII | LEX_IS_CURRENCY},
        {"€", LEX_IS_CURRENCY},
        {"\u00a0", LEX_IS_SPACE},
        {"don't", LEX_IS_ASCII | LEX_IS_LOWER},
        {"The", LEX_IS_ALPHA | LEX_IS_ASCII | LEX_IS_TITLE | LEX_IS_STOP},
        {"ONE", LEX_IS_ALPHA | LEX_IS_ASCII | LEX_IS_UPPER | LEX_LIKE_NUM | LEX_IS_STOP},
        {"foo.bar:8080/", LEX_IS_ASCII | LEX_IS_LOWER | LEX_LIKE_URL},
        {"U.S.", LEX_IS_ASCII | LEX_IS_TITLE | LEX_IS_UPPER},
        {"Ⅷ", LEX_IS_TITLE | LEX_IS_UPPER},
        {"ǈ", LEX_IS_ALPHA | LEX_IS_TITLE},
        {"(", LEX_IS_ASCII | LEX_IS_PUNCT | LEX_IS_BRACKET | LEX_IS_LEFT_PUNCT},
        {")", LEX_IS_ASCII | LEX_IS_PUNCT | LEX_IS_BRACKET | LEX_IS_RIGHT_PUNCT},
        {"«", LEX_IS_PUNCT | LEX_IS_QUOTE | LEX_IS_LEFT_PUNCT},
        {"x.y", LEX_IS_ASCII | LEX_IS_LOWER},
        {"10,000", LEX_IS_ASCII | LEX_LIKE_NUM},
        {"…", LEX_IS_PUNCT},
        {"’s", LEX_IS_LOWER | LEX_IS_STOP},
        {"mailto:x@y.com", LEX_IS_ASCII | LEX_IS_LOWER},
        {"https://x", LEX_IS_ASCII | LEX_IS_LOWER | LEX_LIKE_URL},
        {"½", 0},
        {"²", LEX_IS_DIGIT | LEX_LIKE_NUM},
    };
    const nerd_lang *en = lang_find("en");
    CHECK(en);
    /* LIKE_URL's last resort is the tokenizer's URL_MATCH ("foo.bar:8080/") */
    tok_scratch tsc = {0};
    nerd_model *m = test_model();
    CHECK(tokenizer_run(m->tok, "x", 1, &tsc) == 0);
    url_probe probe = {m->tok, &tsc};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        long got = lex_flags(en, cases[i].word, strlen(cases[i].word), probe_url, &probe);
        CHECKF(got == cases[i].flags, "%s: flags %#lx, spaCy %#lx", cases[i].word, got, cases[i].flags);
    }
    tok_scratch_free(&tsc);
    nerd_model_free(m);
}
