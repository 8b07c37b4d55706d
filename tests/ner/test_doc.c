/* The doc pipeline (NERD_PIPELINE_DOC): what spacy.load(folder) runs, refused by the name of
 * a component nerd does not compute, and its entities those of the full pipeline. */
#include "test.h"
#include "model_helper.h"
#include "nerd.h"
#include "modelfile/modelfile.h"
#include "nn/softmax.h"
#include "text/morph.h"
#include "util/doc_json.h"
#include "util/json.h"

#include <msgpack.h>
#include <pthread.h>
#include <unistd.h>

/* A copy of folder src made of symlinks (test_edit_config unlinks what it rewrites). */
static const char *link_copy_of(const char *src, char *dir, size_t len)
{
    char real[1024], cmd[2400];
    CHECK(realpath(src, real));
    snprintf(dir, len, "/tmp/nerd-doc-model-%d", (int)getpid());
    snprintf(cmd, sizeof cmd, "rm -rf %s && cp -rs %s %s", dir, real, dir);
    CHECK(system(cmd) == 0);
    return dir;
}

/* The stand-in's. */
static const char *link_copy(char *dir, size_t len) { return link_copy_of(test_standin(), dir, len); }

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

/* What the doc pipeline cannot compute is named (here a tagger moved after the attribute_ruler,
 * whose patterns read its tags; the senter en_core_web_sm ships disabled, enabled, is computed:
 * after the parser without overwrite it changes nothing); the other pipelines still run. */
TEST(doc_pipeline_refuses_by_name)
{
    char dir[256];
    link_copy(dir, sizeof dir);
    test_edit_config(dir, "[nlp]", "disabled = [\"senter\"]", "disabled = []");
    test_edit_config(dir, "[nlp]", "\"tagger\",\"parser\",\"senter\",\"attribute_ruler\"",
                     "\"parser\",\"senter\",\"attribute_ruler\",\"tagger\"");
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

/* The doc pipeline's entities and parse are the full pipeline's (the tagger shares the parser's
 * tok2vec pass, the whole attribute_ruler gives whitespace the same "dep"). */
TEST(doc_pipeline_entities_are_full)
{
    nerd_model *m = test_model();
    CHECKF(nerd_model_has_pipeline(m, NERD_PIPELINE_DOC), "%s", nerd_model_pipeline_error(m, NERD_PIPELINE_DOC));
    static const char text[] = "Apple is looking at buying U.K. startup for $1 billion.  Paris is in France.\n";
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
}

/* ---- spaCy's answers (spaCy 3.8.7 on the stand-in, printed with separators=(",", ":") and
 * ensure_ascii=False) ---- */

/* nerd ner --format doc --noun-chunks for text; the answer, malloc'd */
static char *doc_json_of(const char *model, const char *pipeline, const char *text)
{
    char path[256], cmd[1024];
    snprintf(path, sizeof path, "/tmp/nerd-doc-text-%d", (int)getpid());
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(text, 1, strlen(text), f) == strlen(text));
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s ner --model %s --pipeline %s --format doc --noun-chunks %s", test_nerd_bin(), model,
             pipeline, path);
    char *out = malloc(1 << 16);
    CHECK(out && test_run_output(cmd, out, 1 << 16) == 0);
    unlink(path);
    size_t n = strlen(out);
    CHECK(n && out[n - 1] == '\n');
    out[n - 1] = 0;
    return out;
}

static const struct { const char *pipeline, *text, *spacy; } spacy_docs[] = {
    {"doc", "Apple is looking at buying U.K. startup for $1 billion.\n\nShe saw  them in Paris's old caf\xc3\xa9s.",
     "{\"text\":\"Apple is looking at buying U.K. startup for $1 billion.\\n\\nShe saw  them in Paris's old caf\xc3\xa9s.\","
     "\"ents\":[{\"start\":0,\"end\":5,\"label\":\"GPE\"},{\"start\":27,\"end\":31,\"label\":\"GPE\"},{\"start\":44,\"end\":54,"
     "\"label\":\"MONEY\"},{\"start\":74,\"end\":79,\"label\":\"GPE\"}],\"sents\":[{\"start\":0,\"end\":55},{\"start\":55,"
     "\"end\":92}],\"tokens\":[{\"id\":0,\"start\":0,\"end\":5,\"tag\":\"NNP\",\"pos\":\"PROPN\",\"morph\":\"Number=Sing\","
     "\"lemma\":\"Apple\",\"dep\":\"nsubj\",\"head\":2},{\"id\":1,\"start\":6,\"end\":8,\"tag\":\"VBZ\",\"pos\":\"AUX\","
     "\"morph\":\"Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin\",\"lemma\":\"be\",\"dep\":\"aux\",\"head\":2},"
     "{\"id\":2,\"start\":9,\"end\":16,\"tag\":\"VBG\",\"pos\":\"VERB\",\"morph\":\"Aspect=Prog|Tense=Pres|VerbForm=Part\","
     "\"lemma\":\"look\",\"dep\":\"ROOT\",\"head\":2},{\"id\":3,\"start\":17,\"end\":19,\"tag\":\"IN\",\"pos\":\"SCONJ\","
     "\"morph\":\"\",\"lemma\":\"at\",\"dep\":\"mark\",\"head\":4},{\"id\":4,\"start\":20,\"end\":26,\"tag\":\"VBG\","
     "\"pos\":\"VERB\",\"morph\":\"Aspect=Prog|Tense=Pres|VerbForm=Part\",\"lemma\":\"buy\",\"dep\":\"advcl\",\"head\":2},"
     "{\"id\":5,\"start\":27,\"end\":31,\"tag\":\"NNP\",\"pos\":\"PROPN\",\"morph\":\"Number=Sing\",\"lemma\":\"U.K.\","
     "\"dep\":\"compound\",\"head\":6},{\"id\":6,\"start\":32,\"end\":39,\"tag\":\"NN\",\"pos\":\"NOUN\",\"morph\":"
     "\"Number=Sing\",\"lemma\":\"startup\",\"dep\":\"obj\",\"head\":4},{\"id\":7,\"start\":40,\"end\":43,\"tag\":\"IN\","
     "\"pos\":\"ADP\",\"morph\":\"\",\"lemma\":\"for\",\"dep\":\"case\",\"head\":8},{\"id\":8,\"start\":44,\"end\":45,"
     "\"tag\":\"$\",\"pos\":\"SYM\",\"morph\":\"\",\"lemma\":\"$\",\"dep\":\"nmod\",\"head\":6},{\"id\":9,\"start\":45,"
     "\"end\":46,\"tag\":\"CD\",\"pos\":\"NUM\",\"morph\":\"NumType=Card\",\"lemma\":\"1\",\"dep\":\"compound\",\"head\":10},"
     "{\"id\":10,\"start\":47,\"end\":54,\"tag\":\"CD\",\"pos\":\"NUM\",\"morph\":\"NumType=Card\",\"lemma\":\"billion\","
     "\"dep\":\"nummod\",\"head\":8},{\"id\":11,\"start\":54,\"end\":55,\"tag\":\".\",\"pos\":\"PUNCT\",\"morph\":"
     "\"PunctType=Peri\",\"lemma\":\".\",\"dep\":\"punct\",\"head\":2},{\"id\":12,\"start\":55,\"end\":57,\"tag\":\"_SP\","
     "\"pos\":\"SPACE\",\"morph\":\"\",\"lemma\":\"\\n\\n\",\"dep\":\"dep\",\"head\":14},{\"id\":13,\"start\":57,\"end\":60,"
     "\"tag\":\"PRP\",\"pos\":\"PRON\",\"morph\":\"Case=Nom|Gender=Fem|Number=Sing|Person=3|PronType=Prs\",\"lemma\":"
     "\"she\",\"dep\":\"nsubj\",\"head\":14},{\"id\":14,\"start\":61,\"end\":64,\"tag\":\"VBD\",\"pos\":\"VERB\",\"morph\":"
     "\"Tense=Past|VerbForm=Fin\",\"lemma\":\"see\",\"dep\":\"ROOT\",\"head\":14},{\"id\":15,\"start\":65,\"end\":66,"
     "\"tag\":\"_SP\",\"pos\":\"SPACE\",\"morph\":\"\",\"lemma\":\" \",\"dep\":\"dep\",\"head\":14},{\"id\":16,\"start\":66,"
     "\"end\":70,\"tag\":\"PRP\",\"pos\":\"PRON\",\"morph\":\"Case=Acc|Number=Plur|Person=3|PronType=Prs\",\"lemma\":"
     "\"they\",\"dep\":\"obj\",\"head\":14},{\"id\":17,\"start\":71,\"end\":73,\"tag\":\"IN\",\"pos\":\"ADP\",\"morph\":\"\","
     "\"lemma\":\"in\",\"dep\":\"case\",\"head\":21},{\"id\":18,\"start\":74,\"end\":79,\"tag\":\"NNP\",\"pos\":\"PROPN\","
     "\"morph\":\"Number=Sing\",\"lemma\":\"Paris\",\"dep\":\"nmod:poss\",\"head\":21},{\"id\":19,\"start\":79,\"end\":81,"
     "\"tag\":\"POS\",\"pos\":\"PART\",\"morph\":\"\",\"lemma\":\"'s\",\"dep\":\"case\",\"head\":18},{\"id\":20,\"start\":82,"
     "\"end\":85,\"tag\":\"JJ\",\"pos\":\"ADJ\",\"morph\":\"Degree=Pos\",\"lemma\":\"old\",\"dep\":\"amod\",\"head\":21},"
     "{\"id\":21,\"start\":86,\"end\":91,\"tag\":\"NN\",\"pos\":\"NOUN\",\"morph\":\"Number=Sing\",\"lemma\":\"caf\xc3\xa9s\","
     "\"dep\":\"obl\",\"head\":14},{\"id\":22,\"start\":91,\"end\":92,\"tag\":\".\",\"pos\":\"PUNCT\",\"morph\":"
     "\"PunctType=Peri\",\"lemma\":\".\",\"dep\":\"punct\",\"head\":14}],\"noun_chunks\":[{\"start\":0,\"end\":5},"
     "{\"start\":57,\"end\":60}]}"},
    /* one whitespace token: the attribute_ruler's IS_SPACE rules, its one sentence */
    {"doc", "\n",
     "{\"text\":\"\\n\",\"ents\":[],\"sents\":[{\"start\":0,\"end\":1}],\"tokens\":[{\"id\":0,\"start\":0,\"end\":1,"
     "\"tag\":\"_SP\",\"pos\":\"SPACE\",\"morph\":\"\",\"lemma\":\"\\n\",\"dep\":\"dep\",\"head\":0}],\"noun_chunks\":[]}"},
    /* an empty doc has every annotation (has_annotation), so every list */
    {"doc", "", "{\"text\":\"\",\"ents\":[],\"sents\":[],\"tokens\":[],\"noun_chunks\":[]}"},
    /* the ner alone: one token is one sentence, more tokens have none, and no token fields */
    {"ner", "Paris",
     "{\"text\":\"Paris\",\"ents\":[{\"start\":0,\"end\":5,\"label\":\"GPE\"}],\"sents\":[{\"start\":0,\"end\":5}],"
     "\"tokens\":[{\"id\":0,\"start\":0,\"end\":5}]}"},
    {"ner", "Paris is nice",
     "{\"text\":\"Paris is nice\",\"ents\":[{\"start\":0,\"end\":5,\"label\":\"GPE\"}],\"tokens\":[{\"id\":0,\"start\":0,"
     "\"end\":5},{\"id\":1,\"start\":6,\"end\":8},{\"id\":2,\"start\":9,\"end\":13}]}"},
};

TEST(doc_json_is_spacys_to_json)
{
    for (size_t i = 0; i < sizeof spacy_docs / sizeof *spacy_docs; i++) {
        char *got = doc_json_of(test_standin(), spacy_docs[i].pipeline, spacy_docs[i].text);
        CHECKF(!strcmp(got, spacy_docs[i].spacy), "case %zu\nnerd:  %s\nspaCy: %s", i, got, spacy_docs[i].spacy);
        free(got);
    }
}

/* The full pipeline computes no tag, lemma or chunk (only what a route returns is computed), and a
 * doc reused after the doc pipeline forgets them. */
TEST(doc_full_pipeline_computes_no_doc_fields)
{
    nerd_model *m = test_model();
    nerd_doc *d = nerd_doc_new();
    static const char text[] = "Paris is in France.";
    CHECK(nerd_ner(m, d, text, sizeof text - 1, NERD_PIPELINE_DOC) == NERD_OK);
    const unsigned all = NERD_ANNOT_TAG | NERD_ANNOT_POS | NERD_ANNOT_MORPH | NERD_ANNOT_LEMMA | NERD_ANNOT_DEP |
                         NERD_ANNOT_SENT_START | NERD_ANNOT_ENTS;
    CHECK(nerd_doc_annotations(d) == all && nerd_doc_nnoun_chunks(d) > 0);
    nerd_token_annot a;
    CHECK(nerd_doc_token_annot(d, 0, &a) == 0 && a.lemma.len == 5 && a.tag.len > 0);
    CHECK(nerd_ner(m, d, text, sizeof text - 1, NERD_PIPELINE_FULL) == NERD_OK);
    CHECK(nerd_doc_annotations(d) == (NERD_ANNOT_DEP | NERD_ANNOT_SENT_START | NERD_ANNOT_ENTS));
    CHECK(nerd_doc_token_annot(d, 0, &a) == 0 && a.tag.len == 0 && a.pos.len == 0 && a.lemma.len == 0);
    CHECK(nerd_doc_nnoun_chunks(d) == 0 && nerd_doc_noun_chunk(d, 0, NULL, NULL) == -1);
    CHECK(nerd_doc_token_annot(d, 99, &a) == -1);
    nerd_doc_free(d);
    nerd_model_free(m);
}

/* ---- the attribute_ruler's semantics, on rules added to the stand-in's ---- */

static void pack_json(msgpack_packer *pk, const json_value *v)
{
    switch (v->type) {
    case JSON_NULL: msgpack_pack_nil(pk); break;
    case JSON_TRUE: msgpack_pack_true(pk); break;
    case JSON_FALSE: msgpack_pack_false(pk); break;
    case JSON_NUMBER: msgpack_pack_int64(pk, (int64_t)v->u.num); break;
    case JSON_STRING:
        msgpack_pack_str(pk, v->u.str.len);
        msgpack_pack_str_body(pk, v->u.str.ptr, v->u.str.len);
        break;
    case JSON_ARRAY:
        msgpack_pack_array(pk, v->u.arr.n);
        for (size_t i = 0; i < v->u.arr.n; i++) pack_json(pk, &v->u.arr.items[i]);
        break;
    case JSON_OBJECT:
        msgpack_pack_map(pk, v->u.obj.n);
        for (size_t i = 0; i < v->u.obj.n; i++) {
            msgpack_pack_str(pk, v->u.obj.items[i].keylen);
            msgpack_pack_str_body(pk, v->u.obj.items[i].key, v->u.obj.items[i].keylen);
            pack_json(pk, &v->u.obj.items[i].val);
        }
        break;
    }
}

/* A stand-in copy in dir whose attribute_ruler has the stand-in's rules and then extra (JSON). */
static void ruler_copy(char *dir, size_t len, const char *extra)
{
    link_copy(dir, len);
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/attribute_ruler/patterns", dir);
    mf_msgpack orig;
    CHECKF(mf_msgpack_read(&orig, path, "patterns", MSGPACK_OBJECT_ARRAY, err, sizeof err) == NERD_OK, "%s", err);
    json_doc jd;
    CHECKF(json_parse(extra, strlen(extra), 16, &jd, err, sizeof err) == 0, "%s", err);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, orig.root->via.array.size + jd.root.u.arr.n);
    for (uint32_t i = 0; i < orig.root->via.array.size; i++) msgpack_pack_object(&pk, orig.root->via.array.ptr[i]);
    for (size_t i = 0; i < jd.root.u.arr.n; i++) pack_json(&pk, &jd.root.u.arr.items[i]);
    mf_msgpack_free(&orig);
    json_doc_free(&jd);
    CHECK(unlink(path) == 0);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(sb.data, 1, sb.size, f) == sb.size);
    fclose(f);
    msgpack_sbuffer_destroy(&sb);
}

typedef struct {
    const char *text, *spacy;
} ruled_doc;

/* nerd's doc pipeline on a stand-in copy with the extra attribute_ruler rules gives spaCy's docs. */
static void docs_with_rules_are_spacys(const char *extra, const ruled_doc *cases, size_t n)
{
    char dir[256];
    ruler_copy(dir, sizeof dir, extra);
    for (size_t i = 0; i < n; i++) {
        char *got = doc_json_of(dir, "doc", cases[i].text);
        CHECKF(!strcmp(got, cases[i].spacy), "case %zu\nnerd:  %s\nspaCy: %s", i, got, cases[i].spacy);
        free(got);
    }
    remove_copy(dir);
}

/* Later rules win; index 0, -1 and the last token of overlapping "+" matches (every match, spaCy's
 * Matcher without greedy); MORPH normalized, "" analysed without features. spaCy 3.8.7's answers
 * with these rules added. */
TEST(doc_ruler_order_index_and_morph)
{
    static const char extra[] =
        "[{\"patterns\": [[{\"LOWER\": \"paris\"}]], \"attrs\": {\"LEMMA\": \"P0\", \"POS\": \"NOUN\", \"MORPH\": "
        "\"Foo=2|FooBar=1|Case=Nom,Acc\"}, \"index\": 0},"
        " {\"patterns\": [[{\"LOWER\": \"paris\"}]], \"attrs\": {\"LEMMA\": \"P1\"}, \"index\": 0},"
        " {\"patterns\": [[{\"LOWER\": \"is\"}, {\"LOWER\": \"in\"}]], \"attrs\": {\"TAG\": \"ZZ\"}, \"index\": -1},"
        " {\"patterns\": [[{\"LOWER\": \"is\"}, {\"LOWER\": \"in\"}]], \"attrs\": {\"MORPH\": \"\"}, \"index\": 0},"
        " {\"patterns\": [[{\"TAG\": \"NNP\", \"OP\": \"+\"}]], \"attrs\": {\"LEMMA\": \"NAME\"}, \"index\": -1}]";
    static const ruled_doc cases[] = {
        {"Paris is in France.",
         "{\"text\":\"Paris is in France.\",\"ents\":[{\"start\":0,\"end\":5,\"label\":\"GPE\"},{\"start\":12,\"end\":18,"
         "\"label\":\"GPE\"}],\"sents\":[{\"start\":0,\"end\":19}],\"tokens\":[{\"id\":0,\"start\":0,\"end\":5,\"tag\":"
         "\"NNP\",\"pos\":\"NOUN\",\"morph\":\"Case=Acc,Nom|Foo=2|FooBar=1\",\"lemma\":\"NAME\",\"dep\":\"nsubj\","
         "\"head\":3},{\"id\":1,\"start\":6,\"end\":8,\"tag\":\"VBZ\",\"pos\":\"AUX\",\"morph\":\"\",\"lemma\":\"be\","
         "\"dep\":\"cop\",\"head\":3},{\"id\":2,\"start\":9,\"end\":11,\"tag\":\"ZZ\",\"pos\":\"ADP\",\"morph\":\"\","
         "\"lemma\":\"in\",\"dep\":\"case\",\"head\":3},{\"id\":3,\"start\":12,\"end\":18,\"tag\":\"NNP\",\"pos\":"
         "\"PROPN\",\"morph\":\"Number=Sing\",\"lemma\":\"NAME\",\"dep\":\"ROOT\",\"head\":3},{\"id\":4,\"start\":18,"
         "\"end\":19,\"tag\":\".\",\"pos\":\"PUNCT\",\"morph\":\"PunctType=Peri\",\"lemma\":\".\",\"dep\":\"punct\","
         "\"head\":3}],\"noun_chunks\":[{\"start\":0,\"end\":5}]}"},
        {"New York City is big.",
         "{\"text\":\"New York City is big.\",\"ents\":[{\"start\":0,\"end\":13,\"label\":\"GPE\"}],\"sents\":[{\"start\":0,"
         "\"end\":21}],\"tokens\":[{\"id\":0,\"start\":0,\"end\":3,\"tag\":\"NNP\",\"pos\":\"PROPN\",\"morph\":"
         "\"Number=Sing\",\"lemma\":\"NAME\",\"dep\":\"amod\",\"head\":1},{\"id\":1,\"start\":4,\"end\":8,\"tag\":\"NNP\","
         "\"pos\":\"PROPN\",\"morph\":\"Number=Sing\",\"lemma\":\"NAME\",\"dep\":\"compound\",\"head\":2},{\"id\":2,"
         "\"start\":9,\"end\":13,\"tag\":\"NNP\",\"pos\":\"PROPN\",\"morph\":\"Number=Sing\",\"lemma\":\"NAME\",\"dep\":"
         "\"nsubj\",\"head\":4},{\"id\":3,\"start\":14,\"end\":16,\"tag\":\"VBZ\",\"pos\":\"AUX\",\"morph\":"
         "\"Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin\",\"lemma\":\"be\",\"dep\":\"cop\",\"head\":4},{\"id\":4,"
         "\"start\":17,\"end\":20,\"tag\":\"JJ\",\"pos\":\"ADJ\",\"morph\":\"Degree=Pos\",\"lemma\":\"big\",\"dep\":\"ROOT\","
         "\"head\":4},{\"id\":5,\"start\":20,\"end\":21,\"tag\":\".\",\"pos\":\"PUNCT\",\"morph\":\"PunctType=Peri\","
         "\"lemma\":\".\",\"dep\":\"punct\",\"head\":4}],\"noun_chunks\":[{\"start\":0,\"end\":13}]}"},
    };
    docs_with_rules_are_spacys(extra, cases, sizeof cases / sizeof *cases);
}

/* The attribute_ruler's patterns read every lexical flag (engine_matcher_view, the entity_ruler's
 * token view): spaCy 3.8.7's answers with these rules added to the stand-in's. The doc pipeline
 * refused any flag but IS_SPACE and SPACY before. */
TEST(doc_ruler_reads_every_lexical_flag)
{
    static const char extra[] =
        "[{\"patterns\": [[{\"IS_PUNCT\": true, \"IS_QUOTE\": false, \"IS_BRACKET\": false}]], \"attrs\": {\"LEMMA\": \""
         "P!\"}}, {\"patterns\": [[{\"IS_QUOTE\": true}]], \"attrs\": {\"LEMMA\": \"Q!\"}}, {\"patterns\": [[{\"IS_LEFT_"
         "PUNCT\": true, \"IS_BRACKET\": true}]], \"attrs\": {\"TAG\": \"LB\"}}, {\"patterns\": [[{\"IS_RIGHT_PUNCT\": t"
         "rue}]], \"attrs\": {\"MORPH\": \"Side=R\"}}, {\"patterns\": [[{\"IS_STOP\": true, \"IS_LOWER\": true}]], \"att"
         "rs\": {\"LEMMA\": \"S!\"}}, {\"patterns\": [[{\"LIKE_NUM\": true}, {\"IS_ALPHA\": true}]], \"attrs\": {\"TAG\""
         ": \"CDX\"}, \"index\": 0}, {\"patterns\": [[{\"IS_DIGIT\": true, \"IS_ASCII\": true}]], \"attrs\": {\"LEMMA\":"
         " \"D!\"}}, {\"patterns\": [[{\"IS_TITLE\": true}, {\"IS_UPPER\": true}]], \"attrs\": {\"MORPH\": \"Case=TU\"},"
         " \"index\": -1}, {\"patterns\": [[{\"IS_CURRENCY\": true}]], \"attrs\": {\"POS\": \"SYM\"}}, {\"patterns\": [["
         "{\"LIKE_URL\": true}]], \"attrs\": {\"LEMMA\": \"U!\"}}, {\"patterns\": [[{\"LIKE_EMAIL\": true}]], \"attrs\":"
         " {\"LEMMA\": \"E!\"}}, {\"patterns\": [[{\"IS_ALPHA\": false, \"IS_SPACE\": false, \"IS_PUNCT\": false, \"LIKE"
         "_NUM\": false}]], \"attrs\": {\"TAG\": \"NA\"}}]";
    static const ruled_doc cases[] = {
        {"Twenty Two NASA engineers paid \xe2\x82\xac""5 (or $7) at https://example.com, said \xe2\x80\x9cThe END\xe2\x80\x9d"
         " to info@x.org.",
         "{\"text\":\"Twenty Two NASA engineers paid \xe2\x82\xac""5 (or $7) at https://example.com, said \xe2\x80\x9cThe "
         "END\xe2\x80\x9d to info@x.org.\",\"ents\":[{\"start\":0,\"end\":10,\"label\":\"DATE\"},{\"start\":11,\"end\":1"
         "5,\"label\":\"ORG\"},{\"start\":32,\"end\":33,\"label\":\"CARDINAL\"},{\"start\":38,\"end\":40,\"label\":\"MON"
         "EY\"}],\"sents\":[{\"start\":0,\"end\":95}],\"tokens\":[{\"id\":0,\"start\":0,\"end\":6,\"tag\":\"CDX\",\"pos\""
         ":\"NUM\",\"morph\":\"NumType=Card\",\"lemma\":\"twenty\",\"dep\":\"nummod\",\"head\":3},{\"id\":1,\"start\":7,"
         "\"end\":10,\"tag\":\"CDX\",\"pos\":\"NUM\",\"morph\":\"NumType=Card\",\"lemma\":\"two\",\"dep\":\"nummod\",\"h"
         "ead\":3},{\"id\":2,\"start\":11,\"end\":15,\"tag\":\"NNP\",\"pos\":\"PROPN\",\"morph\":\"Case=TU\",\"lemma\":\""
         "NASA\",\"dep\":\"compound\",\"head\":3},{\"id\":3,\"start\":16,\"end\":25,\"tag\":\"NNS\",\"pos\":\"NOUN\",\"m"
         "orph\":\"Number=Plur\",\"lemma\":\"engineer\",\"dep\":\"nsubj\",\"head\":4},{\"id\":4,\"start\":26,\"end\":30,"
         "\"tag\":\"VBD\",\"pos\":\"VERB\",\"morph\":\"Tense=Past|VerbForm=Fin\",\"lemma\":\"pay\",\"dep\":\"ccomp\",\"h"
         "ead\":15},{\"id\":5,\"start\":31,\"end\":32,\"tag\":\"NA\",\"pos\":\"SYM\",\"morph\":\"\",\"lemma\":\"\xe2\x82\xac"
         "\",\"dep\":\"obj\",\"head\":4},{\"id\":6,\"start\":32,\"end\":33,\"tag\":\"CD\",\"pos\":\"NUM\",\"morph\":\"Nu"
         "mType=Card\",\"lemma\":\"D!\",\"dep\":\"nummod\",\"head\":5},{\"id\":7,\"start\":34,\"end\":35,\"tag\":\"LB\","
         "\"pos\":\"PUNCT\",\"morph\":\"PunctSide=Ini|PunctType=Brck\",\"lemma\":\"(\",\"dep\":\"punct\",\"head\":9},{\""
         "id\":8,\"start\":35,\"end\":37,\"tag\":\"CC\",\"pos\":\"CCONJ\",\"morph\":\"ConjType=Cmp\",\"lemma\":\"S!\",\""
         "dep\":\"cc\",\"head\":9},{\"id\":9,\"start\":38,\"end\":39,\"tag\":\"NA\",\"pos\":\"SYM\",\"morph\":\"\",\"lem"
         "ma\":\"$\",\"dep\":\"conj\",\"head\":5},{\"id\":10,\"start\":39,\"end\":40,\"tag\":\"CD\",\"pos\":\"NUM\",\"mo"
         "rph\":\"NumType=Card\",\"lemma\":\"D!\",\"dep\":\"nummod\",\"head\":9},{\"id\":11,\"start\":40,\"end\":41,\"ta"
         "g\":\"-RRB-\",\"pos\":\"PUNCT\",\"morph\":\"Side=R\",\"lemma\":\")\",\"dep\":\"punct\",\"head\":9},{\"id\":12,"
         "\"start\":42,\"end\":44,\"tag\":\"IN\",\"pos\":\"ADP\",\"morph\":\"\",\"lemma\":\"S!\",\"dep\":\"case\",\"head"
         "\":13},{\"id\":13,\"start\":45,\"end\":64,\"tag\":\"NA\",\"pos\":\"PROPN\",\"morph\":\"Number=Sing\",\"lemma\""
         ":\"U!\",\"dep\":\"obl\",\"head\":4},{\"id\":14,\"start\":64,\"end\":65,\"tag\":\",\",\"pos\":\"PUNCT\",\"morph"
         "\":\"PunctType=Comm\",\"lemma\":\"P!\",\"dep\":\"punct\",\"head\":4},{\"id\":15,\"start\":66,\"end\":70,\"tag\""
         ":\"VBD\",\"pos\":\"VERB\",\"morph\":\"Tense=Past|VerbForm=Fin\",\"lemma\":\"say\",\"dep\":\"ROOT\",\"head\":15"
         "},{\"id\":16,\"start\":71,\"end\":72,\"tag\":\"``\",\"pos\":\"PUNCT\",\"morph\":\"PunctSide=Ini|PunctType=Quot"
         "\",\"lemma\":\"Q!\",\"dep\":\"punct\",\"head\":18},{\"id\":17,\"start\":72,\"end\":75,\"tag\":\"DT\",\"pos\":\""
         "DET\",\"morph\":\"Definite=Def|PronType=Art\",\"lemma\":\"the\",\"dep\":\"det\",\"head\":18},{\"id\":18,\"star"
         "t\":76,\"end\":79,\"tag\":\"NN\",\"pos\":\"NOUN\",\"morph\":\"Case=TU\",\"lemma\":\"END\",\"dep\":\"ccomp\",\""
         "head\":15},{\"id\":19,\"start\":79,\"end\":80,\"tag\":\"''\",\"pos\":\"PUNCT\",\"morph\":\"Side=R\",\"lemma\":"
         "\"Q!\",\"dep\":\"punct\",\"head\":18},{\"id\":20,\"start\":81,\"end\":83,\"tag\":\"IN\",\"pos\":\"ADP\",\"morp"
         "h\":\"\",\"lemma\":\"S!\",\"dep\":\"case\",\"head\":21},{\"id\":21,\"start\":84,\"end\":94,\"tag\":\"NA\",\"po"
         "s\":\"NOUN\",\"morph\":\"Number=Sing\",\"lemma\":\"E!\",\"dep\":\"nmod\",\"head\":18},{\"id\":22,\"start\":94,"
         "\"end\":95,\"tag\":\".\",\"pos\":\"PUNCT\",\"morph\":\"PunctType=Peri\",\"lemma\":\"P!\",\"dep\":\"punct\",\"h"
         "ead\":15}],\"noun_chunks\":[{\"start\":0,\"end\":25}]}"},
        {"It is one of the 3 best: Paris' caf\xc3\xa9s [sic] & 4th-rate bars!",
         "{\"text\":\"It is one of the 3 best: Paris' caf\xc3\xa9s [sic] & 4th-rate bars!\",\"ents\":[{\"start\":17,\"en"
         "d\":18,\"label\":\"CARDINAL\"},{\"start\":25,\"end\":30,\"label\":\"GPE\"},{\"start\":46,\"end\":49,\"label\":"
         "\"ORDINAL\"}],\"sents\":[{\"start\":0,\"end\":60}],\"tokens\":[{\"id\":0,\"start\":0,\"end\":2,\"tag\":\"PRP\""
         ",\"pos\":\"PRON\",\"morph\":\"Case=Nom|Gender=Neut|Number=Sing|Person=3|PronType=Prs\",\"lemma\":\"it\",\"dep\""
         ":\"nsubj\",\"head\":2},{\"id\":1,\"start\":3,\"end\":5,\"tag\":\"VBZ\",\"pos\":\"AUX\",\"morph\":\"Mood=Ind|Nu"
         "mber=Sing|Person=3|Tense=Pres|VerbForm=Fin\",\"lemma\":\"S!\",\"dep\":\"cop\",\"head\":2},{\"id\":2,\"start\":"
         "6,\"end\":9,\"tag\":\"CDX\",\"pos\":\"NUM\",\"morph\":\"NumType=Card\",\"lemma\":\"S!\",\"dep\":\"ROOT\",\"hea"
         "d\":2},{\"id\":3,\"start\":10,\"end\":12,\"tag\":\"IN\",\"pos\":\"ADP\",\"morph\":\"\",\"lemma\":\"S!\",\"dep\""
         ":\"case\",\"head\":6},{\"id\":4,\"start\":13,\"end\":16,\"tag\":\"DT\",\"pos\":\"DET\",\"morph\":\"Definite=De"
         "f|PronType=Art\",\"lemma\":\"S!\",\"dep\":\"det\",\"head\":6},{\"id\":5,\"start\":17,\"end\":18,\"tag\":\"CDX\""
         ",\"pos\":\"NUM\",\"morph\":\"NumType=Card\",\"lemma\":\"D!\",\"dep\":\"nummod\",\"head\":6},{\"id\":6,\"start\""
         ":19,\"end\":23,\"tag\":\"JJS\",\"pos\":\"ADJ\",\"morph\":\"Degree=Sup\",\"lemma\":\"good\",\"dep\":\"nmod\",\""
         "head\":2},{\"id\":7,\"start\":23,\"end\":24,\"tag\":\":\",\"pos\":\"PUNCT\",\"morph\":\"\",\"lemma\":\"P!\",\""
         "dep\":\"punct\",\"head\":10},{\"id\":8,\"start\":25,\"end\":30,\"tag\":\"NNP\",\"pos\":\"PROPN\",\"morph\":\"N"
         "umber=Sing\",\"lemma\":\"Paris\",\"dep\":\"compound\",\"head\":10},{\"id\":9,\"start\":30,\"end\":31,\"tag\":\""
         "POS\",\"pos\":\"PART\",\"morph\":\"Side=R\",\"lemma\":\"Q!\",\"dep\":\"case\",\"head\":8},{\"id\":10,\"start\""
         ":32,\"end\":37,\"tag\":\"NN\",\"pos\":\"NOUN\",\"morph\":\"Number=Sing\",\"lemma\":\"caf\xc3\xa9s\",\"dep\":\""
         "parataxis\",\"head\":2},{\"id\":11,\"start\":38,\"end\":39,\"tag\":\"LB\",\"pos\":\"PUNCT\",\"morph\":\"PunctS"
         "ide=Ini|PunctType=Brck\",\"lemma\":\"[\",\"dep\":\"punct\",\"head\":12},{\"id\":12,\"start\":39,\"end\":42,\"t"
         "ag\":\"NN\",\"pos\":\"NOUN\",\"morph\":\"Number=Sing\",\"lemma\":\"sic\",\"dep\":\"appos\",\"head\":10},{\"id\""
         ":13,\"start\":42,\"end\":43,\"tag\":\"-RRB-\",\"pos\":\"PUNCT\",\"morph\":\"Side=R\",\"lemma\":\"]\",\"dep\":\""
         "punct\",\"head\":12},{\"id\":14,\"start\":44,\"end\":45,\"tag\":\"CC\",\"pos\":\"CCONJ\",\"morph\":\"ConjType="
         "Cmp\",\"lemma\":\"P!\",\"dep\":\"cc\",\"head\":18},{\"id\":15,\"start\":46,\"end\":49,\"tag\":\"NN\",\"pos\":\""
         "NOUN\",\"morph\":\"Number=Sing\",\"lemma\":\"4th\",\"dep\":\"compound\",\"head\":17},{\"id\":16,\"start\":49,\""
         "end\":50,\"tag\":\"HYPH\",\"pos\":\"PUNCT\",\"morph\":\"PunctType=Dash\",\"lemma\":\"P!\",\"dep\":\"punct\",\""
         "head\":15},{\"id\":17,\"start\":50,\"end\":54,\"tag\":\"NN\",\"pos\":\"NOUN\",\"morph\":\"Number=Sing\",\"lemm"
         "a\":\"rate\",\"dep\":\"compound\",\"head\":18},{\"id\":18,\"start\":55,\"end\":59,\"tag\":\"NNS\",\"pos\":\"NO"
         "UN\",\"morph\":\"Number=Plur\",\"lemma\":\"bar\",\"dep\":\"conj\",\"head\":10},{\"id\":19,\"start\":59,\"end\""
         ":60,\"tag\":\".\",\"pos\":\"PUNCT\",\"morph\":\"PunctType=Peri\",\"lemma\":\"P!\",\"dep\":\"punct\",\"head\":2"
         "}],\"noun_chunks\":[{\"start\":0,\"end\":2},{\"start\":38,\"end\":42}]}"}
    };
    docs_with_rules_are_spacys(extra, cases, sizeof cases / sizeof *cases);
}

/* A rule the doc pipeline cannot compute refuses the doc pipeline by the rule and the reason; the
 * ner and full pipelines are served as before. */
TEST(doc_ruler_refuses_what_it_cannot_compute)
{
    static const struct { const char *rule, *why; } cases[] = {
        {"[{\"patterns\": [[{\"ENT_TYPE\": \"GPE\"}]], \"attrs\": {\"TAG\": \"P\"}}]", "reads ENT_TYPE"},
        {"[{\"patterns\": [[{\"ORTH\": \"x\"}]], \"attrs\": {\"NORM\": \"y\"}}]", "sets NORM"},
        {"[{\"patterns\": [[{\"ORTH\": \"x\"}]], \"attrs\": {\"POS\": \"noun\"}}]", "no universal part of speech"},
        {"[{\"patterns\": [[{\"ORTH\": \"x\"}]], \"attrs\": {\"MORPH\": \"Case\"}}]", "not Field=Value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char dir[256], err[1024];
        ruler_copy(dir, sizeof dir, cases[i].rule);
        /* after the ner, so that a rule setting NORM does not refuse the folder itself */
        test_edit_config(dir, "[nlp]", "\"attribute_ruler\",\"lemmatizer\",\"ner\"", "\"ner\",\"attribute_ruler\",\"lemmatizer\"");
        nerd_model *m = nerd_model_load(dir, NULL, err, sizeof err);
        CHECKF(m, "%s", err);
        const char *why = nerd_model_pipeline_error(m, NERD_PIPELINE_DOC);
        CHECKF(why && strstr(why, cases[i].why) && strstr(why, "attribute_ruler/patterns: rule 179"), "%zu: %s", i,
               why ? why : "(null)");
        CHECK(nerd_model_has_pipeline(m, NERD_PIPELINE_FULL) && nerd_model_has_pipeline(m, NERD_PIPELINE_NER));
        nerd_model_free(m);
        remove_copy(dir);
    }
}

/* spaCy's Morphology.add strings (spaCy 3.8.7's answers for the same inputs). */
TEST(doc_morph_normalized_as_spacy)
{
    static const struct { const char *in, *spacy; } cases[] = {
        {"", "_"}, {"_", "_"}, {"Number=Sing", "Number=Sing"},
        {"PunctType=Brck|PunctSide=Ini", "PunctSide=Ini|PunctType=Brck"}, {"Case=Nom,Acc", "Case=Acc,Nom"},
        {"A=1|B=2|A=3", "A=3|B=2"}, {"FooBar=1|Foo=2", "Foo=2|FooBar=1"}, {"b=2|B=1|a=x,Z", "B=1|a=Z,x|b=2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        buf b = {0};
        CHECK(morph_normalize(cases[i].in, strlen(cases[i].in), &b) == 0);
        CHECKF(b.len == strlen(cases[i].spacy) && !memcmp(b.ptr, cases[i].spacy, b.len), "%s -> %.*s", cases[i].in,
               (int)b.len, b.ptr);
        buf_free(&b);
    }
    static const char *const bad[] = {"Case", "A=1|", "A=1=2", "|"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        buf b = {0};
        CHECKF(morph_normalize(bad[i], strlen(bad[i]), &b) == -1, "%s", bad[i]);
        buf_free(&b);
    }
}

/* numpy's argmax: the first of equal scores; the bias is added to the product. */
TEST(doc_softmax_argmax_first_maximum)
{
    static const float W[4 * 2] = {1, 0, 0, 1, 1, 0, 0, 0}, b[4] = {0, 0, 0, 0.5f};
    softmax_layer s;
    CHECK(softmax_init(&s, W, b, 4, 2) == 0);
    static const float X[3 * 2] = {1, 0, 0, 1, 0.25f, 0.25f};
    float scratch[12];
    int32_t out[3];
    CHECK(softmax_scratch_floats(&s, 3) <= 12);
    softmax_argmax(&s, X, 3, scratch, out);
    CHECKF(out[0] == 0 && out[1] == 1 && out[2] == 3, "%d %d %d", out[0], out[1], out[2]);
    softmax_free(&s);
}

/* One model, several threads running the doc pipeline: each answer is the one thread's (the
 * ruler's Matcher, the tagger and the lemmatizer only read the model). */
typedef struct {
    const nerd_model *m;
    const char *const *texts;
    size_t ntexts;
    char **answers;
    int ok;
} doc_thread_job;

static void *doc_thread(void *arg)
{
    doc_thread_job *j = arg;
    nerd_doc *d = nerd_doc_new();
    j->ok = d != NULL;
    for (int round = 0; round < 20 && j->ok; round++)
        for (size_t i = 0; i < j->ntexts && j->ok; i++) {
            buf b = {0};
            const char *t = j->texts[(i + (size_t)round) % j->ntexts];
            j->ok = nerd_ner(j->m, d, t, strlen(t), NERD_PIPELINE_DOC) == NERD_OK &&
                    !doc_write_json(d, t, strlen(t), DOC_JSON_NOUN_CHUNKS, &b) &&
                    !strcmp(b.ptr, j->answers[(i + (size_t)round) % j->ntexts]);
            buf_free(&b);
        }
    nerd_doc_free(d);
    return NULL;
}

TEST(doc_pipeline_threads_share_one_model)
{
    nerd_model *m = test_model();
    static const char *const texts[] = {"Paris is in France.", "New York City is big.\n\nIt got cold.",
                                        "Apple is looking at buying U.K. startup for $1 billion.", " ", ""};
    enum { NTEXTS = sizeof texts / sizeof *texts, NTHREADS = 4 };
    char *answers[NTEXTS];
    nerd_doc *d = nerd_doc_new();
    for (size_t i = 0; i < NTEXTS; i++) {
        buf b = {0};
        CHECK(nerd_ner(m, d, texts[i], strlen(texts[i]), NERD_PIPELINE_DOC) == NERD_OK);
        CHECK(!doc_write_json(d, texts[i], strlen(texts[i]), DOC_JSON_NOUN_CHUNKS, &b));
        answers[i] = b.ptr;
    }
    nerd_doc_free(d);
    doc_thread_job jobs[NTHREADS];
    pthread_t th[NTHREADS];
    for (int t = 0; t < NTHREADS; t++) {
        jobs[t] = (doc_thread_job){m, texts, NTEXTS, answers, 0};
        CHECK(pthread_create(&th[t], NULL, doc_thread, &jobs[t]) == 0);
    }
    for (int t = 0; t < NTHREADS; t++) {
        CHECK(pthread_join(th[t], NULL) == 0);
        CHECKF(jobs[t].ok, "thread %d's answers differ from one thread's", t);
    }
    for (size_t i = 0; i < NTEXTS; i++) free(answers[i]);
    nerd_model_free(m);
}

/* A doc-only file that is corrupt or missing refuses the doc pipeline naming the file; the ner and
 * full pipelines, which never read it, are served. */
TEST(doc_pipeline_corrupt_files_refuse_it_alone)
{
    /* (attribute_ruler/patterns is not among them: the full pipeline reads its DEP rules) */
    static const char *const files[] = {"tagger/model", "tagger/cfg", "lemmatizer/lookups/lookups.bin"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        for (int missing = 0; missing < 2; missing++) {
            char dir[256], path[512], err[1024];
            link_copy(dir, sizeof dir);
            snprintf(path, sizeof path, "%s/%s", dir, files[i]);
            CHECK(unlink(path) == 0);
            if (!missing) {
                FILE *f = fopen(path, "wb");
                CHECK(f && fwrite("\x93\x01", 1, 2, f) == 2);
                fclose(f);
            }
            nerd_model *m = nerd_model_load(dir, NULL, err, sizeof err);
            CHECKF(m, "%s: %s", files[i], err);
            const char *why = nerd_model_pipeline_error(m, NERD_PIPELINE_DOC);
            CHECKF(why && strstr(why, files[i]), "%s (%s): %s", files[i], missing ? "missing" : "corrupt",
                   why ? why : "(null)");
            CHECK(nerd_model_has_pipeline(m, NERD_PIPELINE_FULL) && nerd_model_has_pipeline(m, NERD_PIPELINE_NER));
            nerd_doc *d = nerd_doc_new();
            CHECK(nerd_ner(m, d, "Paris", 5, NERD_PIPELINE_FULL) == NERD_OK && nerd_doc_nents(d) == 1);
            CHECK(nerd_ner(m, d, "Paris", 5, NERD_PIPELINE_DOC) == NERD_ERR_UNSUPPORTED);
            nerd_doc_free(d);
            nerd_model_free(m);
            remove_copy(dir);
        }
}

/* nerd eval --pipeline doc checks the parse as --pipeline full does (the doc pipeline's parse is
 * full's), against the golden answers. */
TEST(doc_pipeline_eval_checks_the_parse)
{
    char cmd[1024], out[4096];
    snprintf(cmd, sizeof cmd, "%s eval --model %s --pipeline doc --all-fields --min-identical 1.0 --golden %s 2>&1",
             test_nerd_bin(), test_standin(), test_path("golden/edge.jsonl"));
    CHECKF(test_run_output(cmd, out, sizeof out) == 0, "%s", out);
    CHECKF(strstr(out, "heads+deps") && strstr(out, "identical: 47/47"), "%s", out);
}

/* The stand-in with its (disabled) senter enabled instead of the parser: the senter's sentence
 * starts are the doc's in the full pipeline, and the ner respects them. Expected: spaCy 3.8.7 on
 * the same edited folder. */
TEST(senter_without_parser_sets_sentence_starts)
{
    char dir[256];
    link_copy(dir, sizeof dir);
    test_edit_config(dir, "[nlp]", "\"tagger\",\"parser\",\"senter\"", "\"tagger\",\"senter\"");
    test_edit_config(dir, "[nlp]", "disabled = [\"senter\"]", "disabled = []");
    char err[1024];
    nerd_model *m = nerd_model_load(dir, NULL, err, sizeof err);
    CHECKF(m, "%s", err);
    CHECKF(nerd_model_has_pipeline(m, NERD_PIPELINE_FULL), "%s", nerd_model_pipeline_error(m, NERD_PIPELINE_FULL));
    CHECK(nerd_model_default_pipeline(m) == NERD_PIPELINE_FULL);
    /* the served weights are the senter's too (there is no parser's) */
    CHECKF(!strcmp(nerd_model_weights_files(m), "ner/model senter/model"), "%s", nerd_model_weights_files(m));
    static const struct { const char *text; size_t starts[4], nstarts, nents; } cases[] = {
        {"Paris is nice. Berlin is big. I like it a lot in New York City.", {0, 4, 8}, 3, 3},
        {"Apple is looking at buying U.K. startup for $1 billion. Angela Merkel visited Berlin on Monday.", {0, 12}, 2, 6},
    };
    nerd_doc *d = nerd_doc_new();
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        CHECK(nerd_ner(m, d, cases[c].text, strlen(cases[c].text), NERD_PIPELINE_FULL) == NERD_OK);
        CHECK(nerd_doc_annotations(d) & NERD_ANNOT_SENT_START);
        CHECK(!(nerd_doc_annotations(d) & NERD_ANNOT_DEP));
        size_t k = 0;
        for (size_t i = 0; i < nerd_doc_ntokens(d); i++) {
            if (nerd_doc_sent_start(d, i) != 1) continue;
            CHECKF(k < cases[c].nstarts && cases[c].starts[k] == i, "doc %zu: a sentence starts at %zu", c, i);
            k++;
        }
        CHECK_EQ_INT(k, cases[c].nstarts);
        /* spaCy's entities, none across a sentence start */
        CHECK_EQ_INT(nerd_doc_nents(d), cases[c].nents);
        for (size_t e = 0; e < nerd_doc_nents(d); e++) {
            nerd_ent ent;
            CHECK(nerd_doc_ent(d, e, &ent) == 0);
            for (size_t i = ent.start + 1; i < ent.end; i++) CHECKF(nerd_doc_sent_start(d, i) != 1, "entity %zu", e);
        }
        /* the ner pipeline computes no sentence starts */
        CHECK(nerd_ner(m, d, cases[c].text, strlen(cases[c].text), NERD_PIPELINE_NER) == NERD_OK);
        CHECK(nerd_doc_sent_start(d, 0) == -1);
    }
    nerd_doc_free(d);
    nerd_model_free(m);
    remove_copy(dir);
}

/* A senter without a parser that nerd cannot compute refuses the pipelines whose sentence starts
 * it sets, by config.cfg's section and the architecture; the ner alone still runs. */
TEST(senter_unsupported_refuses_full_by_name)
{
    char dir[256];
    link_copy(dir, sizeof dir);
    test_edit_config(dir, "[nlp]", "\"tagger\",\"parser\",\"senter\"", "\"tagger\",\"senter\"");
    test_edit_config(dir, "[nlp]", "disabled = [\"senter\"]", "disabled = []");
    test_edit_config(dir, "[components.senter.model]", "spacy.Tagger.v2", "spacy.Tagger.v9");
    char err[1024];
    nerd_model *m = nerd_model_load(dir, NULL, err, sizeof err);
    CHECKF(m, "%s", err);
    for (nerd_pipeline p = NERD_PIPELINE_FULL; p <= NERD_PIPELINE_DOC; p++) {
        const char *why = nerd_model_pipeline_error(m, p);
        CHECKF(why && strstr(why, "config.cfg [components.senter.model]") && strstr(why, "spacy.Tagger.v9"), "%s",
               why ? why : "(null)");
    }
    nerd_doc *d = nerd_doc_new();
    CHECK(nerd_ner(m, d, "Paris", 5, NERD_PIPELINE_FULL) == NERD_ERR_UNSUPPORTED);
    CHECK(nerd_ner(m, d, "Paris", 5, NERD_PIPELINE_NER) == NERD_OK && nerd_doc_nents(d) == 1);
    nerd_doc_free(d);
    nerd_model_free(m);
    remove_copy(dir);
}

/* fr_core_news_sm loaded from a link copy in dir without its French rule lemmatizer, which nerd
 * does not compute (the doc pipeline is refused with it): it sets only lemmas. */
static nerd_model *fr_sm_without_lemmatizer(char *dir, size_t len)
{
    static const char fr[] = "models/fr_core_news_sm-3.8.0";
    CHECKF(access(fr, R_OK) == 0, "%s is missing: `make models-extra` fetches it", fr);
    link_copy_of(fr, dir, len);
    test_edit_config(dir, "[nlp]", "\"attribute_ruler\",\"lemmatizer\"", "\"attribute_ruler\"");
    char err[1024];
    nerd_model *m = nerd_model_load(dir, NULL, err, sizeof err);
    CHECKF(m, "%s", err);
    return m;
}

/* fr_core_news_sm's morphologizer through the doc pipeline: spaCy 3.8.7's pos_ and str(morph) for
 * one sentence (make test-morph compares 700 documents). */
TEST(morphologizer_fr_core_news_sm)
{
    char dir[256];
    nerd_model *m = fr_sm_without_lemmatizer(dir, sizeof dir);
    static const char text[] = "Le pr\xc3\xa9sident est arriv\xc3\xa9 \xc3\xa0 Paris hier soir.";
    static const char *const want[][2] = {
        {"DET", "Definite=Def|Gender=Masc|Number=Sing|PronType=Art"}, {"NOUN", "Gender=Masc|Number=Sing"},
        {"AUX", "Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin"},
        {"VERB", "Gender=Masc|Number=Sing|Tense=Past|VerbForm=Part"}, {"ADP", ""}, {"PROPN", "Gender=Masc|Number=Sing"},
        {"ADV", ""}, {"NOUN", "Gender=Masc|Number=Sing"}, {"PUNCT", ""},
    };
    nerd_doc *d = nerd_doc_new();
    CHECK(nerd_ner(m, d, text, sizeof text - 1, NERD_PIPELINE_DOC) == NERD_OK);
    CHECK_EQ_INT(nerd_doc_ntokens(d), sizeof want / sizeof *want);
    CHECK((nerd_doc_annotations(d) & (NERD_ANNOT_POS | NERD_ANNOT_MORPH)) == (NERD_ANNOT_POS | NERD_ANNOT_MORPH));
    for (size_t i = 0; i < nerd_doc_ntokens(d); i++) {
        nerd_token_annot a;
        CHECK(nerd_doc_token_annot(d, i, &a) == 0);
        CHECKF(a.pos.len == strlen(want[i][0]) && !memcmp(a.pos.ptr, want[i][0], a.pos.len), "token %zu pos %.*s", i,
               (int)a.pos.len, a.pos.ptr);
        CHECKF(a.morph.len == strlen(want[i][1]) && !memcmp(a.morph.ptr, want[i][1], a.morph.len),
               "token %zu morph %.*s", i, (int)a.morph.len, a.morph.ptr);
    }
    /* the full pipeline sets none of them */
    CHECK(nerd_ner(m, d, text, sizeof text - 1, NERD_PIPELINE_FULL) == NERD_OK);
    CHECK(!(nerd_doc_annotations(d) & (NERD_ANNOT_POS | NERD_ANNOT_MORPH)));
    nerd_doc_free(d);
    nerd_model_free(m);
    remove_copy(dir);
}

/* The word cache's lookups for one document of pipeline p: one per token for each tok2vec pass. */
static uint64_t cache_lookups(const nerd_model *m, nerd_doc *d, const char *text, size_t len, nerd_pipeline p)
{
    nerd_cache_stats before, after;
    nerd_model_cache_stats(m, &before);
    CHECK(nerd_ner(m, d, text, len, p) == NERD_OK);
    nerd_model_cache_stats(m, &after);
    return after.hits + after.misses - before.hits - before.misses;
}

/* The Paris text `copies` times over, malloc'd. */
static char *paris_times(size_t copies, size_t *len)
{
    size_t one;
    char *paris = test_read_file(test_path("corpus/paris.txt"), &one);
    CHECK(paris);
    char *text = malloc(copies * (one + 1) + 1);
    CHECK(text);
    for (size_t i = 0; i < copies; i++) {
        memcpy(text + i * (one + 1), paris, one);
        text[i * (one + 1) + one] = ' ';
    }
    *len = copies * (one + 1);
    free(paris);
    return text;
}

/* spaCy runs a shared tok2vec once per document and its listeners read the result; so does nerd.
 * The stand-in with its ner made a listener of the shared tok2vec: a full parse (parser and ner
 * both listening) passes each token through the tok2vec once (one word-cache lookup each, where
 * each listener's own pass made two), and the rows every listener read, computed in chunks with
 * the cache, are a whole-document pass's bit for bit; the entities and the parse are those
 * without the cache. */
TEST_T(listeners_read_one_tok2vec_pass, 120)
{
    char dir[256], err[1024];
    link_copy(dir, sizeof dir);
    test_edit_config(dir, "[components.ner.model.tok2vec]", "\"spacy.Tok2Vec.v2\"",
                     "\"spacy.Tok2VecListener.v1\"\nwidth = 96\nupstream = \"*\"");
    nerd_model *m = nerd_model_load(dir, NULL, err, sizeof err);
    CHECKF(m, "%s", err);
    CHECK(m->ner_listens && nerd_model_set_cache(m, 4096) == NERD_OK);
    size_t len;
    char *text = paris_times(13, &len); /* more tokens than one chunk of the shared tok2vec's rows */
    nerd_doc *d = nerd_doc_new(), *fresh = nerd_doc_new();
    /* one pass: a lookup per token, and per chunk boundary the encoder's context rows again */
    const uint64_t ner = cache_lookups(m, d, text, len, NERD_PIPELINE_NER);
    const size_t n = nerd_doc_ntokens(d);
    CHECKF(n > 2048 && ner >= n && ner < n + 64, "ner pipeline: %llu lookups for %zu tokens", (unsigned long long)ner, n);
    /* there the ner is the rows' only reader: it streams them chunk by chunk rather than holding
     * the document's, and reading the held rows gives the same entities */
    CHECK(!d->has_t2v_rows);
    char *streamed = test_annotations(d);
    const float *rows;
    CHECK(tok2vec_shared_rows(m, d, 0, &rows) == NERD_OK && d->has_t2v_rows);
    CHECK(engine_ner(m, d, NULL, NULL, 0) == NERD_OK);
    char *from_rows = test_annotations(d);
    CHECK(nerd_doc_nents(d) > 0 && !strcmp(streamed, from_rows));
    free(streamed); free(from_rows);
    const uint64_t full = cache_lookups(m, d, text, len, NERD_PIPELINE_FULL);
    CHECKF(full == ner, "full pipeline: %llu lookups for %zu tokens", (unsigned long long)full, n);
    CHECK(cache_lookups(m, d, "Paris is nice.", 14, NERD_PIPELINE_FULL) == 4 && nerd_doc_ntokens(d) == 4);
    CHECK(cache_lookups(m, d, text, len, NERD_PIPELINE_FULL) == ner);
    float *whole = test_t2v_out(&m->t2v, &m->full_t2v_packed, KN_FP32, NULL, d->t2v_attrs, n, NULL);
    CHECK(d->has_t2v_rows && !memcmp(whole, d->t2v_rows, n * m->t2v.width * sizeof(float)));
    char *with_cache = test_annotations(d);
    CHECK(nerd_model_set_cache(m, 0) == NERD_OK);
    CHECK(nerd_ner(m, fresh, text, len, NERD_PIPELINE_FULL) == NERD_OK);
    char *without = test_annotations(fresh);
    CHECK(nerd_doc_nents(d) > 0 && !strcmp(with_cache, without));
    free(whole); free(with_cache); free(without); free(text);
    nerd_doc_free(d);
    nerd_doc_free(fresh);
    nerd_model_free(m);
    remove_copy(dir);
}

/* fr_core_news_sm's doc pipeline: the morphologizer reads the parser's pass of the shared tok2vec
 * (its ner has its own): two word-cache lookups per token, not three. */
TEST(doc_pipeline_heads_read_the_parsers_tok2vec_pass)
{
    char dir[256];
    nerd_model *m = fr_sm_without_lemmatizer(dir, sizeof dir);
    CHECK(!m->ner_listens && m->nheads == 1 && m->heads[0].h.listens && nerd_model_set_cache(m, 4096) == NERD_OK);
    static const char text[] = "Le pr\xc3\xa9sident est arriv\xc3\xa9 \xc3\xa0 Paris hier soir. Il repart demain.";
    nerd_doc *d = nerd_doc_new();
    const uint64_t lookups = cache_lookups(m, d, text, sizeof text - 1, NERD_PIPELINE_DOC);
    const size_t n = nerd_doc_ntokens(d);
    CHECKF(n > 10 && lookups == 2 * n, "%llu lookups for %zu tokens", (unsigned long long)lookups, n);
    CHECK(nerd_doc_annotations(d) & NERD_ANNOT_MORPH);
    nerd_doc_free(d);
    nerd_model_free(m);
    remove_copy(dir);
}
