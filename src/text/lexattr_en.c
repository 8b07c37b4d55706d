/* lexattr_en.c - English's own lexical attributes: spacy/lang/en/stop_words.py and
 * spacy/lang/en/lex_attrs.py's like_num (number and ordinal words, "1st" ... "22nd"). */
#include <string.h>

#include "text/lexattr.h"
#include "text/pystr.h"

/* spaCy's English STOP_WORDS, sorted by bytes */
static const char *const en_stop_words[] = {
    "'d", "'ll", "'m", "'re", "'s", "'ve", "a", "about", "above", "across", "after", "afterwards",
    "again", "against", "all", "almost", "alone", "along", "already", "also", "although", "always",
    "am", "among", "amongst", "amount", "an", "and", "another", "any", "anyhow", "anyone",
    "anything", "anyway", "anywhere", "are", "around", "as", "at", "back", "be", "became",
    "because", "become", "becomes", "becoming", "been", "before", "beforehand", "behind", "being",
    "below", "beside", "besides", "between", "beyond", "both", "bottom", "but", "by", "ca", "call",
    "can", "cannot", "could", "did", "do", "does", "doing", "done", "down", "due", "during", "each",
    "eight", "either", "eleven", "else", "elsewhere", "empty", "enough", "even", "ever", "every",
    "everyone", "everything", "everywhere", "except", "few", "fifteen", "fifty", "first", "five",
    "for", "former", "formerly", "forty", "four", "from", "front", "full", "further", "get", "give",
    "go", "had", "has", "have", "he", "hence", "her", "here", "hereafter", "hereby", "herein",
    "hereupon", "hers", "herself", "him", "himself", "his", "how", "however", "hundred", "i", "if",
    "in", "indeed", "into", "is", "it", "its", "itself", "just", "keep", "last", "latter",
    "latterly", "least", "less", "made", "make", "many", "may", "me", "meanwhile", "might", "mine",
    "more", "moreover", "most", "mostly", "move", "much", "must", "my", "myself", "n't", "name",
    "namely", "neither", "never", "nevertheless", "next", "nine", "no", "nobody", "none", "noone",
    "nor", "not", "nothing", "now", "nowhere", "n‘t", "n’t", "of", "off", "often", "on", "once",
    "one", "only", "onto", "or", "other", "others", "otherwise", "our", "ours", "ourselves", "out",
    "over", "own", "part", "per", "perhaps", "please", "put", "quite", "rather", "re", "really",
    "regarding", "same", "say", "see", "seem", "seemed", "seeming", "seems", "serious", "several",
    "she", "should", "show", "side", "since", "six", "sixty", "so", "some", "somehow", "someone",
    "something", "sometime", "sometimes", "somewhere", "still", "such", "take", "ten", "than",
    "that", "the", "their", "them", "themselves", "then", "thence", "there", "thereafter",
    "thereby", "therefore", "therein", "thereupon", "these", "they", "third", "this", "those",
    "though", "three", "through", "throughout", "thru", "thus", "to", "together", "too", "top",
    "toward", "towards", "twelve", "twenty", "two", "under", "unless", "until", "up", "upon", "us",
    "used", "using", "various", "very", "via", "was", "we", "well", "were", "what", "whatever",
    "when", "whence", "whenever", "where", "whereafter", "whereas", "whereby", "wherein",
    "whereupon", "wherever", "whether", "which", "while", "whither", "who", "whoever", "whole",
    "whom", "whose", "why", "will", "with", "within", "without", "would", "yet", "you", "your",
    "yours", "yourself", "yourselves", "‘d", "‘ll", "‘m", "‘re", "‘s", "‘ve", "’d", "’ll", "’m",
    "’re", "’s", "’ve",
};

static const char *const en_number_words[] = {
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty", "thirty", "forty",
    "fifty", "sixty", "seventy", "eighty", "ninety", "hundred", "thousand", "million", "billion", "trillion",
    "quadrillion", "quintillion", "sextillion", "septillion", "octillion", "nonillion", "decillion", "gajillion",
    "bazillion",
};

static const char *const en_ordinal_words[] = {
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh",
    "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth", "nineteenth",
    "twentieth", "thirtieth", "fortieth", "fiftieth", "sixtieth", "seventieth", "eightieth", "ninetieth",
    "hundredth", "thousandth", "millionth", "billionth", "trillionth", "quadrillionth", "quintillionth",
    "sextillionth", "septillionth", "octillionth", "nonillionth", "decillionth", "gajillionth", "bazillionth",
};

static const char *const en_ordinal_suffixes[] = {"st", "nd", "rd", "th"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int in_list(const char *const *list, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(list[i]) == len && !memcmp(list[i], s, len)) return 1;
    return 0;
}

static int en_like_num(const char *s, size_t len, buf *scratch)
{
    if (lex_like_num_base(s, len, scratch)) return 1;
    /* lex_like_num_base left the text without its sign, ',' and '.' in scratch: lowercase it */
    size_t stripped = scratch->len;
    if (py_lower(scratch->ptr, stripped, scratch)) return 0;
    const char *low = scratch->ptr + stripped;
    size_t low_len = scratch->len - stripped;
    if (in_list(en_number_words, COUNT(en_number_words), low, low_len) ||
        in_list(en_ordinal_words, COUNT(en_ordinal_words), low, low_len))
        return 1;
    for (size_t i = 0; i < COUNT(en_ordinal_suffixes); i++)
        if (low_len >= 2 && !memcmp(low + low_len - 2, en_ordinal_suffixes[i], 2))
            return py_str_isdigit(low, low_len - 2);
    return 0;
}

const lex_lang lex_lang_en = {"en", en_stop_words, COUNT(en_stop_words), en_like_num};
