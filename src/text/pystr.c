#include "text/pystr.h"

#include <utf8proc.h>

/* utf8proc 2.8 knows Unicode 15.0; Python 3.11 (which made the golden files) and PCRE2 10.42
 * know 14.0. These code points are new in 15.0, so for Python they are unassigned: not
 * alphabetic, not digits, not cased. The other tables are derived properties that Python's
 * str methods use and utf8proc does not expose (from Unicode 14's DerivedCoreProperties):
 * all three were checked against Python over every code point. */
static const uint32_t unicode15_new[][2] = {
    {0xCF3, 0xCF3}, {0xECE, 0xECE}, {0x10EFD, 0x10EFF}, {0x1123F, 0x11241}, {0x11B00, 0x11B09},
    {0x11F00, 0x11F10}, {0x11F12, 0x11F3A}, {0x11F3E, 0x11F59}, {0x1342F, 0x1342F}, {0x13439, 0x13455},
    {0x1B132, 0x1B132}, {0x1B155, 0x1B155}, {0x1D2C0, 0x1D2D3}, {0x1DF25, 0x1DF2A}, {0x1E030, 0x1E06D},
    {0x1E08F, 0x1E08F}, {0x1E4D0, 0x1E4F9}, {0x1F6DC, 0x1F6DC}, {0x1F774, 0x1F776}, {0x1F77B, 0x1F77F},
    {0x1F7D9, 0x1F7D9}, {0x1FA75, 0x1FA77}, {0x1FA87, 0x1FA88}, {0x1FAAD, 0x1FAAF}, {0x1FABB, 0x1FABD},
    {0x1FABF, 0x1FABF}, {0x1FACE, 0x1FACF}, {0x1FADA, 0x1FADB}, {0x1FAE8, 0x1FAE8}, {0x1FAF7, 0x1FAF8},
    {0x2B739, 0x2B739}, {0x31350, 0x323AF},
};
/* Other_Lowercase: lowercase for str.islower() though not category Ll (from Python 3.11's
 * unicodedata over every code point) */
static const uint32_t other_lower[][2] = {
    {0xAA, 0xAA}, {0xBA, 0xBA}, {0x2B0, 0x2B8}, {0x2C0, 0x2C1}, {0x2E0, 0x2E4}, {0x345, 0x345},
    {0x37A, 0x37A}, {0x1D2C, 0x1D6A}, {0x1D78, 0x1D78}, {0x1D9B, 0x1DBF}, {0x2071, 0x2071},
    {0x207F, 0x207F}, {0x2090, 0x209C}, {0x2170, 0x217F}, {0x24D0, 0x24E9}, {0x2C7C, 0x2C7D},
    {0xA69C, 0xA69D}, {0xA770, 0xA770}, {0xA7F8, 0xA7F9}, {0xAB5C, 0xAB5F}, {0x10780, 0x10780},
    {0x10783, 0x10785}, {0x10787, 0x107B0}, {0x107B2, 0x107BA},
};
/* Other_Uppercase: uppercase for str.isupper() though not category Lu */
static const uint32_t other_upper[][2] = {
    {0x2160, 0x216F}, {0x24B6, 0x24CF}, {0x1F130, 0x1F149}, {0x1F150, 0x1F169}, {0x1F170, 0x1F189},
};
/* Cased (for the final-sigma rule) beyond Lu/Ll/Lt and letters with a case mapping:
 * Other_Lowercase and Other_Uppercase */
static const uint32_t other_cased[][2] = {
    {0xAA, 0xAA}, {0xBA, 0xBA}, {0x2B0, 0x2B8}, {0x2C0, 0x2C1}, {0x2E0, 0x2E4}, {0x37A, 0x37A},
    {0x1D2C, 0x1D6A}, {0x1D78, 0x1D78}, {0x1D9B, 0x1DBF}, {0x2071, 0x2071}, {0x207F, 0x207F},
    {0x2090, 0x209C}, {0x2C7C, 0x2C7D}, {0xA69C, 0xA69D}, {0xA770, 0xA770}, {0xA7F8, 0xA7F9},
    {0xAB5C, 0xAB5F}, {0x10780, 0x10780}, {0x10783, 0x10785}, {0x10787, 0x107B0}, {0x107B2, 0x107BA},
    {0x1F130, 0x1F149}, {0x1F150, 0x1F169}, {0x1F170, 0x1F189},
};
/* Case_Ignorable beyond Mn/Me/Cf/Lm/Sk: Word_Break MidLetter, MidNumLet and Single_Quote */
static const uint32_t other_case_ignorable[][2] = {
    {0x27, 0x27}, {0x2E, 0x2E}, {0x3A, 0x3A}, {0xB7, 0xB7}, {0x387, 0x387}, {0x55F, 0x55F},
    {0x5F4, 0x5F4}, {0x2018, 0x2019}, {0x2024, 0x2024}, {0x2027, 0x2027}, {0xFE13, 0xFE13},
    {0xFE52, 0xFE52}, {0xFE55, 0xFE55}, {0xFF07, 0xFF07}, {0xFF0E, 0xFF0E}, {0xFF1A, 0xFF1A},
};

static int in_ranges(uint32_t cp, const uint32_t (*r)[2], size_t n)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < r[mid][0]) hi = mid;
        else if (cp > r[mid][1]) lo = mid + 1;
        else return 1;
    }
    return 0;
}
#define IN_TABLE(cp, t) in_ranges((cp), (t), sizeof(t) / sizeof((t)[0]))

/* assigned in Unicode 15.0 but not in Python's 14.0 */
static int unicode15_only(uint32_t cp) { return cp >= 0xCF3 && IN_TABLE(cp, unicode15_new); }

size_t py_utf8_next(const char *str, size_t len, uint32_t *cp)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned c = s[0];
    if (c < 0x80) { *cp = c; return 1; }
    size_t n;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) { n = 2; v = c & 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; v = c & 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; v = c & 0x07; min = 0x10000; }
    else return 0;
    if (len < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = v << 6 | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return n;
}

size_t py_utf8_count(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

int py_utf8_valid(const char *s, size_t len, size_t *bad_offset)
{
    size_t i = 0;
    while (i < len) {
        if ((unsigned char)s[i] < 0x80) { i++; continue; }
        uint32_t cp;
        size_t k = py_utf8_next(s + i, len - i, &cp);
        if (!k) {
            if (bad_offset) *bad_offset = i;
            return 0;
        }
        i += k;
    }
    return 1;
}

/* Python's str.isspace: bidirectional class WS, B or S, or category Zs. */
int py_isspace(uint32_t cp)
{
    if (cp < 0x80) return py_isspace_ascii(cp);
    if (cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
        cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000)
        return 1;
    return 0;
}

int py_isalpha(uint32_t cp)
{
    if (cp < 0x80) return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
    if (unicode15_only(cp)) return 0;
    switch (utf8proc_category((utf8proc_int32_t)cp)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
        return 1;
    default:
        return 0;
    }
}

/* Python's isdigit: Numeric_Type Decimal or Digit. Decimal = category Nd; the Digit type is a
 * short list of No characters (superscripts, subscripts, circled and dingbat digits, ...). */
int py_isdigit(uint32_t cp)
{
    if (cp < 0x80) return cp >= '0' && cp <= '9';
    if (unicode15_only(cp)) return 0;
    if (utf8proc_category((utf8proc_int32_t)cp) == UTF8PROC_CATEGORY_ND) return 1;
    static const uint32_t digit_ranges[][2] = {
        {0x00B2, 0x00B3}, {0x00B9, 0x00B9}, {0x1369, 0x1371}, {0x19DA, 0x19DA}, {0x2070, 0x2070},
        {0x2074, 0x2079}, {0x2080, 0x2089}, {0x2460, 0x2468}, {0x2474, 0x247C}, {0x2488, 0x2490},
        {0x24EA, 0x24EA}, {0x24F5, 0x24FD}, {0x24FF, 0x24FF}, {0x2776, 0x277E}, {0x2780, 0x2788},
        {0x278A, 0x2792}, {0x10A40, 0x10A43}, {0x10E60, 0x10E68}, {0x11052, 0x1105A}, {0x1F100, 0x1F10A},
    };
    for (size_t i = 0; i < sizeof digit_ranges / sizeof digit_ranges[0]; i++)
        if (cp >= digit_ranges[i][0] && cp <= digit_ranges[i][1]) return 1;
    return 0;
}

int py_isupper(uint32_t cp)
{
    if (cp < 0x80) return cp >= 'A' && cp <= 'Z';
    return utf8proc_category((utf8proc_int32_t)cp) == UTF8PROC_CATEGORY_LU || IN_TABLE(cp, other_upper);
}

static int is_cased(uint32_t cp)
{
    if (unicode15_only(cp)) return 0;
    if (IN_TABLE(cp, other_cased)) return 1;
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    return c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL || c == UTF8PROC_CATEGORY_LT ||
           utf8proc_toupper((utf8proc_int32_t)cp) != (utf8proc_int32_t)cp ||
           utf8proc_tolower((utf8proc_int32_t)cp) != (utf8proc_int32_t)cp;
}

static int is_case_ignorable(uint32_t cp)
{
    if (unicode15_only(cp)) return 0;
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    return c == UTF8PROC_CATEGORY_MN || c == UTF8PROC_CATEGORY_ME || c == UTF8PROC_CATEGORY_CF ||
           c == UTF8PROC_CATEGORY_LM || c == UTF8PROC_CATEGORY_SK || IN_TABLE(cp, other_case_ignorable);
}

static int put_cp(buf *out, uint32_t cp)
{
    utf8proc_uint8_t tmp[4];
    utf8proc_ssize_t n = utf8proc_encode_char((utf8proc_int32_t)cp, tmp);
    return buf_append(out, tmp, (size_t)n);
}

/* Final_Sigma (Unicode 3.13): a capital sigma preceded by a cased letter and not followed by
 * one (case-ignorable characters skipped both ways) lowers to the final form. */
static int final_sigma(const char *s, size_t len, size_t at, size_t clen)
{
    size_t i = at;
    int before = 0;
    while (i > 0) {
        size_t j = i - 1;
        while (j > 0 && ((unsigned char)s[j] & 0xC0) == 0x80) j--;
        uint32_t cp;
        if (!py_utf8_next(s + j, len - j, &cp)) return 0;
        i = j;
        if (is_case_ignorable(cp)) continue;
        before = is_cased(cp);
        break;
    }
    if (!before) return 0;
    for (size_t k = at + clen; k < len;) {
        uint32_t cp;
        size_t n = py_utf8_next(s + k, len - k, &cp);
        if (!n) return 0;
        k += n;
        if (is_case_ignorable(cp)) continue;
        return !is_cased(cp);
    }
    return 1;
}

int py_lower(const char *s, size_t len, buf *out)
{
    if (buf_reserve(out, len)) return -1;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            char l = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
            if (buf_putc(out, l)) return -1;
            i++;
            continue;
        }
        uint32_t cp;
        size_t n = py_utf8_next(s + i, len - i, &cp);
        if (!n) return -1;
        int rc;
        if (cp == 0x0130) rc = put_cp(out, 'i') || put_cp(out, 0x0307); /* the one multi-char lowercase */
        else if (cp == 0x03A3) rc = put_cp(out, final_sigma(s, len, i, n) ? 0x03C2 : 0x03C3);
        else rc = put_cp(out, (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp));
        if (rc) return -1;
        i += n;
    }
    return 0;
}

int py_islower(uint32_t cp)
{
    if (cp < 0x80) return cp >= 'a' && cp <= 'z';
    if (unicode15_only(cp)) return 0;
    return utf8proc_category((utf8proc_int32_t)cp) == UTF8PROC_CATEGORY_LL || IN_TABLE(cp, other_lower);
}

int py_istitle_char(uint32_t cp)
{
    return cp >= 0x80 && !unicode15_only(cp) && utf8proc_category((utf8proc_int32_t)cp) == UTF8PROC_CATEGORY_LT;
}

const char *py_category(uint32_t cp)
{
    if (unicode15_only(cp)) return "Cn";
    return utf8proc_category_string((utf8proc_int32_t)cp);
}

/* every character satisfies pred (and there is one) */
static int all_chars(const char *s, size_t len, int (*pred)(uint32_t))
{
    if (!len) return 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = py_utf8_next(s + i, len - i, &cp);
        if (!n || !pred(cp)) return 0;
        i += n;
    }
    return 1;
}

int py_str_isalpha(const char *s, size_t len) { return all_chars(s, len, py_isalpha); }
int py_str_isspace(const char *s, size_t len) { return all_chars(s, len, py_isspace); }
int py_str_isdigit(const char *s, size_t len) { return all_chars(s, len, py_isdigit); }

/* Python's islower/isupper: no character of the other case (nor titlecase), and one cased
 * character of the case asked */
static int one_case(const char *s, size_t len, int (*want)(uint32_t), int (*other)(uint32_t))
{
    int cased = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = py_utf8_next(s + i, len - i, &cp);
        if (!n || other(cp) || py_istitle_char(cp)) return 0;
        cased |= want(cp);
        i += n;
    }
    return cased;
}

int py_str_islower(const char *s, size_t len) { return one_case(s, len, py_islower, py_isupper); }
int py_str_isupper(const char *s, size_t len) { return one_case(s, len, py_isupper, py_islower); }

/* Python's istitle: an upper- or titlecase character only after an uncased one, a lowercase
 * one only after a cased one, and at least one cased character */
int py_str_istitle(const char *s, size_t len)
{
    int cased = 0, previous_cased = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = py_utf8_next(s + i, len - i, &cp);
        if (!n) return 0;
        if (py_isupper(cp) || py_istitle_char(cp)) {
            if (previous_cased) return 0;
            previous_cased = cased = 1;
        } else if (py_islower(cp)) {
            if (!previous_cased) return 0;
            previous_cased = cased = 1;
        } else {
            previous_cased = 0;
        }
        i += n;
    }
    return cased;
}
