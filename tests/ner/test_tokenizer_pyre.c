/* Python `re` -> PCRE2 translation: the places where PCRE2's Unicode semantics differ from
 * Python's and pyre.c has to spell Python's out. The whole translated tokenizer patterns
 * were also compared with Python's `re` over every code point in a dozen contexts each. */
#include "test.h"
#include "text/pyre.h"

#include <msgpack.h>
#include <string.h>

static int matches(const char *py, const char *s)
{
    char err[256];
    pcre2_code *re = pyre_compile(py, strlen(py), err, sizeof err);
    if (!re) test_fail(__FILE__, __LINE__, "%s: %s", py, err);
    pcre2_match_data *md = pcre2_match_data_create(4, NULL);
    int rc = pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return rc >= 0;
}

TEST(tokenizer_pyre_space_is_python_isspace)
{
    /* U+001C..U+001F are str.isspace() in Python, not \s in PCRE2 */
    CHECK(matches("^\\s$", "\x1c"));
    CHECK(matches("^\\s$", "\x1f"));
    CHECK(!matches("^\\S$", "\x1d"));
    CHECK(matches("^[\\s]$", "\x1e"));
    /* U+180E (MONGOLIAN VOWEL SEPARATOR) is \h in PCRE2, not a space for Python */
    CHECK(!matches("^\\s$", "\xe1\xa0\x8e"));
    CHECK(matches("^\\S$", "\xe1\xa0\x8e"));
    CHECK(matches("^a\\S+$", "a\xe1\xa0\x8e" "b"));
    CHECK(matches("^\\s+$", " \t\n\r\x0b\x0c\xc2\x85\xc2\xa0\xe3\x80\x80"));
}

TEST(tokenizer_pyre_escapes_and_flags)
{
    CHECK(matches("^\\u00e9$", "\xc3\xa9"));
    CHECK(matches("^\\U0001F600$", "\xf0\x9f\x98\x80"));
    CHECK(matches("(?u)^[\\u00a1-\\uffff]+$", "\xc3\xa9\xe2\x82\xac"));
    CHECK(matches("^a\\Z", "a"));
    CHECK(!matches("^a\\Z", "a\n"));  /* \Z is the very end in Python */
    CHECK(matches("^a$", "a\n"));     /* $ also matches before a final newline, as in Python */
    CHECK(matches("^[[]$", "["));     /* '[' in a class is literal in Python */
    CHECK(matches("^[]a]$", "]"));    /* a leading ']' in a class is literal */
    CHECK(matches("^\\w+$", "\xc3\xa9\xd9\xa3_"));     /* \w: letters, digits of any script, '_' */
    CHECK(!matches("^\\w$", "\xcc\x81"));              /* a combining mark is not \w in Python */
}

TEST(tokenizer_pyre_rejects_broken_patterns)
{
    char err[256];
    err[0] = 0;
    CHECK(!pyre_compile("[abc", 4, err, sizeof err));
    CHECK(err[0]);
    CHECK(!pyre_compile("\\u12", 4, err, sizeof err));
    CHECK(!pyre_compile("a\\", 2, err, sizeof err));
    CHECK(!pyre_compile("(a", 2, err, sizeof err));
}

/* ---- pyre_tail: where a search for an end-anchored pattern may start ---- */

static pyre_tail tail_of(const char *py)
{
    pyre_tail t;
    CHECK(pyre_tail_init(py, strlen(py), &t) == 0);
    return t;
}

TEST(tokenizer_pyre_tail_widths)
{
    pyre_tail t = tail_of("a$|bc$|\\u00e9\\u00e9\\u00e9$");
    CHECK(t.bounded && t.max_chars == 3 && !t.run_char);
    pyre_tail_free(&t);
    /* lookbehinds are not consumed; a group's width is its widest branch; {m,n} counts n */
    t = tail_of("(?<=[0-9]{2})(?:km|mph)$|x{2,4}\\Z|(?<=a)(?!b)c\\z");
    CHECK(t.bounded && t.max_chars == 4 && !t.run_char);
    pyre_tail_free(&t);
    /* an unbounded branch: its consumed characters form a run at the end */
    t = tail_of("\\.\\.+$|x$");
    CHECK(t.bounded && t.max_chars == 1 && t.run_char);
    pyre_tail_free(&t);
    /* no bound: a branch not anchored at the end, flags, backreferences, unknown escapes */
    const char *unbounded[] = {"a$|b", "(?i)a$", "(a)\\1$", "a\\X$", "a$?", "(?:a$|b)", "a{,3}$", "a$b"};
    for (size_t i = 0; i < sizeof unbounded / sizeof *unbounded; i++) {
        t = tail_of(unbounded[i]);
        CHECKF(!t.bounded, "%s", unbounded[i]);
        pyre_tail_free(&t);
    }
    /* an end-anchored group counts as the branch's end */
    t = tail_of("(?:a$|bb\\Z)");
    CHECK(t.bounded && t.max_chars == 2);
    pyre_tail_free(&t);
}

/* A search from pyre_tail_from finds what a search from 0 finds: over random strings of the
 * characters spaCy's suffixes are made of, with the real en_core_web_sm suffix pattern. */
TEST(tokenizer_pyre_tail_search_is_unchanged)
{
    size_t flen;
    char *file = test_read_file(test_path("models/en_core_web_sm/tokenizer"), &flen);
    CHECK(file);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    CHECK(msgpack_unpack_next(&up, file, flen, NULL) == MSGPACK_UNPACK_SUCCESS && up.data.type == MSGPACK_OBJECT_MAP);
    const msgpack_object *suffix = NULL;
    for (uint32_t i = 0; i < up.data.via.map.size; i++) {
        const msgpack_object *k = &up.data.via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == 13 && !memcmp(k->via.str.ptr, "suffix_search", 13))
            suffix = &up.data.via.map.ptr[i].val;
    }
    CHECK(suffix && suffix->type == MSGPACK_OBJECT_STR);
    char err[256];
    pcre2_code *re = pyre_compile(suffix->via.str.ptr, suffix->via.str.size, err, sizeof err);
    CHECK(re);
    pyre_tail t;
    CHECK(pyre_tail_init(suffix->via.str.ptr, suffix->via.str.size, &t) == 0);
    CHECK(t.bounded && t.run_char); /* "\.\.+$" is its one unbounded branch */
    static const char *alphabet[] = {".", "..", "1", "\xc2\xb0", "C", "k", "m", "\xc2\xb2", "\xe2\x82\xac", "$", "U",
                                     "S", "'", "s", ")", "a", "\xe2\x80\xa6", "\xd9\x83\xd9\x85", "/", "h", "\n", "%",
                                     "\xf0\x9f\x98\x80", "\xe2\x80\x99", "km/h", "mbar", "US$", "2",
                                     "\xd8\xa7\xd9\x83\xd9\x88\xd8\xa7\xd8\xa8" /* the widest: 5 characters */};
    enum { NALPHA = sizeof alphabet / sizeof *alphabet, TRIALS = 20000 };
    pcre2_match_data *md = pcre2_match_data_create(4, NULL);
    unsigned seed = 12345;
    size_t narrowed = 0;
    for (int trial = 0; trial < TRIALS; trial++) {
        char s[16 * 16]; /* up to 15 pieces of at most 10 bytes */
        size_t len = 0, pieces = (seed = seed * 1103515245 + 12345) >> 16 & 15;
        for (size_t k = 0; k < pieces; k++) {
            const char *piece = alphabet[((seed = seed * 1103515245 + 12345) >> 16) % NALPHA];
            memcpy(s + len, piece, strlen(piece));
            len += strlen(piece);
        }
        size_t from = pyre_tail_from(&t, s, len, md);
        narrowed += from > 0;
        int rc0 = pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, md, NULL);
        PCRE2_SIZE m0 = rc0 >= 0 ? pcre2_get_ovector_pointer(md)[0] : 0;
        int rc1 = pcre2_match(re, (PCRE2_SPTR)s, len, from, 0, md, NULL);
        PCRE2_SIZE m1 = rc1 >= 0 ? pcre2_get_ovector_pointer(md)[0] : 0;
        CHECKF((rc0 >= 0) == (rc1 >= 0) && m0 == m1, "\"%.*s\": from 0 %d at %zu, from %zu %d at %zu", (int)len, s, rc0,
               (size_t)m0, from, rc1, (size_t)m1);
    }
    CHECKF(narrowed > TRIALS / 2, "only %zu of %d searches started past 0", narrowed, TRIALS);
    pcre2_match_data_free(md);
    pyre_tail_free(&t);
    pcre2_code_free(re);
    msgpack_unpacked_destroy(&up);
    free(file);
}

/* French's token_match (1.4 MB of branches, each expanding large classes) is too large for one
 * PCRE2 program: pyre_any compiles its top-level branches as several, with the leading flags, and
 * matches where one of them does (re.match truthiness), so every branch still counts. */
TEST(tokenizer_pyre_any_splits_a_too_large_alternation)
{
    enum { BRANCHES = 400 };
    buf py = {0};
    CHECK(buf_puts(&py, "(?iu)") == 0);
    for (int i = 0; i < BRANCHES; i++)
        CHECK(buf_printf(&py, "%s(?:^w%03d[-\\u2010][\\u00e0-\\u024f\\u0400-\\u04ff|a-z]+(?:x|[(|)])?$)", i ? "|" : "",
                         i) == 0);
    char err[256];
    pcre2_code *whole = pyre_compile(py.ptr, py.len, err, sizeof err);
    CHECKF(!whole && strstr(err, "too large"), "the test pattern must be too large for one program: %s", err);
    pyre_any any;
    CHECKF(pyre_any_compile(py.ptr, py.len, &any, err, sizeof err) == 0, "%s", err);
    CHECKF(any.n > 1, "%zu programs", any.n);
    pcre2_match_data *md = pcre2_match_data_create(4, NULL);
    /* the first and last branch, case-insensitive from the leading flags, a `|` inside a class */
    static const struct { const char *s; int want; } cases[] = {
        {"w000-abc", 1}, {"W399\xe2\x80\x90\xd0\x96|x", 1}, {"w200-b(", 1}, {"w400-abc", 0}, {"w001-", 0}, {"xw001-a", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        CHECKF(pyre_any_match(&any, cases[i].s, strlen(cases[i].s), md) == cases[i].want, "%s", cases[i].s);
    pcre2_match_data_free(md);
    pyre_any_free(&any);
    /* a pattern that fits is one program */
    CHECK(pyre_any_compile("(?i)^ab|cd", 10, &any, err, sizeof err) == 0 && any.n == 1);
    pyre_any_free(&any);
    buf_free(&py);
}
