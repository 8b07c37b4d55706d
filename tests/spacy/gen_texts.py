"""Texts for the differential test against live spaCy (tests/spacy/diff.py), deterministic from a seed.

Each text joins a few pieces: spans of the shared golden texts (../shared/golden/*.jsonl), sometimes
upper- or lower-cased, and items of the kinds that stress a tokenizer and a model: URLs, e-mail
addresses, emoji and ZWJ sequences, combining marks, control and format characters, CRLF, NBSP and
zero-width characters, very long tokens, non-Latin scripts, numbers, money, dates. The joints are
themselves varied (spaces, newlines, CRLF, NBSP, nothing). Only valid Unicode (no lone surrogates):
spaCy takes a Python str. Same seed, same golden files: same texts.

    python3 tests/spacy/gen_texts.py [--seed N] [--count N] [--golden DIR] > texts.jsonl
"""
import argparse
import glob
import importlib.util
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_GOLDEN = os.path.join(HERE, "..", "..", "..", "shared", "golden")

URLS = ["https://www.example.com/path/to/page?q=1&x=y#frag", "http://foo.bar/baz.html", "www.google.com",
        "ftp://files.example.org/pub/file.tar.gz", "example.org", "https://en.wikipedia.org/wiki/Paris_(disambiguation)",
        "http://127.0.0.1:8000/ents", "https://user:pass@host.co.uk:8080/a/b/c/", "HTTPS://EXAMPLE.COM/UPPER",
        "http://xn--bcher-kva.example/", "https://münchen.de/straße", "bit.ly/3xYz", "http://a.b/c?d=e&f=g;h",
        "mailto:someone@example.com", "file:///etc/hosts", "https://t.co/AbCdEf123"]
EMAILS = ["john.doe@example.com", "a+b@c.co.uk", "<x@y.z>", "first_last@sub.domain.org", "USER@EXAMPLE.COM",
          "x@localhost", "o'brien@irish.ie", "名前@例え.jp", "test.email+alias@gmail.com"]
EMOJI = ["😀", "👍🏽", "🇫🇷", "🇺🇸🇬🇧", "👨\u200d👩\u200d👧\u200d👦", "🏳️\u200d🌈", "❤️", "👩🏾\u200d💻", "🤷\u200d♂️",
         ":)", ";-)", ":-(", "<3", "¯\\_(ツ)_/¯", "😂😂😂", "✨", "🎉🎉", "☕", "🧑\u200d🤝\u200d🧑", "1️⃣", "#️⃣",
         "😀Paris", "Paris😀", "(😀)"]
COMBINING = ["e\u0301", "Cafe\u0301", "n\u0303o", "Zu\u0308rich", "Z\u0351\u0346\u0327a\u0310l\u0323g\u0300o",
             "a\u0300\u0301\u0302\u0303", "\u0301", "\u20dd", "क्षत्रिय", "ก่ำ", "Ǆemal", "ﬁne", "Å", "A\u030a",
             "x\u0336y\u0336z\u0336"]
# Lone control and format characters; Python's str.isspace() holds for \x1c-\x1f, \x85, U+2028...
CONTROL = ["\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x1c", "\x1d", "\x1e", "\x1f", "\x7f",
           "\x85", "\x9f", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u2028", "\u2029", "\u00ad",
           "\u200e", "\u200f", "\u202e", "\u2066", "\u180e", "\ufffd", "\ufff9", "\U000e0001", "\U0010fffd"]
SPACES = ["\u00a0", "\u2009", "\u202f", "\u3000", "\u2002", "\u1680", "\t", "\r", "\n", "\r\n", "\n\n",
          " \r\n ", "\t\t", "  ", "   ", "\u00a0\u00a0"]
NON_LATIN = ["北京是中国的首都。", "東京は日本の首都です。", "서울은 한국의 수도입니다.", "القاهرة هي عاصمة مصر.",
             "ירושלים היא עיר.", "Москва — столица России.", "Η Αθήνα είναι η πρωτεύουσα.", "नई दिल्ली भारत की राजधानी है।",
             "กรุงเทพมหานคร", "თბილისი", "Երևան", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𝐁𝐨𝐥𝐝", "Ꭰ Ꭱ Ꭲ", "ᚠᚢᚦ", "İstanbul", "ǅ",
             "Ελλάδα", "Kraków", "São Paulo", "Ångström", "ß", "ΣΊΣΥΦΟΣ", "ﷺ", "Ⅻ", "①②③", "ｆｕｌｌｗｉｄｔｈ",
             "Владимир Путин", "習近平", "Hồ Chí Minh"]
NUMBERS = ["1,234,567.89", "3.14", "-42", "+7", "1e10", "10%", "½", "١٢٣", "²", "1st", "2nd", "23rd", "100km",
           "5'11\"", "0.5", ".5", "1,000", "10,000,000", "99.9%", "3/4", "#1", "No. 5", "6ft", "2x", "24/7",
           "555-1234", "(555) 123-4567", "+1-800-555-0199", "4.5/5", "1.2.3", "v2.0", "3rd-party", "٣", "১২৩", "१२३"]
MONEY = ["$5", "$5.00", "€10", "£3.50", "¥1000", "US$ 20", "5 USD", "$1.2bn", "Rs. 500", "$ 100", "€ 1,50",
         "$3.5 million", "£1bn", "20 dollars", "C$15", "A$", "₹2,000", "₩5000", "₿0.01", "$-5", "-$5", "$$$",
         "5¢", "USD 1,000.00", "£", "$.99"]
DATES = ["1/2/2023", "2023-01-02", "Jan. 5, 2020", "5 January 2023", "12:30pm", "3 p.m.", "'90s", "1990s",
         "Q3 2021", "Monday", "2023-01-02T12:30:00Z", "12/31/99", "31.12.1999", "the 1st of May", "Sept. 11",
         "10:00 a.m.", "noon", "yesterday", "FY2024", "1st January, 2000", "2:45:30", "'07", "mid-2010s",
         "20th century", "AD 79", "500 BC", "8am-5pm"]
WORDS = ["don't", "y'all", "I'm", "can't", "gonna", "won't", "'tis", "ma'am", "o'clock", "U.S.", "U.K.",
         "e.g.", "i.e.", "etc.", "Dr.", "Mr.", "Mrs.", "St.", "Jan.", "Inc.", "Ltd.", "a.m.", "vs.", "Ph.D.",
         "co-operate", "well-known", "New York-based", "rock'n'roll", "...", "…", "—", "–", "--", "“quoted”",
         "‘single’", "«guillemets»", "„German“", "(parens)", "[brackets]", "{braces}", "<angle>", "@user",
         "#hashtag", "C++", "C#", ".NET", "R&D", "AT&T", "x/y", "and/or", "he/she", "A-", "-B", "!!!", "?!",
         "'", "\"", "`", "``", "''", "''cause", "nothin'", "Paris'", "James's", "IT'S", "DON'T", "Ain't", "ain't",
         "ol'", "'em", "b/c", "w/", "w/o", "a-ok", ":", "::", "n't", "'s", "'S", "'ll", "'re", "'ve", "'d"]
ENTITY_WORDS = ["Paris", "France", "Angela Merkel", "Apple Inc.", "Google", "Barack Obama", "New York City",
                "the United Nations", "Microsoft", "Amazon", "Elon Musk", "London", "the European Union", "NASA",
                "World War II", "Christmas", "the Eiffel Tower", "Tesla", "IBM", "the Supreme Court", "Texas",
                "Mount Everest", "the Nile", "Harry Potter", "COVID-19", "iPhone", "the Beatles", "Shakespeare"]
# Characters spaCy's prefix, suffix and infix rules split off or between: long runs of them are quadratic
# in spaCy (a 300-character run tokenizes in about 0.01 s there), so runs of them stay that short.
AFFIX_CHARS = "()[]{}\"'`$!?.,:;-…*&%#+=/\\<>|~^@_£€¥§°"
AFFIX_RUN_MAX = 300
LETTERS_RUN_MAX = 2000
# Where rare characters are drawn from: (first, last, weight). Plane 3 holds CJK extension H, new in
# Unicode 15.0 (Python 3.11 knows 14.0); the planes above are mostly unassigned or private use.
RARE_RANGES = [(0x80, 0x2FFF, 40), (0x3000, 0xFFFF, 25), (0x10000, 0x1FFFF, 20), (0x20000, 0x3FFFF, 10),
               (0x40000, 0x10FFFF, 5)]
JOINTS = [" ", " ", " ", " ", "\n", "\r\n", "", "\u00a0", "\t", "  ", ". ", ", ", " - ", "\n\n"]

KINDS = [("golden", 30), ("entity", 8), ("url", 5), ("email", 4), ("emoji", 5), ("combining", 3), ("control", 5),
         ("space", 4), ("non_latin", 5), ("number", 4), ("money", 4), ("date", 4), ("word", 6), ("long", 2),
         ("rare", 4), ("glued", 4), ("adversarial", 1)]


def load_golden_texts(golden_dir):
    texts = []
    for path in sorted(glob.glob(os.path.join(golden_dir, "*.jsonl"))):
        with open(path, encoding="utf-8") as f:
            for line in f:
                text = json.loads(line)["text"]
                if text:
                    texts.append(text)
    if not texts:
        raise SystemExit("gen_texts: no golden texts in %s" % golden_dir)
    return texts


def load_adversarial():
    """tests/spacy/adversarial.py, when present and it has token(rng) -> str: long tokens of repeated affix
    characters. Without it the "adversarial" kind draws a long token of this file's own."""
    path = os.path.join(HERE, "adversarial.py")
    if not os.path.exists(path):
        return None
    spec = importlib.util.spec_from_file_location("adversarial", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod if hasattr(mod, "token") else None


def golden_piece(rng, texts):
    """A span of a golden text cut at spaces (or anywhere, now and then), cased as is, upper or lower."""
    text = rng.choice(texts)
    if len(text) > 400:
        words = text.split(" ")
        start = rng.randrange(len(words))
        text = " ".join(words[start:start + rng.randint(1, 60)])
    if rng.random() < 0.1 and len(text) > 2:
        a = rng.randrange(len(text))
        text = text[a:a + rng.randint(1, 80)]
    r = rng.random()
    if r < 0.1:
        text = text.upper()
    elif r < 0.2:
        text = text.lower()
    return text


def long_token(rng):
    r = rng.random()
    if r < 0.3:
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(50, LETTERS_RUN_MAX)))
    if r < 0.45:
        return rng.choice("aXé字") * rng.randint(100, LETTERS_RUN_MAX)
    if r < 0.7:
        return rng.choice(AFFIX_CHARS) * rng.randint(2, AFFIX_RUN_MAX)
    if r < 0.85:
        unit = "".join(rng.choice(AFFIX_CHARS + "ab1") for _ in range(rng.randint(2, 4)))
        return (unit * (AFFIX_RUN_MAX // len(unit)))[:rng.randint(4, AFFIX_RUN_MAX)]
    return "https://example.com/" + "/".join("seg%d" % i for i in range(rng.randint(10, 120)))


def rare_char(rng):
    """Any code point but a surrogate (which a Python str from UTF-8 cannot hold)."""
    lo, hi, _ = rng.choices(RARE_RANGES, [w for _, _, w in RARE_RANGES])[0]
    while True:
        cp = rng.randint(lo, hi)
        if not 0xD800 <= cp <= 0xDFFF:
            return chr(cp)


def rare_word(rng):
    """A word with rare characters mixed in among ASCII letters, digits and affix characters."""
    common = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" + AFFIX_CHARS
    return "".join(rare_char(rng) if rng.random() < 0.4 else rng.choice(common) for _ in range(rng.randint(1, 12)))


def item(rng, kind, texts, adversarial):
    if kind == "golden":
        return golden_piece(rng, texts)
    if kind == "long":
        return long_token(rng)
    if kind == "rare":
        return rare_word(rng)
    if kind == "glued":
        # Two to four items with nothing between them: an entity with a URL, a date on money...
        parts = [item(rng, rng.choice(("entity", "url", "email", "emoji", "number", "money", "date", "word",
                                       "non_latin", "combining", "control")), texts, adversarial)
                 for _ in range(rng.randint(2, 4))]
        return "".join(parts)
    if kind == "adversarial":
        if adversarial is not None:
            return adversarial.token(rng)
        return long_token(rng)
    table = {"entity": ENTITY_WORDS, "url": URLS, "email": EMAILS, "emoji": EMOJI, "combining": COMBINING,
             "control": CONTROL, "space": SPACES, "non_latin": NON_LATIN, "number": NUMBERS, "money": MONEY,
             "date": DATES, "word": WORDS}[kind]
    s = rng.choice(table)
    if kind not in ("control", "space") and rng.random() < 0.1:
        s = s.upper() if rng.random() < 0.5 else s.lower()
    return s


def make_text(rng, texts, adversarial):
    kinds, weights = zip(*KINDS)
    n = rng.choice((1, 1, 2, 3, 4, 5, 6, 8, 12))
    out = []
    for i in range(n):
        if i:
            out.append(rng.choice(JOINTS))
        out.append(item(rng, rng.choices(kinds, weights)[0], texts, adversarial))
    text = "".join(out)
    # Now and then glue a character in the middle of the text: a control or format character, or a space.
    if text and rng.random() < 0.15:
        at = rng.randrange(len(text) + 1)
        text = text[:at] + rng.choice(CONTROL + SPACES) + text[at:]
    return text


# The first texts of every run: nothing, and whitespace or one invisible character alone.
FIRST_TEXTS = ["", " ", "\n", "\r\n", "\t", "\x00", "\ufeff", "\u2028", "\u00a0", "\u200b", " \n "]


def generate(seed, count, golden_dir=DEFAULT_GOLDEN):
    rng = random.Random(seed)
    texts = load_golden_texts(golden_dir)
    adversarial = load_adversarial()
    first = FIRST_TEXTS[:count]
    return first + [make_text(rng, texts, adversarial) for _ in range(count - len(first))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--golden", default=DEFAULT_GOLDEN)
    args = ap.parse_args()
    for text in generate(args.seed, args.count, args.golden):
        print(json.dumps({"text": text}, ensure_ascii=False))


if __name__ == "__main__":
    main()
