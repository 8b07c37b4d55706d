/* Unit tests of src/matcher: each operator, predicate and error on its own. The expected
 * matches are spaCy 3.8.7's answers for the same patterns: on the same texts (spacy.blank("en"),
 * whose tokens are the space-separated words here), and for the predicates on a Doc built with
 * the attributes of attrs_doc; `make test-matcher`
 * compares against spaCy at scale. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "matcher/matcher.h"
#include "test.h"

enum { MAX_TOKS = 32 };

/* Tokens from space-separated words WORD or WORD/POS, with the lexical flags a test needs
 * (ASCII only); the first token and each one after "." start a sentence. */
typedef struct {
    matcher_token t[MAX_TOKS];
    char lower[MAX_TOKS][32];
    char words[512];
    size_t n;
} doc;

/* Python's istitle for one ASCII word: an upper-case letter first, no upper-case letter after */
static int is_title(const char *w)
{
    if (!isupper((unsigned char)w[0])) return 0;
    for (const char *c = w + 1; *c; c++)
        if (isupper((unsigned char)*c)) return 0;
    return 1;
}

static void make_doc(doc *d, const char *text)
{
    memset(d, 0, sizeof *d);
    snprintf(d->words, sizeof d->words, "%s", text);
    for (char *w = strtok(d->words, " "); w && d->n < MAX_TOKS; w = strtok(NULL, " ")) {
        matcher_token *t = &d->t[d->n];
        char *slash = strchr(w, '/');
        if (slash) {
            *slash = 0;
            t->str[MATCHER_POS] = (matcher_text){slash + 1, strlen(slash + 1)};
        } else {
            t->str[MATCHER_POS] = (matcher_text){"", 0};
        }
        size_t len = strlen(w);
        int alpha = 1, digit = 1, punct = 1, upper = 0, lower = 0;
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)w[i];
            alpha &= isalpha(c) != 0;
            digit &= isdigit(c) != 0;
            punct &= ispunct(c) != 0;
            upper |= isupper(c) != 0;
            lower |= islower(c) != 0;
            d->lower[d->n][i] = (char)tolower(c);
        }
        t->str[MATCHER_ORTH] = (matcher_text){w, len};
        t->str[MATCHER_LOWER] = (matcher_text){d->lower[d->n], len};
        for (int a = MATCHER_NORM; a < MATCHER_NSTR; a++)
            if (a != MATCHER_POS) t->str[a] = (matcher_text){"", 0};
        t->length = (long)len;
        t->flags = (alpha ? MATCHER_IS_ALPHA : 0) | (digit ? MATCHER_IS_DIGIT : 0) | (punct ? MATCHER_IS_PUNCT : 0) |
                   (upper && !lower ? MATCHER_IS_UPPER : 0) | (lower && !upper ? MATCHER_IS_LOWER : 0) |
                   (is_title(w) ? MATCHER_IS_TITLE : 0) | MATCHER_SPACY;
        t->sent_start = d->n == 0 || (d->n > 0 && !strcmp(d->t[d->n - 1].str[MATCHER_ORTH].s, ".")) ? 1 : -1;
        d->n++;
    }
}

/* "KEY:start-end ..." of a run (with_keys) or "start-end ..." */
static const char *show(const matcher_matches *ms, const char *(*name)(const void *, unsigned), const void *owner)
{
    static char out[1024];
    size_t at = 0;
    out[0] = 0;
    for (size_t i = 0; i < ms->n && at < sizeof out; i++)
        at += (size_t)snprintf(out + at, sizeof out - at, "%s%s%s%d-%d", i ? " " : "", name ? name(owner, ms->items[i].key) : "",
                               name ? ":" : "", ms->items[i].start, ms->items[i].end);
    return out;
}

static const char *token_key(const void *m, unsigned k) { return matcher_key_name(m, k); }
static const char *phrase_key(const void *m, unsigned k) { return phrase_matcher_key_name(m, k); }

/* The matches of one key's patterns over the tokens of d, without keys. */
static const char *run_on(const char *patterns, const doc *d)
{
    char err[256];
    matcher *m = matcher_new();
    CHECK(m);
    CHECKF(matcher_add_json(m, "K", patterns, strlen(patterns), MATCHER_GREEDY_NONE, err, sizeof err) == 0, "%s", err);
    matcher_matches ms = {0};
    CHECK(matcher_run(m, d->t, d->n, &ms) == 0);
    const char *s = show(&ms, NULL, NULL);
    matcher_matches_free(&ms);
    matcher_free(m);
    return s;
}

static const char *run(const char *patterns, const char *text)
{
    static doc d;
    make_doc(&d, text);
    return run_on(patterns, &d);
}

TEST(matcher_operators_as_spacy)
{
    static const struct { const char *patterns, *text, *want; } cases[] = {
        {"[[{\"ORTH\":\"a\"},{\"ORTH\":\"b\",\"OP\":\"?\"},{\"ORTH\":\"c\"}]]", "a c a b c a b b c", "0-2 2-5"},
        {"[[{\"ORTH\":\"a\"},{\"ORTH\":\"b\",\"OP\":\"*\"}]]", "a b b c a", "0-1 0-2 0-3 4-5"},
        {"[[{\"ORTH\":\"b\",\"OP\":\"+\"}]]", "a b b b c b", "1-2 1-3 2-3 1-4 2-4 3-4 5-6"},
        {"[[{\"ORTH\":\"a\"},{\"ORTH\":\"b\",\"OP\":\"!\"}]]", "a b a c a", "2-4"},
        {"[[{\"ORTH\":\"b\",\"OP\":\"!\"},{\"ORTH\":\"c\"}]]", "c b c a c", "3-5"},
        {"[[{\"ORTH\":\"b\",\"OP\":\"{2}\"}]]", "b b b a b", "0-2 1-3"},
        {"[[{\"ORTH\":\"b\",\"OP\":\"{1,2}\"}]]", "b b b a b", "0-1 0-2 1-2 1-3 2-3 4-5"},
        {"[[{\"ORTH\":\"b\",\"OP\":\"{2,}\"}]]", "b b b a b", "0-2 0-3 1-3"},
        {"[[{\"ORTH\":\"a\"},{\"ORTH\":\"b\",\"OP\":\"{,2}\"}]]", "a b b b a", "0-1 0-2 0-3 4-5"},
        /* patterns that can match nothing: empty matches are dropped */
        {"[[{\"ORTH\":\"x\",\"OP\":\"?\"}],[{\"ORTH\":\"b\",\"OP\":\"*\"},{\"ORTH\":\"c\",\"OP\":\"?\"}]]", "a b c b", "1-2 1-3 2-3 3-4"},
        /* nested quantifiers reach one span by several paths: it counts once */
        {"[[{\"ORTH\":\"b\",\"OP\":\"*\"},{\"ORTH\":\"b\",\"OP\":\"+\"}]]", "b b b", "0-1 0-2 1-2 0-3 1-3 2-3"},
        {"[[{\"ORTH\":\"a\"},{\"ORTH\":\"b\",\"OP\":\"?\"}]]", "a b a", "0-1 0-2 2-3"},
        /* {0} stands for nothing; {} is any token */
        {"[[{\"ORTH\":\"a\"},{\"ORTH\":\"q\",\"OP\":\"{0}\"},{}]]", "a b a", "0-2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = run(cases[i].patterns, cases[i].text);
        CHECKF(!strcmp(got, cases[i].want), "%s on \"%s\": got \"%s\", spaCy \"%s\"", cases[i].patterns, cases[i].text,
               got, cases[i].want);
    }
}

static const char *run_keys(matcher *m, const char *text)
{
    static doc d;
    make_doc(&d, text);
    matcher_matches ms = {0};
    CHECK(matcher_run(m, d.t, d.n, &ms) == 0);
    const char *s = show(&ms, token_key, m);
    matcher_matches_free(&ms);
    return s;
}

static void add(matcher *m, const char *key, const char *patterns, matcher_greedy g)
{
    char err[256];
    CHECKF(matcher_add_json(m, key, patterns, strlen(patterns), g, err, sizeof err) == 0, "%s", err);
}

TEST(matcher_greedy_first_and_longest_as_spacy)
{
    matcher *m = matcher_new();
    add(m, "ALL", "[[{\"ORTH\":\"b\",\"OP\":\"+\"}]]", MATCHER_GREEDY_NONE);
    add(m, "FIRST", "[[{\"ORTH\":\"b\",\"OP\":\"+\"}]]", MATCHER_GREEDY_FIRST);
    add(m, "LONGEST", "[[{\"ORTH\":\"b\",\"OP\":\"+\"}]]", MATCHER_GREEDY_LONGEST);
    CHECK_EQ_STR(run_keys(m, "b b a b b b"),
                 "ALL:0-1 ALL:0-2 ALL:1-2 ALL:3-4 ALL:3-5 ALL:4-5 ALL:3-6 ALL:4-6 ALL:5-6 "
                 "FIRST:0-2 FIRST:3-6 LONGEST:3-6 LONGEST:0-2");
    matcher_free(m);

    /* greedy keys come after the others, in the order their first match was found */
    m = matcher_new();
    add(m, "L", "[[{\"ORTH\":\"x\"},{\"ORTH\":\"y\",\"OP\":\"?\"},{\"ORTH\":\"y\",\"OP\":\"?\"}]]", MATCHER_GREEDY_LONGEST);
    add(m, "F", "[[{\"ORTH\":\"y\",\"OP\":\"+\"}]]", MATCHER_GREEDY_FIRST);
    add(m, "N", "[[{\"ORTH\":\"y\"}]]", MATCHER_GREEDY_NONE);
    CHECK_EQ_STR(run_keys(m, "y x y y y"), "N:0-1 N:2-3 N:3-4 N:4-5 F:0-1 F:2-5 L:1-4");
    /* adding to a key appends patterns and replaces its filter */
    add(m, "L", "[[{\"ORTH\":\"x\"}]]", MATCHER_GREEDY_NONE);
    CHECK_EQ_STR(run_keys(m, "y x y"), "N:0-1 L:1-2 L:1-3 N:2-3 F:0-1 F:2-3");
    matcher_free(m);
}

/* Tokens with every attribute set, for the predicates. */
static void attrs_doc(doc *d)
{
    make_doc(d, "The/DET cats/NOUN were/AUX sleeping/VERB in/ADP Paris/PROPN ./PUNCT It/PRON rained/VERB");
    static const char *const lemma[] = {"the", "cat", "be", "sleep", "in", "Paris", ".", "it", "rain"};
    static const char *const morph[] = {"Definite=Def|PronType=Art", "Number=Plur", "Mood=Ind|Tense=Past|VerbForm=Fin",
                                        "Aspect=Prog|Tense=Pres|VerbForm=Part", "_", "Number=Sing", "PunctType=Peri",
                                        "Case=Nom|Gender=Neut|Number=Sing|Person=3|PronType=Prs", "Tense=Past|VerbForm=Fin"};
    static const char *const ent_type[] = {"", "", "", "", "", "GPE", "", "", ""};
    static const int ent_iob[] = {2, 2, 2, 2, 2, 3, 2, 2, 2};
    for (size_t i = 0; i < d->n; i++) {
        d->t[i].str[MATCHER_LEMMA] = (matcher_text){lemma[i], strlen(lemma[i])};
        d->t[i].str[MATCHER_MORPH] = (matcher_text){morph[i], strlen(morph[i])};
        d->t[i].str[MATCHER_ENT_TYPE] = (matcher_text){ent_type[i], strlen(ent_type[i])};
        d->t[i].ent_iob = ent_iob[i];
    }
}

TEST(matcher_predicates)
{
    static doc d;
    attrs_doc(&d);
    static const struct { const char *pattern, *want; } cases[] = {
        {"{\"TEXT\":{\"REGEX\":\"^[A-Z]\"}}", "0-1 5-6 7-8"},
        {"{\"LOWER\":{\"REGEX\":\"ing$\"}}", "3-4"},
        {"{\"LOWER\":{\"REGEX\":{\"IN\":[\"^ca\",\"^ra\"]}}}", "1-2 8-9"},
        {"{\"LOWER\":{\"REGEX\":{\"NOT_IN\":[\"[aeiou]\"]}}}", "6-7"},
        {"{\"LEMMA\":{\"IN\":[\"be\",\"rain\"]}}", "2-3 8-9"},
        {"{\"POS\":{\"NOT_IN\":[\"VERB\",\"AUX\",\"NOUN\",\"PUNCT\"]}}", "0-1 4-5 5-6 7-8"},
        {"{\"POS\":{\"IS_SUBSET\":[\"VERB\",\"AUX\"]}}", "2-3 3-4 8-9"},
        {"{\"LOWER\":{\"IS_SUPERSET\":[\"in\"]}}", "4-5"},
        {"{\"MORPH\":{\"INTERSECTS\":[\"Tense=Past\",\"Number=Plur\"]}}", "1-2 2-3 8-9"},
        {"{\"MORPH\":{\"IS_SUPERSET\":[\"Number=Sing\",\"Person=3\"]}}", "7-8"},
        /* a token without features has the empty set of them: a subset of anything */
        {"{\"MORPH\":{\"IS_SUBSET\":[\"Number=Sing\",\"Number=Plur\"]}}", "1-2 4-5 5-6"},
        /* IN compares with spaCy's normalized form: fields sorted */
        {"{\"MORPH\":{\"IN\":[\"VerbForm=Fin|Tense=Past\"]}}", "8-9"},
        {"{\"MORPH\":\"_\"}", "4-5"},
        {"{\"MORPH\":{\"IN\":[\"\"]}}", "4-5"},
        {"{\"LENGTH\":{\">=\":5}}", "3-4 5-6 8-9"},
        {"{\"LENGTH\":{\"<\":3,\"!=\":1}}", "4-5 7-8"},
        {"{\"LENGTH\":{\"==\":4,\"<=\":4}}", "1-2 2-3"},
        {"{\"LENGTH\":{\">\":5.5}}", "3-4 8-9"},
        {"{\"LENGTH\":{\"IN\":[1,2]}}", "4-5 6-7 7-8"},
        {"{\"LENGTH\":3}", "0-1"},
        {"{\"IS_SENT_START\":true}", "0-1 7-8"},
        {"{\"IS_SENT_START\":false,\"IS_TITLE\":true}", "5-6"},
        {"{\"IS_PUNCT\":true}", "6-7"},
        {"{\"ENT_TYPE\":\"GPE\"}", "5-6"},
        {"{\"ENT_IOB\":\"B\"}", "5-6"},
        {"{\"ent_iob\":3}", "5-6"},
        {"{\"text\":{\"in\":[\"Paris\"]}}", "5-6"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char patterns[512];
        snprintf(patterns, sizeof patterns, "[[%s]]", cases[i].pattern);
        const char *got = run_on(patterns, &d);
        CHECKF(!strcmp(got, cases[i].want), "%s: got \"%s\", want \"%s\"", cases[i].pattern, got, cases[i].want);
    }
}

TEST(matcher_reports_the_string_attributes_its_patterns_read)
{
    matcher *m = matcher_new();
    CHECK_EQ_INT(matcher_str_attrs_used(m), 0);
    add(m, "A", "[[{\"TEXT\":\"a\",\"LENGTH\":1,\"IS_ALPHA\":true},{\"POS\":{\"IN\":[\"X\"]}}],[{\"MORPH\":{\"REGEX\":\"x\"}}]]",
        MATCHER_GREEDY_NONE);
    CHECK_EQ_INT(matcher_str_attrs_used(m), (1u << MATCHER_ORTH) | (1u << MATCHER_POS) | (1u << MATCHER_MORPH));
    matcher_free(m);
}

TEST(matcher_pattern_errors_name_the_pattern_and_the_key)
{
    static const struct { const char *patterns, *message; } cases[] = {
        {"[[{\"ORTH\":\"a\"}],[{\"ORHT\":\"a\"}]]", "pattern 1 of \"K\", token 0: unknown attribute \"ORHT\""},
        {"[[{\"ORTH\":\"a\"},{\"ORTH\":\"b\",\"OP\":\"++\"}]]", "pattern 0 of \"K\", token 1: bad operator \"++\""},
        {"[[{\"ORTH\":\"b\",\"OP\":\"{3,2}\"}]]", "bad operator \"{3,2}\""},
        {"[[{\"ORTH\":\"b\",\"OP\":\"{,}\"}]]", "bad operator \"{,}\""},
        {"[[{\"ORTH\":\"b\",\"OP\":1}]]", "bad operator a number"},
        {"[[{\"LOWER\":{\"REGX\":\"a\"}}]]", "LOWER: unknown predicate \"REGX\""},
        {"[[{\"LOWER\":{\"FUZZY\":\"a\"}}]]", "FUZZY predicates are not supported"},
        {"[[{\"LOWER\":{\">=\":3}}]]", "LOWER: >= compares numbers (LENGTH) only"},
        {"[[{\"LOWER\":{\"REGEX\":\"(\"}}]]", "LOWER: bad REGEX \"(\""},
        {"[[{\"LOWER\":{\"IN\":\"a\"}}]]", "LOWER: IN takes a list, not a string"},
        {"[[{\"LOWER\":{\"IN\":[\"a\",3]}}]]", "item 1 is a number"},
        {"[[{\"LENGTH\":{\"IN\":[\"a\"]}}]]", "LENGTH: IN takes a list of integers"},
        {"[[{\"LENGTH\":\"3\"}]]", "LENGTH takes an integer"},
        {"[[{\"IS_ALPHA\":1}]]", "IS_ALPHA takes true or false, not a number"},
        {"[[{\"IS_ALPHA\":{\"IN\":[true]}}]]", "IS_ALPHA takes a plain value"},
        {"[[{\"ORTH\":null}]]", "ORTH: null is not allowed"},
        {"[[{\"ORTH\":3}]]", "ORTH takes a string or a dict of predicates, not a number"},
        {"[[{\"ENT_IOB\":\"X\"}]]", "ENT_IOB takes"},
        {"[[{\"MORPH\":{\"IN\":[\"Number\"]}}]]", "MORPH: IN value \"Number\" is not FIELD=VALUE"},
        {"[[{\"_\":{\"x\":1}}]]", "custom extension attributes"},
        {"[[]]", "pattern 0 of \"K\" is empty"},
        {"[[{\"ORTH\":\"a\",\"OP\":\"{0}\"}]]", "matches nothing"},
        {"[{\"ORTH\":\"a\"}]", "pattern 0 of \"K\" is a list of token dicts, not a dict"},
        {"[[\"a\"]]", "token 0: a token is a dict, not a string"},
        {"{\"ORTH\":\"a\"}", "the patterns of \"K\" are a list of patterns, not a dict"},
        {"[[{\"ORTH\":\"a\"}]", "the patterns of \"K\" are not JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        matcher *m = matcher_new();
        char err[256] = "";
        add(m, "OK", "[[{\"ORTH\":\"a\"}]]", MATCHER_GREEDY_NONE);
        int rc = matcher_add_json(m, "K", cases[i].patterns, strlen(cases[i].patterns), MATCHER_GREEDY_NONE, err, sizeof err);
        CHECKF(rc == -1, "%s was accepted", cases[i].patterns);
        CHECKF(strstr(err, cases[i].message), "%s: message \"%s\" lacks \"%s\"", cases[i].patterns, err, cases[i].message);
        /* a failed add leaves the matcher as it was */
        CHECK_EQ_INT(matcher_key_count(m), 1);
        CHECK_EQ_STR(run_keys(m, "a b a"), "OK:0-1 OK:2-3");
        matcher_free(m);
    }
}

TEST(phrase_matcher_as_spacy)
{
    phrase_matcher *pm = phrase_matcher_new(MATCHER_ORTH);
    CHECK(pm);
    CHECK(phrase_matcher_new(MATCHER_LEMMA) == NULL);
    static const matcher_text new_york[] = {{"New", 3}, {"York", 4}}, nyc[] = {{"New", 3}, {"York", 4}, {"City", 4}},
                              york[] = {{"York", 4}};
    /* several keys on one phrase come out in the order of spaCy's hash table of keys
     * (PERSON and GPE are reserved symbols, keyed by their small IDs) */
    static const char *const keys[] = {"ZETA", "ALPHA", "PERSON", "K3", "GPE"};
    for (size_t i = 0; i < 5; i++) CHECK(phrase_matcher_add(pm, keys[i], new_york, 2) == 0);
    CHECK(phrase_matcher_add(pm, "CITY", nyc, 3) == 0);
    CHECK(phrase_matcher_add(pm, "CITY", york, 1) == 0);
    CHECK(phrase_matcher_add(pm, "EMPTY", york, 0) == 0);
    doc d;
    make_doc(&d, "in New York City");
    matcher_matches ms = {0};
    CHECK(phrase_matcher_run(pm, d.t, d.n, &ms) == 0);
    CHECK_EQ_STR(show(&ms, phrase_key, pm), "ZETA:1-3 GPE:1-3 PERSON:1-3 ALPHA:1-3 K3:1-3 CITY:1-4 CITY:2-3");
    phrase_matcher_free(pm);

    pm = phrase_matcher_new(MATCHER_LOWER);
    static const matcher_text lower_ny[] = {{"new", 3}, {"york", 4}};
    CHECK(phrase_matcher_add(pm, "NY", lower_ny, 2) == 0);
    make_doc(&d, "NEW York new YORK");
    CHECK(phrase_matcher_run(pm, d.t, d.n, &ms) == 0);
    CHECK_EQ_STR(show(&ms, phrase_key, pm), "NY:0-2 NY:2-4");
    matcher_matches_free(&ms);
    phrase_matcher_free(pm);
}
