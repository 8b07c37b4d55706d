/* Python `re` -> PCRE2 translation: the places where PCRE2's Unicode semantics differ from
 * Python's and pyre.c has to spell Python's out. The whole translated tokenizer patterns
 * were also compared with Python's `re` over every code point in a dozen contexts each. */
#include "test.h"
#include "ner/pyre.h"

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
