"""Adversarial texts for the tokenizer (issue 20, item 3): long tokens that make a naive
affix loop quadratic, and the scripts and glued forms where spaCy's rules interact.

texts(size) returns (kind, text) pairs of about `size` characters each. spaCy's own tokenizer is
quadratic on most of them, so the differential test (test_adversarial_tokens.py) keeps the
size small; nerd's linear-time bounds run the same kinds at 1 MiB (tests/ner/test_tokenizer_linear.c
and bench/engine.c build them from their own table of units)."""

# A kind repeats its unit with no space in between: one long whitespace-delimited token.
UNITS = {
    # prefixes (stripped one by one from the front)
    "prefix-euro": "€",
    "prefix-dollar": "$",
    "prefix-paren": "(",
    "prefix-quote": '"',
    "prefix-hash": "#",
    "prefix-guillemet": "«",
    # suffixes (stripped one by one from the back)
    "suffix-paren": ")",
    "suffix-percent": "%",
    "suffix-quote": "”",
    "suffix-bang": "!",
    "suffix-apostrophe-s": "'s",
    "suffix-digit-euro": "1€",
    "suffix-digit-km": "1km",
    "suffix-degree": "°C.",
    # both, or infixes between letters and digits
    "apostrophe": "'",
    "dots": ".",
    "ellipsis": "…",
    "hyphen": "-",
    "en-dash": "–",
    "comma": ",",
    "colon": ":",
    "slash": "/",
    "infix-hyphen": "a-",
    "infix-dot": "a.",
    "infix-comma": "a,",
    "infix-three-dots": "a...",
    "infix-plus": "1+",
    "infix-colon": "a:",
    "infix-slash": "a/",
    # emoji: runs, skin tones, ZWJ sequences, flags, variation selectors
    "emoji": "😀",
    "emoji-skin-tone": "👍🏽",
    "emoji-zwj-family": "👨\u200d👩\u200d👧",
    "emoji-zwj-dangling": "😀\u200d",
    "emoji-flag": "🇫🇷",
    "emoji-vs16": "❤️",
    # combining marks
    "combining-acute": "e\u0301",
    "combining-alone": "\u0301",
    "combining-zalgo": "a\u0300\u0301\u0302\u0303\u0304",
    # scripts written without spaces
    "chinese": "自然语言处理很有趣。",
    "japanese": "日本語のテキストです、",
    "thai": "ภาษาไทยไม่มีช่องว่าง",
    # plain runs
    "letters": "a",
    "digits": "7",
    # URLs, e-mails and special cases glued to punctuation
    "url-glued": "(https://example.com/a?b=c).",
    "url-colons": "x.com/a:",
    "email-glued": "<a.b@example.com>,",
    "special-glued": "don't",
    "emoticon": ":)",
    "abbreviation": "U.S.",
    # mixes
    "mixed-punct": '("€1,000.00%)!',
    "mixed-scripts": "a中1€😀.",
}

# Kinds built around one long run: prefixes and suffixes wrapped around it.
WRAPPED = {
    "wrapped-euro": ("(", "€", ")"),
    "wrapped-dots": ("a", ".", "a"),
    "wrapped-quotes": ('"', "'", '"'),
    "wrapped-emoji": ("(", "😀", ")."),
}


def texts(size):
    """(kind, text) for every kind, each about `size` characters long (at least one unit)."""
    out = []
    for kind, unit in UNITS.items():
        out.append((kind, unit * max(1, size // len(unit))))
    for kind, (head, run, tail) in WRAPPED.items():
        n = max(1, (size - len(head) - len(tail)) // len(run))
        out.append((kind, head + run * n + tail))
    # from 700 characters on, every kind again cut into pieces of 7 characters separated by
    # spaces and a final newline: short spans, cut through affixes, ZWJ sequences and marks
    if size >= 700:
        for kind, text in list(out):
            out.append((kind + "-spaced", " ".join(text[i:i + 7] for i in range(0, 700, 7)) + "\n"))
    return out


# The differential test (gen_texts.py) draws from the same kinds: at most this many characters a
# token, so that spaCy's quadratic affix loop stays well under a second.
TOKEN_MAX_CHARS = 300


def token(rng):
    """One adversarial token of a random kind and length (1 to TOKEN_MAX_CHARS characters), for
    gen_texts.py's "adversarial" item."""
    size = rng.randint(1, TOKEN_MAX_CHARS)
    kinds = list(UNITS.items()) + list(WRAPPED.items())
    kind, unit = rng.choice(kinds)
    if isinstance(unit, tuple):
        head, run, tail = unit
        return head + run * max(1, (size - len(head) - len(tail)) // len(run)) + tail
    return unit * max(1, size // len(unit))
