/* POST /doc and POST /displacy of `nerd serve`, and `nerd ner --format doc`: the whole Doc as
 * spaCy's doc.to_json() and displaCy's parse_ents/parse_deps (tests/spacy/doc_http.py compares
 * them with spaCy's own on thousands of texts; here, the routes, their errors and pipelines). */
#include "test.h"
#include "serve_helper.h"
#include "util/displacy_json.h"
#include "util/doc_json.h"
#include "util/ents_json.h"
#include "util/json.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const paris = "Angela Merkel visited Paris.";

/* The library's answer for text through pipeline p: doc_write_json's (noun chunks included) (which="doc") or the seed's dict. */
static void library_answer(const char *text, nerd_pipeline p, const char *which, buf *out)
{
    nerd_model *m = test_model();
    nerd_doc *d = nerd_doc_new();
    CHECK(m && d && nerd_ner(m, d, text, strlen(text), p) == NERD_OK);
    if (!strcmp(which, "doc")) CHECK(!doc_write_json(d, text, strlen(text), DOC_JSON_NOUN_CHUNKS, out));
    else CHECK(!ents_write_dict(d, text, out));
    nerd_doc_free(d);
    nerd_model_free(m);
}

static json_doc parse(const char *s)
{
    json_doc d = {0};
    char err[160];
    CHECKF(s && !json_parse(s, strlen(s), 64, &d, err, sizeof err), "not JSON (%s): %s", err, s ? s : "(none)");
    return d;
}

/* /doc runs the whole Doc's pipeline even when the server's --pipeline is ner, which / and /ents
 * still run alone: each route computes what it answers. */
TEST_T(serve_doc_answers_the_whole_doc_whatever_the_served_pipeline, 90)
{
    test_server s;
    server_start(&s, (const char *[]){"--pipeline", "ner", NULL});
    buf out = {0}, want = {0}, body = {0};
    const char *texts[] = {paris, "Nothing here.", ""};
    buf_puts(&body, "{\"noun_chunks\": true, \"texts\": [");
    for (int i = 0; i < 3; i++) {
        if (i) buf_putc(&body, ',');
        json_write_string(&body, texts[i], strlen(texts[i]), 0);
    }
    buf_puts(&body, "]}");
    CHECK_EQ_INT(http_json(s.port, "POST", "/doc", body.ptr, &out), 200);
    buf_puts(&want, "{\"docs\":[");
    for (int i = 0; i < 3; i++) {
        if (i) buf_putc(&want, ',');
        library_answer(texts[i], NERD_PIPELINE_DOC, "doc", &want);
    }
    buf_puts(&want, "]}");
    CHECK_EQ_STR(http_body(&out), want.ptr);
    /* the whole Doc is there: sentences, tags, parts of speech, morphology, lemmas, the parse, noun chunks */
    CHECKF(strstr(want.ptr, "\"sents\":[{\"start\":0,\"end\":28}],\"tokens\":[{\"id\":0,\"start\":0,\"end\":6,"
                            "\"tag\":\"NNP\",\"pos\":\"PROPN\",\"morph\":\"Number=Sing\",\"lemma\":\"Angela\",\"dep\":\"nsubj\",\"head\":2}") &&
           strstr(want.ptr, "\"noun_chunks\":[{\"start\":0,\"end\":6}]}"), "%s", want.ptr);
    /* an empty text has every annotation, as spaCy's ("empty docs are always annotated") */
    CHECKF(strstr(want.ptr, "{\"text\":\"\",\"ents\":[],\"sents\":[],\"tokens\":[],\"noun_chunks\":[]}"), "%s", want.ptr);
    /* one text: the object itself; without noun_chunks, none */
    buf_clear(&out);
    CHECK_EQ_INT(http_json(s.port, "POST", "/doc", "{\"text\": \"Angela Merkel visited Paris.\"}", &out), 200);
    CHECKF(!strncmp(http_body(&out), "{\"text\":\"Angela Merkel visited Paris.\",\"ents\":[", 47) &&
           !strstr(http_body(&out), "noun_chunks"), "%s", http_body(&out));
    /* the seed's route still runs the ner alone */
    buf_clear(&out);
    buf_clear(&want);
    CHECK_EQ_INT(http_json(s.port, "POST", "/", "{\"text\": \"Angela Merkel visited Paris.\"}", &out), 200);
    library_answer(paris, NERD_PIPELINE_NER, "dict", &want);
    CHECK_EQ_STR(http_body(&out), want.ptr);
    buf_free(&out);
    buf_free(&want);
    buf_free(&body);
    server_stop(&s, SIGTERM);
}

/* A model whose whole Doc nerd cannot compute (a tagger moved after the attribute_ruler) answers
 * /doc and /displacy's dep style 501 naming the model and why; its entities (/displacy's ent
 * style) are still answered, and the other model's Doc. */
TEST_T(serve_doc_of_a_model_nerd_cannot_compute_is_501_naming_why, 90)
{
    char copy[256], arg_full[1100], arg_senter[300];
    model_copy("senter",
               "sed -i 's/\"tagger\",\"parser\",\"senter\",\"attribute_ruler\"/\"parser\",\"senter\",\"attribute_ruler\",\"tagger\"/' config.cfg",
               copy, sizeof copy);
    snprintf(arg_full, sizeof arg_full, "full=%s", test_standin());
    snprintf(arg_senter, sizeof arg_senter, "senter=%s", copy);
    test_server s;
    server_start(&s, (const char *[]){"--model", arg_full, "--model", arg_senter, NULL});
    buf out = {0};
    const char *refused[] = {"/doc", "{\"text\": \"Paris\", \"model\": \"senter\"}",
                             "/displacy", "{\"text\": \"Paris\", \"model\": \"senter\", \"style\": \"dep\"}"};
    for (int i = 0; i < 4; i += 2) {
        buf_clear(&out);
        CHECK_EQ_INT(http_json(s.port, "POST", refused[i], refused[i + 1], &out), 501);
        CHECKF(strstr(http_body(&out), "{\"error\":\"model \\\"senter\\\" cannot compute the whole Doc: ") &&
               strstr(http_body(&out), "[components.tagger]"), "%s", http_body(&out));
    }
    buf_clear(&out);
    CHECK_EQ_INT(http_json(s.port, "POST", "/displacy", "{\"text\": \"Paris is big.\", \"model\": \"senter\", \"style\": \"ent\"}", &out), 200);
    CHECKF(strstr(http_body(&out), "\"label\":\"GPE\""), "%s", http_body(&out));
    buf_clear(&out);
    CHECK_EQ_INT(http_json(s.port, "POST", "/doc", "{\"text\": \"Paris\", \"model\": \"full\"}", &out), 200);
    buf_free(&out);
    server_stop(&s, SIGTERM);
    model_copy_remove(copy);
}

/* A German pipeline (the stand-in relabelled "de", without its English lemmatizer): its whole Doc
 * is answered, but doc.noun_chunks (and /displacy's collapse_phrases, which merges them) are 501
 * naming the language, not an empty list: nerd computes English's and French's syntax iterators. */
TEST_T(serve_noun_chunks_of_another_language_are_501_naming_it, 90)
{
    char copy[256], arg_de[300];
    model_copy("de", "sed -i 's/^lang = \"en\"/lang = \"de\"/; s/,\"lemmatizer\"//' config.cfg", copy, sizeof copy);
    snprintf(arg_de, sizeof arg_de, "de=%s", copy);
    test_server s;
    server_start(&s, (const char *[]){"--model", arg_de, NULL});
    buf out = {0};
    const char *refused[] = {"/doc", "{\"text\": \"Paris\", \"noun_chunks\": true}",
                             "/displacy", "{\"text\": \"Paris\", \"style\": \"dep\", \"options\": {\"collapse_phrases\": true}}"};
    for (int i = 0; i < 4; i += 2) {
        buf_clear(&out);
        CHECK_EQ_INT(http_json(s.port, "POST", refused[i], refused[i + 1], &out), 501);
        CHECKF(strstr(http_body(&out), "model \\\"de\\\" cannot compute doc.noun_chunks: ") &&
               strstr(http_body(&out), "lang \\\"de\\\""), "%s", http_body(&out));
    }
    buf_clear(&out);
    CHECK_EQ_INT(http_json(s.port, "POST", "/doc", "{\"text\": \"Paris\"}", &out), 200);
    buf_clear(&out);
    CHECK_EQ_INT(http_json(s.port, "POST", "/displacy", "{\"text\": \"Paris\", \"style\": \"dep\"}", &out), 200);
    buf_free(&out);
    server_stop(&s, SIGTERM);
    model_copy_remove(copy);
}

TEST(serve_doc_and_displacy_refuse_bad_fields_with_400)
{
    static const struct { const char *path, *body, *error; } cases[] = {
        {"/doc", "{\"text\": \"x\", \"noun_chunks\": 1}", "noun_chunks must be true or false"},
        {"/doc", "{\"text\": \"x\", \"texts\": [\"y\"]}", "give either text or texts, not both"},
        {"/doc", "{\"texts\": [\"y\", 2]}", "texts must be a list of strings"},
        {"/displacy", "{\"text\": \"x\", \"style\": \"span\"}", "style must be \\\"ent\\\" or \\\"dep\\\""},
        {"/displacy", "{\"text\": \"x\", \"style\": 7}", "style must be \\\"ent\\\" or \\\"dep\\\""},
        {"/displacy", "{\"text\": \"x\", \"options\": []}", "options must be an object"},
        {"/displacy", "{\"text\": \"x\", \"options\": {\"fine_grained\": \"yes\"}}", "fine_grained must be true or false"},
        {"/displacy", "{\"text\": \"x\", \"options\": {\"collapse_phrases\": null}}", "collapse_phrases must be true or false"},
        {"/displacy", "{\"txt\": \"x\"}", "missing field: text"},
        /* the ent style uses no option, but a body the API does not describe is refused all the same
         * (schemathesis: ST201, a schema-violating request accepted) */
        {"/displacy", "{\"text\": \"x\", \"style\": \"ent\", \"options\": false}", "options must be an object"},
        {"/displacy", "{\"text\": \"x\", \"style\": \"ent\", \"options\": {\"add_lemma\": 0}}", "add_lemma must be true or false"},
    };
    test_server s;
    server_start(&s, (const char *[]){NULL});
    buf out = {0};
    char want[160];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        buf_clear(&out);
        CHECKF(http_json(s.port, "POST", cases[i].path, cases[i].body, &out) == 400, "%s %s:\n%s", cases[i].path,
               cases[i].body, out.ptr);
        snprintf(want, sizeof want, "{\"error\":\"%s\"}", cases[i].error);
        CHECK_EQ_STR(http_body(&out), want);
    }
    /* options displaCy does not know are ignored, as displaCy ignores them */
    buf_clear(&out);
    CHECK_EQ_INT(http_json(s.port, "POST", "/displacy", "{\"text\": \"x\", \"options\": {\"compact\": true}}", &out), 200);
    buf_free(&out);
    server_stop(&s, SIGTERM);
}

/* The words and arcs of parse_deps as "w1 w2 ..." and "<start><l|r><end><label>;..." */
static void words_and_arcs(const char *answer, buf *words, buf *arcs)
{
    json_doc d = parse(answer);
    const json_value *w = json_get(&d.root, "words"), *a = json_get(&d.root, "arcs");
    CHECK(w && a && w->type == JSON_ARRAY && a->type == JSON_ARRAY);
    for (size_t i = 0; i < w->u.arr.n; i++) {
        const json_value *t = json_get(&w->u.arr.items[i], "text");
        buf_printf(words, "%s%.*s", i ? " " : "", (int)t->u.str.len, t->u.str.ptr);
    }
    for (size_t i = 0; i < a->u.arr.n; i++) {
        const json_value *x = &a->u.arr.items[i], *label = json_get(x, "label");
        buf_printf(arcs, "%d%c%d%.*s;", (int)json_get(x, "start")->u.num, json_get(x, "dir")->u.str.ptr[0],
                   (int)json_get(x, "end")->u.num, (int)label->u.str.len, label->u.str.ptr);
    }
    json_doc_free(&d);
}

/* parse_deps' words and arcs on the stand-in, spaCy 3.8.7's (displacy.parse_deps(nlp(text), options)):
 * punctuation merged into the word before it, noun chunks into one word, spaCy's Span.root choosing
 * each merged word's head and label. */
TEST(displacy_deps_merge_punctuation_as_spacys_parse_deps)
{
    static const struct { const char *text; int collapse_punct, collapse_phrases; const char *words, *arcs; } cases[] = {
        {"Hello, world!! Tim Cook's dog... (really) \"yes\".", 1, 0, "Hello, world!! Tim Cook 's dog... ( really) \" yes\".",
         "0l1discourse;2l3compound;3l5nmod:poss;3r4case;5l7nsubj;6l7advmod;"},
        {"Hello, world!! Tim Cook's dog... (really) \"yes\".", 0, 0,
         "Hello , world ! ! Tim Cook 's dog ... ( really ) \" yes \" .",
         "0l2discourse;1l2punct;2r3punct;2r4punct;5l6compound;6l8nmod:poss;6r7case;8l14nsubj;9l11punct;10l11punct;"
         "11l14advmod;11r12punct;13l14punct;14r15punct;14r16punct;"},
        {"Wait -- what?!", 1, 0, "Wait -- what?!", "0r1parataxis;"},
        {"Wait -- what?!", 0, 0, "Wait -- what ? !", "1l2punct;0r2parataxis;2r3punct;0r4punct;"},
        /* noun chunks merged first (the root's tag and lemma), then punctuation (the first word's) */
        {"Hello, world!! Tim Cook's dog... (really) \"yes\".", 1, 1, "Hello, world!! Tim Cook's dog... ( really) \" yes\".",
         "1l3nsubj;2l3advmod;"},
        {"The big red dog of my old neighbour barked, loudly.", 1, 1, "The big red dog of my old neighbour barked, loudly.",
         "0l5nsubj;1l4case;2l4nmod:poss;3l4amod;0r4nmod;5r6advmod;"},
    };
    nerd_model *m = test_model();
    nerd_doc *d = nerd_doc_new();
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        CHECK(nerd_ner(m, d, cases[i].text, strlen(cases[i].text), NERD_PIPELINE_DOC) == NERD_OK);
        displacy_dep_options o = DISPLACY_DEP_DEFAULTS;
        o.collapse_punct = cases[i].collapse_punct;
        o.collapse_phrases = cases[i].collapse_phrases;
        buf out = {0}, words = {0}, arcs = {0};
        CHECK(!displacy_write_deps(d, cases[i].text, "en", &o, &out));
        words_and_arcs(out.ptr, &words, &arcs);
        CHECK_EQ_STR(words.ptr, cases[i].words);
        CHECK_EQ_STR(arcs.ptr, cases[i].arcs);
        CHECKF(strstr(out.ptr, "\"settings\":{\"lang\":\"en\",\"direction\":\"ltr\"}}"), "%s", out.ptr);
        buf_free(&out), buf_free(&words), buf_free(&arcs);
    }
    /* a right-to-left language's direction */
    buf out = {0};
    CHECK(!displacy_write_ents(d, "x", 1, "he", &out));
    CHECK_EQ_STR(out.ptr, "{\"text\":\"x\",\"ents\":[],\"title\":null,\"settings\":{\"lang\":\"he\",\"direction\":\"rtl\"}}");
    buf_free(&out);
    nerd_doc_free(d);
    nerd_model_free(m);
}

/* `nerd ner --format doc` writes what POST /doc answers, one line per text with --jsonl. */
TEST_T(cli_format_doc_is_the_routes_answer, 90)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "printf '%%s\\n' '{\"text\": \"Angela Merkel visited Paris.\"}' '{\"text\": \"\"}' | "
             "%s ner --model %s --format doc --noun-chunks --jsonl -", test_nerd_bin(), test_standin());
    FILE *p = popen(cmd, "r");
    CHECK(p);
    buf got = {0}, want = {0};
    char chunk[4096];
    for (size_t n; (n = fread(chunk, 1, sizeof chunk, p)) > 0;) buf_append(&got, chunk, n);
    CHECK_EQ_INT(pclose(p), 0);
    library_answer(paris, NERD_PIPELINE_DOC, "doc", &want);
    buf_putc(&want, '\n');
    library_answer("", NERD_PIPELINE_DOC, "doc", &want);
    buf_putc(&want, '\n');
    CHECK_EQ_STR(got.ptr, want.ptr);
    buf_free(&got);
    buf_free(&want);
}

/* GET /ui: the embedded page, HTML, which asks /displacy for both styles and loads nothing from
 * anywhere (its only URL is the SVG namespace's name, which is never fetched). tests/ui/test_ui.py
 * runs it in a browser. */
TEST(serve_ui_is_a_page_without_external_assets)
{
    test_server s;
    server_start(&s, (const char *[]){NULL});
    buf out = {0};
    CHECK_EQ_INT(http_json(s.port, "GET", "/ui", NULL, &out), 200);
    CHECK(strstr(out.ptr, "\r\nContent-Type: text/html; charset=utf-8\r\n"));
    const char *page = http_body(&out);
    CHECK(strstr(page, "post(\"displacy\", { text, style: \"ent\" })") && strstr(page, "style: \"dep\""));
    static const char svg_ns[] = "\"http://www.w3.org/2000/svg\"";
    const char *ns = strstr(page, svg_ns);
    CHECK(ns && !strstr(ns + 1, svg_ns));
    static const char *const external[] = {"https://", "src=", "href=", "url(", "@import", "//"};
    for (size_t i = 0; i < sizeof external / sizeof *external; i++) {
        const char *hit = strstr(page, external[i]);
        /* the namespace's "http://" and the "//" of a JavaScript comment are the only ones allowed */
        while (hit && ((hit >= ns && hit < ns + sizeof svg_ns) || (!strcmp(external[i], "//") && hit[2] == ' ')))
            hit = strstr(hit + 1, external[i]);
        CHECKF(!hit, "the page refers to something outside it: %.60s", hit);
    }
    CHECK(!strstr(page, "http://") || strstr(page, "http://") == ns + 1);
    buf_free(&out);
    server_stop(&s, SIGTERM);
}
