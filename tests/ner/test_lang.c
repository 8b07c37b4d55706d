/* The language table's lexical attributes on cases each language's lex_attrs.py singles out
 * (tests/spacy/lang_tokens.py checks every token of every text against spaCy). */
#include "test.h"
#include "text/lang.h"
#include "text/tokenizer.h"
#include "util/buf.h"

#include <string.h>

static int like_num(const char *code, const char *s) { return lang_like_num(lang_find(code), s, strlen(s)); }
static int is_stop(const char *code, const char *s) { return lang_is_stop(lang_find(code), s, strlen(s)); }

TEST(lang_table_finds_its_languages_only)
{
    static const char *const codes[] = {"en", "de", "es", "fr", "it", "nl", "pt", "ru", "el", "zh"};
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) CHECKF(lang_find(codes[i]), "%s", codes[i]);
    CHECK(!lang_find("ja") && !lang_find("") && !lang_find(NULL) && !lang_find("EN"));
    CHECK(lang_find("zh")->tokenizer == LANG_TOKENIZER_CHARS && lang_find("fr")->tokenizer == LANG_TOKENIZER_RULES);
}

TEST(lang_like_num_follows_each_language)
{
    static const struct { const char *lang, *text; int want; } cases[] = {
        {"en", "12,000.5", 1}, {"en", "-3/4", 1}, {"en", "Twenty", 1}, {"en", "21st", 1}, {"en", "st", 0},
        {"en", "3/4/5", 0}, {"en", "", 0}, {"en", "\u00b23", 1}, {"en", "eleventh", 1},
        {"de", "zwanzig", 0}, {"de", "\u00b15", 1},
        {"fr", "Vingt", 1}, {"fr", "dix-huit", 1}, {"fr", "premi\u00e8re", 1}, {"fr", "21e", 0},
        {"nl", "+5", 0}, {"nl", "twintig", 1},          /* Dutch keeps the sign */
        {"pt", "1\u00ba", 1}, {"pt", "2\u00aa", 1}, {"pt", "Tr\u00eas", 1},
        {"ru", "50%", 1}, {"ru", "-50%", 1}, {"ru", "%", 0}, {"ru", "\u041c\u043b\u043d", 1},
        {"es", "veintid\u00f3s", 1}, {"es", "D\u00e9cimo", 1},
        {"el", "2^10", 1}, {"el", "2^", 0},
        {"el", "\u03a4\u03a1\u0395\u0399\u03a3", 1},    /* TREIS lowers with a final sigma: treis */
        {"zh", "\u4e00\u767e\u4e8c\u5341", 1},          /* one hundred twenty */
        {"zh", "\u4e00\u767e\u4e8c", 1}, {"zh", "\u767e", 0}, {"zh", "\u4e00\u4e00", 0},
        {"zh", "\u5341\u4e00", 1},                      /* a single number word */
        {"zh", "\u4e00\u5341\n", 1},                    /* $ before a final newline */
        {"zh", "\uff0c5\u3002", 1},
        {"it", "venti", 0}, {"it", "1.000", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        CHECKF(like_num(cases[i].lang, cases[i].text) == cases[i].want, "%s like_num(\"%s\") != %d", cases[i].lang,
               cases[i].text, cases[i].want);
}

TEST(lang_is_stop_lowercases_first)
{
    CHECK(is_stop("en", "The") == 1 && is_stop("en", "cat") == 0);
    CHECK(is_stop("fr", "Les") == 1 && is_stop("de", "UND") == 1 && is_stop("ru", "\u0418") == 1);
    CHECK(is_stop("zh", "\u7684") == 1 && is_stop("it", "gatto") == 0 && is_stop("en", "") == 0);
}

/* Chinese's "char" segmenter: each non-space character a token, one space after a token its
 * trailing space, any other whitespace run a token (spacy.util.get_words_and_spaces). */
TEST(lang_chars_tokenizer_is_spacy_char_segmenter)
{
    static const struct { const char *text, *want; } cases[] = {
        {"", ""},
        {"\u4e2d\u6587", "\u4e2d|\u6587|"},
        {"a b", "a_|b|"},
        {"a  b", "a_| |b|"},
        {" a", " |a|"},
        {"a\n", "a|\n|"},
        {"a \t b ", "a_|\t |b_|"},
        {"   ", "   |"},
        {"a\u3000b", "a|\u3000|b|"},
    };
    tokenizer *t = tokenizer_new_chars();
    CHECK(t);
    tok_scratch sc = {0};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *text = cases[i].text;
        CHECK(tokenizer_run(t, text, strlen(text), &sc) == 0);
        buf got = {0};
        for (size_t k = 0; k < sc.ntoks; k++) {
            buf_append(&got, text + sc.toks[k].start, sc.toks[k].len);
            buf_puts(&got, sc.toks[k].ws ? "_|" : "|");
        }
        CHECKF(!strcmp(got.ptr ? got.ptr : "", cases[i].want), "\"%s\": got \"%s\", want \"%s\"", text,
               got.ptr ? got.ptr : "", cases[i].want);
        buf_free(&got);
    }
    tok_scratch_free(&sc);
    tokenizer_free(t);
}

/* The per-character tokenizer looks at the clock too: a long text stops at a past deadline. */
TEST(lang_chars_tokenizer_stops_at_a_past_deadline)
{
    enum { CHARS = 3 * 65536 };
    buf text = {0};
    size_t hanzi = 0; /* each a token; a space after one is its trailing space */
    for (int i = 0; i < CHARS; i++) {
        CHECK(buf_puts(&text, i % 7 == 6 ? " " : "\u4e2d") == 0);
        hanzi += i % 7 != 6;
    }
    tokenizer *t = tokenizer_new_chars();
    tok_scratch sc = {0};
    CHECK(t);
    CHECK(tokenizer_run_until(t, text.ptr, text.len, 1.0 /* long past */, &sc) == TOK_DEADLINE);
    CHECK(tokenizer_run_until(t, text.ptr, text.len, 0, &sc) == 0 && sc.ntoks == hanzi);
    tok_scratch_free(&sc);
    tokenizer_free(t);
    buf_free(&text);
}
