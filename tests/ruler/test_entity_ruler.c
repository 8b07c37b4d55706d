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
#include "util/doc_json.h"
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

/* The files of component NAME (its folder) in the copy, and its config.cfg section with the
 * given settings lines. */
static void add_component(const char *name, const char *factory, const char *settings, const char *const *files,
                          const char *const *texts, int nfiles)
{
    char path[512];
    snprintf(path, sizeof path, "%s/config.cfg", ruler_dir);
    FILE *f = fopen(path, "a");
    CHECK(f);
    fprintf(f, "\n[components.%s]\nfactory = \"%s\"\n%s", name, factory, settings);
    fclose(f);
    snprintf(path, sizeof path, "%s/%s", ruler_dir, name);
    CHECK(mkdir(path, 0755) == 0);
    for (int i = 0; i < nfiles; i++) {
        snprintf(path, sizeof path, "%s/%s/%s", ruler_dir, name, files[i]);
        CHECK((f = fopen(path, "w")));
        fputs(texts[i], f);
        fclose(f);
    }
}

/* A copy of the stand-in whose pipeline has component NAME (factory NAME) before or after the
 * ner. */
static void make_folder_with(const char *name, int before_ner, const char *settings, const char *const *files,
                             const char *const *texts, int nfiles)
{
    char real[1024], cmd[4096], to[128];
    CHECK(realpath(test_path("models/en_core_web_sm"), real));
    snprintf(ruler_dir, sizeof ruler_dir, "/tmp/nerd-ruler-%d", (int)getpid());
    snprintf(cmd, sizeof cmd, "rm -rf %s && cp -rs %s %s && rm %s/config.cfg && cp %s/config.cfg %s/config.cfg",
             ruler_dir, real, ruler_dir, ruler_dir, real, ruler_dir);
    CHECK(system(cmd) == 0);
    snprintf(to, sizeof to, before_ner ? "\"lemmatizer\",\"%s\",\"ner\"]" : "\"lemmatizer\",\"ner\",\"%s\"]", name);
    test_edit_config(ruler_dir, "[nlp]", "\"lemmatizer\",\"ner\"]", to);
    add_component(name, name, settings, files, texts, nfiles);
}

/* ... with an entity_ruler: its cfg and patterns.jsonl */
static void make_ruler_folder(int before_ner, const char *cfg, const char *patterns)
{
    static const char *const files[] = {"cfg", "patterns.jsonl"};
    const char *texts[] = {cfg, patterns};
    make_folder_with("entity_ruler", before_ner, "", files, texts, 2);
}

/* A second ruler, "late_ruler", after the ner of a folder whose first ruler is before it. */
static void add_late_ruler(const char *cfg, const char *patterns)
{
    static const char *const files[] = {"cfg", "patterns.jsonl"};
    const char *texts[] = {cfg, patterns};
    test_edit_config(ruler_dir, "[nlp]", "\"entity_ruler\",\"ner\"]", "\"entity_ruler\",\"ner\",\"late_ruler\"]");
    add_component("late_ruler", "entity_ruler", "", files, texts, 2);
}

static void remove_ruler_folder(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", ruler_dir);
    if (system(cmd)) {}
}

typedef struct { size_t start, end; const char *label, *ent_id; } want_ent;

/* The folder's model (into *m) and its doc of text through pipeline p */
static nerd_doc *ruled_doc(const char *text, nerd_pipeline p, nerd_model **m)
{
    char err[1024] = "";
    nerd_status st;
    *m = nerd_model_load(ruler_dir, &st, err, sizeof err);
    CHECKF(*m, "load: %s", err);
    nerd_doc *d = nerd_doc_new();
    CHECK_EQ_INT(nerd_ner(*m, d, text, strlen(text), p), NERD_OK);
    return d;
}

static void expect_ents(const char *text, nerd_pipeline p, const want_ent *want, size_t nwant)
{
    nerd_model *m;
    nerd_doc *d = ruled_doc(text, p, &m);
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
    nerd_model *m;
    nerd_doc *d = ruled_doc(text, NERD_PIPELINE_FULL, &m);
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

/* ---- the span_ruler with annotate_ents (spacy/pipeline/span_ruler.py) ---- */

typedef struct { uint32_t start, end; const char *label; } want_span;

static void expect_filtered(span_filter f, const ruler_ent *ents, size_t nents, const ruler_ent *spans, size_t nspans,
                            const want_span *want, size_t nwant, const char *what)
{
    ruler_ent out[32];
    CHECK(nents + nspans <= 32);
    long n = span_filter_apply(f, ents, nents, spans, nspans, out);
    CHECKF(n == (long)nwant, "%s: %ld spans, spaCy %zu", what, n, nwant);
    for (size_t i = 0; i < nwant; i++)
        CHECKF(out[i].start == want[i].start && out[i].end == want[i].end && !strcmp(out[i].label, want[i].label),
               "%s: span %zu is (%u, %u, %s), spaCy (%u, %u, %s)", what, i, out[i].start, out[i].end, out[i].label,
               want[i].start, want[i].end, want[i].label);
}

/* The three registered filters on hand-made spans of a 12-token doc: spaCy 3.8.7's
 * filter_chain_spans, prioritize_new_ents_filter and prioritize_existing_ents_filter printed
 * these on Span objects with the same offsets. first_longest keeps an entity over a match of the
 * same length and start (the chain's first) and checks a span's two ends only; prioritize_new
 * drops the entities its spans overlap and puts the kept entities first, unsorted. */
TEST(ruler_span_filters_as_spacy_on_hand_made_spans)
{
    static const ruler_ent ents[] = {{1, 3, "A", ""}, {5, 6, "B", ""}, {8, 10, "C", ""}};
    static const ruler_ent spans[] = {{0, 2, "X", ""},  {1, 3, "S", ""}, {2, 5, "Y", ""},
                                      {3, 4, "U", ""},  {5, 8, "Z", ""}, {6, 7, "W", ""},
                                      {7, 10, "V", ""}, {10, 12, "T", ""}, {11, 12, "R", ""}};
    const size_t ne = sizeof ents / sizeof *ents, ns = sizeof spans / sizeof *spans;
    static const want_span longest[] = {{0, 2, "X"}, {2, 5, "Y"}, {5, 8, "Z"}, {8, 10, "C"}, {10, 12, "T"}},
                           longest_alone[] = {{0, 2, "X"}, {2, 5, "Y"}, {5, 8, "Z"}, {10, 12, "T"}},
                           fresh[] = {{8, 10, "C"}, {2, 5, "Y"}, {5, 8, "Z"}, {0, 2, "X"}, {10, 12, "T"}},
                           fresh_alone[] = {{2, 5, "Y"}, {5, 8, "Z"}, {0, 2, "X"}, {10, 12, "T"}},
                           existing[] = {{1, 3, "A"}, {5, 6, "B"}, {8, 10, "C"}, {10, 12, "T"}, {3, 4, "U"}, {6, 7, "W"}};
    expect_filtered(SPAN_FILTER_FIRST_LONGEST, ents, ne, spans, ns, longest, 5, "first_longest");
    expect_filtered(SPAN_FILTER_FIRST_LONGEST, NULL, 0, spans, ns, longest_alone, 4, "first_longest, no entities");
    expect_filtered(SPAN_FILTER_PRIORITIZE_NEW, ents, ne, spans, ns, fresh, 5, "prioritize_new");
    expect_filtered(SPAN_FILTER_PRIORITIZE_NEW, NULL, 0, spans, ns, fresh_alone, 4, "prioritize_new, no entities");
    expect_filtered(SPAN_FILTER_PRIORITIZE_EXISTING, ents, ne, spans, ns, existing, 6, "prioritize_existing");
    expect_filtered(SPAN_FILTER_PRIORITIZE_EXISTING, NULL, 0, spans, ns, fresh_alone, 4,
                    "prioritize_existing, no entities");
    /* a tie of length and start: the entity (first in the chain) wins */
    static const ruler_ent tie_ents[] = {{0, 2, "A", ""}}, tie_spans[] = {{0, 2, "S", ""}, {2, 3, "Q", ""}};
    static const want_span tie[] = {{0, 2, "A"}, {2, 3, "Q"}};
    expect_filtered(SPAN_FILTER_FIRST_LONGEST, tie_ents, 1, tie_spans, 2, tie, 2, "first_longest, a tie");
    /* spans_filter null: the matches as they are */
    static const want_span as_is[] = {{0, 2, "S"}, {2, 3, "Q"}};
    expect_filtered(SPAN_FILTER_NONE, tie_ents, 1, tie_spans, 2, as_is, 2, "none");
    CHECK_EQ_INT(span_filter_by_name("spacy.first_longest_spans_filter.v1"), SPAN_FILTER_FIRST_LONGEST);
    CHECK_EQ_INT(span_filter_by_name("spacy.prioritize_new_ents_filter.v1"), SPAN_FILTER_PRIORITIZE_NEW);
    CHECK_EQ_INT(span_filter_by_name("spacy.prioritize_existing_ents_filter.v1"), SPAN_FILTER_PRIORITIZE_EXISTING);
    CHECK_EQ_INT(span_filter_by_name("spacy.first_longest_spans_filter.v2"), -1);
}

/* The patterns spaCy's folder of the tests below holds (nlp.to_disk writes span_ruler/patterns):
 * two ids on one span (the Spans sort by the id's StringStore key: the symbol PERSON, 380,
 * before the hash of "paris-fr"), an empty label that blocks "Paris" in the filter and is then
 * dropped by Doc.ents, overlaps with the stand-in ner's entities. */
static const char span_patterns[] =
    "{\"label\":\"GPE\",\"pattern\":\"paris\",\"id\":\"paris-fr\"}\n"
    "{\"label\":\"GPE\",\"pattern\":[{\"LOWER\":\"paris\"}],\"id\":\"PERSON\"}\n"
    "{\"label\":\"\",\"pattern\":[{\"LOWER\":\"in\"},{\"LOWER\":\"paris\"}]}\n"
    "{\"label\":\"ORG\",\"pattern\":[{\"IS_TITLE\":true},{\"LOWER\":\"of\"},{\"IS_TITLE\":true}],\"id\":\"uni\"}\n"
    "{\"label\":\"DAY\",\"pattern\":[{\"LOWER\":\"on\"},{\"LOWER\":\"monday\"}]}\n"
    "{\"label\":\"COMPANY\",\"pattern\":[{\"ORTH\":\"Apple\"},{\"ORTH\":\"Inc.\"}]}\n"
    "{\"label\":\"PERSON\",\"pattern\":[{\"ORTH\":\"Merkel\"}],\"id\":\"merkel\"}\n";
static const char span_text[] =
    "Angela Merkel visited the University of Paris in Paris on Monday with Apple Inc. and Mr. Smith.";

static void make_span_ruler_folder(int before_ner, const char *filter, const char *overwrite)
{
    static const char *const files[] = {"patterns"};
    const char *texts[] = {span_patterns};
    char settings[512];
    snprintf(settings, sizeof settings,
             "annotate_ents = true\nents_filter = {\"@misc\":\"spacy.%s.v1\"}\n"
             "matcher_fuzzy_compare = {\"@misc\":\"spacy.levenshtein_compare.v1\"}\noverwrite = %s\n"
             "phrase_matcher_attr = \"LOWER\"\nspans_filter = null\nspans_key = \"ruler\"\nvalidate = false\n",
             filter, overwrite);
    make_folder_with("span_ruler", before_ner, settings, files, texts, 1);
}

/* After the ner, each filter with and without overwrite: spaCy 3.8.7's entities on the stand-in
 * (whose ner alone finds (4,7) GPE, (8,9) GPE, (10,11) DATE, (12,14) GPE, (16,17) PERSON). The
 * old code refused every such folder. */
TEST(ruler_span_ruler_after_ner_each_filter_as_spacy)
{
    static const want_ent kept_longest[] = {{1, 2, "PERSON", "merkel"}, {4, 7, "GPE", ""}, {9, 11, "DAY", ""},
                                            {12, 14, "GPE", ""}, {16, 17, "PERSON", ""}},
                          ruled[] = {{1, 2, "PERSON", "merkel"}, {4, 7, "ORG", "uni"}, {9, 11, "DAY", ""},
                                     {12, 14, "COMPANY", ""}},
                          kept_new[] = {{1, 2, "PERSON", "merkel"}, {4, 7, "ORG", "uni"}, {9, 11, "DAY", ""},
                                        {12, 14, "COMPANY", ""}, {16, 17, "PERSON", ""}},
                          kept_existing[] = {{1, 2, "PERSON", "merkel"}, {4, 7, "GPE", ""}, {8, 9, "GPE", ""},
                                             {10, 11, "DATE", ""}, {12, 14, "GPE", ""}, {16, 17, "PERSON", ""}};
    static const struct { const char *filter, *overwrite; const want_ent *want; size_t n; } cases[] = {
        {"first_longest_spans_filter", "false", kept_longest, 5},
        {"first_longest_spans_filter", "true", ruled, 4},
        {"prioritize_new_ents_filter", "false", kept_new, 5},
        {"prioritize_new_ents_filter", "true", ruled, 4},
        {"prioritize_existing_ents_filter", "false", kept_existing, 6},
        {"prioritize_existing_ents_filter", "true", ruled, 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        printf("  %s, overwrite %s\n", cases[i].filter, cases[i].overwrite);
        make_span_ruler_folder(0, cases[i].filter, cases[i].overwrite);
        expect_ents(span_text, NERD_PIPELINE_NER, cases[i].want, cases[i].n);
        expect_ents(span_text, NERD_PIPELINE_FULL, cases[i].want, cases[i].n);
        remove_ruler_folder();
    }
    /* two ids on one span: the one whose StringStore key sorts first */
    static const want_ent paris[] = {{2, 3, "GPE", "PERSON"}};
    make_span_ruler_folder(0, "first_longest_spans_filter", "true");
    expect_ents("I love Paris.", NERD_PIPELINE_NER, paris, 1);
    remove_ruler_folder();
}

/* Before the ner: the span_ruler's entities are the ner's presets (spaCy 3.8.7 on the stand-in) */
TEST(ruler_span_ruler_before_ner_as_spacy)
{
    static const want_ent want[] = {{1, 2, "PERSON", "merkel"}, {4, 7, "ORG", "uni"}, {8, 9, "GPE", ""},
                                    {9, 11, "DAY", ""}, {12, 14, "COMPANY", ""}, {16, 17, "PERSON", ""}};
    make_span_ruler_folder(1, "first_longest_spans_filter", "true");
    expect_ents(span_text, NERD_PIPELINE_FULL, want, sizeof want / sizeof *want);
    remove_ruler_folder();
}

/* What spaCy's SpanRuler cannot run is refused at load, naming the file and line: a null id
 * (Span(span_id=None) raises TypeError where the pattern matches) */
TEST(ruler_span_ruler_refuses_a_null_id_by_name)
{
    static const char *const files[] = {"patterns"};
    const char *texts[] = {"{\"label\":\"X\",\"pattern\":\"a\"}\n{\"label\":\"X\",\"pattern\":\"b\",\"id\":null}\n"};
    make_folder_with("span_ruler", 0, "annotate_ents = true\n", files, texts, 1);
    char err[1024] = "";
    nerd_status st = NERD_OK;
    nerd_model *m = nerd_model_load(ruler_dir, &st, err, sizeof err);
    CHECKF(!m && st == NERD_ERR_UNSUPPORTED, "status %d: %s", st, err);
    CHECKF(strstr(err, "span_ruler/patterns: line 2") && strstr(err, "\"id\" is null"), "%s", err);
    printf("  %s\n", err);
    remove_ruler_folder();
}

/* POST /doc's answer (doc_write_json) carries doc.spans as doc.to_json() does: spaCy 3.8.7's
 * "spans" of this text on the folder (two ids on each "Paris": two Spans of one label; the empty
 * label kept in the group, dropped from the entities, where it blocked the second "Paris"). */
TEST(ruler_span_ruler_doc_json_has_the_spans)
{
    make_span_ruler_folder(0, "first_longest_spans_filter", "true");
    const char *text = "I love Paris in Paris.";
    nerd_model *m;
    nerd_doc *d = ruled_doc(text, NERD_PIPELINE_DOC, &m);
    buf out = {0};
    CHECK(doc_write_json(d, text, strlen(text), 0, &out) == 0 && buf_putc(&out, 0) == 0);
    CHECKF(strstr(out.ptr, "\"ents\":[{\"start\":7,\"end\":12,\"label\":\"GPE\"}]") &&
               strstr(out.ptr, "}],\"spans\":{\"ruler\":[{\"start\":7,\"end\":12,\"label\":\"GPE\",\"kb_id\":\"\"},"
                               "{\"start\":7,\"end\":12,\"label\":\"GPE\",\"kb_id\":\"\"},{\"start\":13,\"end\":21,"
                               "\"label\":\"\",\"kb_id\":\"\"},{\"start\":16,\"end\":21,\"label\":\"GPE\",\"kb_id\":\"\"},"
                               "{\"start\":16,\"end\":21,\"label\":\"GPE\",\"kb_id\":\"\"}]}}"),
           "%s", out.ptr);
    buf_free(&out);
    nerd_doc_free(d);
    nerd_model_free(m);
    remove_ruler_folder();
}
