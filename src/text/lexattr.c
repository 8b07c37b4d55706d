/* lexattr.c - spacy/lang/lex_attrs.py's flag functions (lexattr.h); a language's own LIKE_NUM and
 * IS_STOP come from the language table (lang.c). */
#include "text/lexattr.h"

#include <stdlib.h>
#include <string.h>

#include "text/pystr.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* the whole text is one of the strings */
static int is_one_of(const char *const *list, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(list[i]) == len && !memcmp(list[i], s, len)) return 1;
    return 0;
}

static const char *const brackets[] = {"(", ")", "[", "]", "{", "}", "<", ">"};
static const char *const quotes[] = {"\"", "'", "`", "«", "»", "‘", "’", "‚", "‛", "“",
                                     "”", "„", "‟", "‹", "›", "❮", "❯", "''", "``"};
static const char *const left_punct[] = {"(", "[", "{", "<", "\"", "'", "«", "‘", "‚", "‛", "“", "„", "‟", "‹", "❮", "``"};
static const char *const right_punct[] = {")", "]", "}", ">", "\"", "'", "»", "’", "”", "›", "❯", "''"};

/* spaCy's _tlds, between bars so that "|tld|" is found by strstr */
static const char tlds[] =
    "|com|org|edu|gov|net|mil|aero|asia|biz|cat|coop|info|int|jobs|mobi|museum|name|pro|tel|travel|xyz|icu|xxx|"
    "ac|ad|ae|af|ag|ai|al|am|an|ao|aq|ar|as|at|au|aw|ax|az|ba|bb|bd|be|bf|bg|bh|bi|bj|bm|bn|bo|br|bs|bt|bv|bw|by|"
    "bz|ca|cc|cd|cf|cg|ch|ci|ck|cl|cm|cn|co|cr|cs|cu|cv|cx|cy|cz|dd|de|dj|dk|dm|do|dz|ec|ee|eg|eh|er|es|et|eu|fi|"
    "fj|fk|fm|fo|fr|ga|gb|gd|ge|gf|gg|gh|gi|gl|gm|gn|gp|gq|gr|gs|gt|gu|gw|gy|hk|hm|hn|hr|ht|hu|id|ie|il|im|in|io|"
    "iq|ir|is|it|je|jm|jo|jp|ke|kg|kh|ki|km|kn|kp|kr|kw|ky|kz|la|lb|lc|li|lk|lr|ls|lt|lu|lv|ly|ma|mc|md|me|mg|mh|"
    "mk|ml|mm|mn|mo|mp|mq|mr|ms|mt|mu|mv|mw|mx|my|mz|na|nc|ne|nf|ng|ni|nl|no|np|nr|nu|nz|om|pa|pe|pf|pg|ph|pk|pl|"
    "pm|pn|pr|ps|pt|pw|py|qa|re|ro|rs|ru|rw|sa|sb|sc|sd|se|sg|sh|si|sj|sk|sl|sm|sn|so|sr|ss|st|su|sv|sy|sz|tc|td|"
    "tf|tg|th|tj|tk|tl|tm|tn|to|tp|tr|tt|tv|tw|tz|ua|ug|uk|us|uy|uz|va|vc|ve|vg|vi|vn|vu|wf|ws|ye|yt|za|zm|zw|";

/* every character's Unicode category starts with major (and, when minor, is exactly it) */
static int all_categories(const char *s, size_t len, char major, char minor)
{
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = py_utf8_next(s + i, len - i, &cp);
        const char *cat = py_category(cp);
        if (!n || cat[0] != major || (minor && cat[1] != minor)) return 0;
        i += n;
    }
    return 1;
}

static int is_ascii(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0x80) return 0;
    return 1;
}

static int starts_with(const char *s, size_t len, const char *prefix)
{
    size_t pl = strlen(prefix);
    return len >= pl && !memcmp(s, prefix, pl);
}

/* [a-zA-Z0-9] plus the characters of extra */
static int ascii_word(unsigned char c, const char *extra)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (c && strchr(extra, c));
}

/* re.match(r"[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+"): no class contains the character
 * that follows it, so each run is taken whole and backtracking cannot find another match */
static int like_email(const char *s, size_t len)
{
    size_t i = 0, start = 0;
    while (i < len && ascii_word((unsigned char)s[i], "_.+-")) i++;
    if (i == start || i >= len || s[i] != '@') return 0;
    start = ++i;
    while (i < len && ascii_word((unsigned char)s[i], "-")) i++;
    if (i == start || i >= len || s[i] != '.') return 0;
    i++;
    return i < len && ascii_word((unsigned char)s[i], "-.");
}

static int like_url(const char *s, size_t len, lex_url_match_fn url_match, void *url_ctx)
{
    if (starts_with(s, len, "http://") || starts_with(s, len, "https://")) return 1;
    if (starts_with(s, len, "www.") && py_utf8_count(s, len) >= 5) return 1;
    if (s[0] == '.' || s[len - 1] == '.') return 0;
    if (memchr(s, '@', len)) return 0;
    const char *dot = NULL;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '.') dot = s + i;
    if (!dot) return 0;
    /* the top-level domain: after the last '.', up to a ':' */
    const char *tld = dot + 1;
    size_t tld_len = len - (size_t)(tld - s);
    const char *colon = memchr(tld, ':', tld_len);
    if (colon) tld_len = (size_t)(colon - tld);
    if (tld_len && tld[tld_len - 1] == '/') return 1;
    if (py_str_isalpha(tld, tld_len) && tld_len < 16) {
        char key[20];
        key[0] = '|';
        memcpy(key + 1, tld, tld_len);
        key[tld_len + 1] = '|';
        key[tld_len + 2] = 0;
        if (strstr(tlds, key)) return 1;
    }
    return url_match && url_match(url_ctx, s, len);
}

long lex_flags(const nerd_lang *lang, const char *s, size_t len, lex_url_match_fn url_match, void *url_ctx)
{
    /* the functions of a flag that takes only the text, in the enum's order */
    static int (*const by_text[])(const char *, size_t) = {
        py_str_isalpha, is_ascii, py_str_isdigit, py_str_islower, NULL, py_str_isspace, py_str_istitle, py_str_isupper,
    };
    long f = 0;
    for (size_t i = 0; i < COUNT(by_text); i++)
        if (by_text[i] && by_text[i](s, len)) f |= 1L << i;
    if (all_categories(s, len, 'P', 0)) f |= LEX_IS_PUNCT;
    if (all_categories(s, len, 'S', 'c')) f |= LEX_IS_CURRENCY;
    if (like_url(s, len, url_match, url_ctx)) f |= LEX_LIKE_URL;
    if (like_email(s, len)) f |= LEX_LIKE_EMAIL;
    if (is_one_of(brackets, COUNT(brackets), s, len)) f |= LEX_IS_BRACKET;
    if (is_one_of(quotes, COUNT(quotes), s, len)) f |= LEX_IS_QUOTE;
    if (is_one_of(left_punct, COUNT(left_punct), s, len)) f |= LEX_IS_LEFT_PUNCT;
    if (is_one_of(right_punct, COUNT(right_punct), s, len)) f |= LEX_IS_RIGHT_PUNCT;
    int like_num = lang_like_num(lang, s, len), stop = lang_is_stop(lang, s, len);
    if (like_num < 0 || stop < 0) return -1;
    if (like_num) f |= LEX_LIKE_NUM;
    if (stop) f |= LEX_IS_STOP;
    return f;
}
