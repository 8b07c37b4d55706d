"""Texts in the languages of nerd's language table (src/text/lang.c), deterministic from a seed.

Two kinds per language:
  - paragraphs of the translated manual pages Debian ships (manpages-de, -es, -fr, -it, -nl,
    -pt-br, -ru, -el, -zh: .ci/deps.sh installs them), the roff markup taken off;
  - composed texts that aim at what the language's Python code decides: its stop words and number
    words (spaCy's own lists, in lower, Title and UPPER case), numbers written the ways its
    like_num reads them (signs, separators, fractions, percents, ordinals, carets), its
    punctuation, elisions and quotes, joined by varied whitespace.
Man pages give as many paragraphs as they have (Greek has few); composed texts make up the rest.

    build/venv/bin/python tests/spacy/lang_texts.py --lang fr [--count 400] [--seed 7] > fr.jsonl
"""
import argparse
import glob
import gzip
import importlib
import json
import os
import random
import re

MAN_ROOT = "/usr/share/man"
MAN_DIRS = {"de": ["de"], "es": ["es"], "fr": ["fr"], "it": ["it"], "nl": ["nl"], "pt": ["pt_BR", "pt"],
            "ru": ["ru"], "el": ["el"], "zh": ["zh_CN", "zh_TW"], "en": []}
# the lex_attrs lists of each language whose words like_num looks up
NUM_LISTS = ["_num_words", "_ordinal_words", "_single_num_words", "_count_num_words", "_base_num_words"]
NUMBERS = ["3", "-3", "+3", "±3", "~3", "12,5", "1.000.000", "1,000.5", "3/4", "3/4/5", "-3/4", "50%", "-50%",
           "2^10", "2^", "^3", "1º", "2ª", "21st", "2nd", "3rd", "4th", "11TH", "½", "٣", "²", "१२", "3.", ".5",
           "10.000,00", "2024", "1/", "/2", "5%%", "%", "+", "-", "12:30", "3x", "1e5", "VIII", "xx", "iv"]
PUNCT = [",", ".", "!", "?", ";", ":", "...", "…", "«", "»", "„", "“", "”", "‘", "’", "'", '"', "(", ")", "[", "]",
         "—", "–", "-", "¿", "¡", "·", "。", "，", "、", "！", "？", "：", "（", "）", "《", "》", "€", "$", "£", "§"]
LANG_BITS = {
    "fr": ["l'", "d'", "qu'", "j'", "aujourd'hui", "c'est-à-dire", "Saint-Étienne", "peut-être", "M.", "Mme",
           "n°", "etc.", "vis-à-vis", "prud'homme", "L’État", "jusqu’à"],
    "de": ["z.B.", "d.h.", "usw.", "Nr.", "Str.", "GmbH", "ß", "Straße", "'s", "geht's", "Dr.", "bzw."],
    "es": ["¿Qué?", "¡Hola!", "Sr.", "Sra.", "EE.UU.", "n.º", "1.º", "pág.", "etc."],
    "it": ["dell'", "l'", "un'", "c'è", "po'", "sig.", "ecc.", "nell’", "all'"],
    "nl": ["'s-Hertogenbosch", "'t", "m.a.w.", "bijv.", "d.w.z.", "z'n", "enz."],
    "pt": ["d'água", "Sr.", "Dra.", "n.º", "1º", "2ª", "etc.", "pág."],
    "ru": ["т.е.", "т.д.", "г.", "руб.", "во-первых", "и т.п.", "Ё", "ё"],
    "el": ["π.χ.", "κ.λπ.", "δηλ.", "ΤΡΕΙΣ", "Σ", "σ", "ς", "ΟΔΟΣ", "Ά", "ΐ"],
    "zh": ["一百二十", "十一", "三千五百", "壹佰", "〇", "廿", "拾贰", "一十\n", "第一", "二〇二四年", "３", "：", "，"],
    "en": ["don't", "I'm", "U.S.", "e.g.", "twenty-one"],
}
URLS = ["https://www.example.org/a?b=c", "www.exemple.fr", "http://127.0.0.1:8000/ents", "ftp://x.y/z",
        "nom.prénom@exemple.fr", "user@example.com", "example.com/path", "файл.рф"]
JOINS = [" ", " ", " ", " ", "  ", "\n", "", "\t", "\u00a0", "\r\n", " \n "]


def roff_text(line):
    """A roff text line without its escapes."""
    line = re.sub(r"\\f(\[[^\]]*\]|\(..|.)", "", line)
    line = line.replace("\\,", "").replace("\\/", "")
    named = {"em": "—", "en": "–", "aq": "'", "dq": '"', "lq": "“", "rq": "”", "Fo": "«", "Fc": "»", "bu": "•",
             "oq": "‘", "cq": "’", "co": "©", "rg": "®", "mu": "×", "de": "°", "hy": "-", "ti": "~", "ha": "^"}
    line = re.sub(r"\\\((..)", lambda m: named.get(m.group(1), ""), line)
    line = re.sub(r"\\\[([^\]]*)\]", lambda m: named.get(m.group(1), ""), line)
    line = re.sub(r"\\\*(\(..|\[[^\]]*\]|.)", "", line)
    line = line.replace("\\-", "-").replace("\\e", "\\").replace("\\&", "").replace("\\~", " ").replace("\\ ", " ")
    line = re.sub(r"\\[|^0:c%]", "", line)
    return re.sub(r"\\(.)", r"\1", line)


def man_paragraphs(path):
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            src = f.read()
    except (UnicodeDecodeError, OSError, EOFError):
        return []
    paras, cur = [], []
    for raw in src.split("\n"):
        if raw.startswith(('.\\"', "'\\\"", '\\"')):
            continue
        if raw.startswith((".", "'")):
            m = re.match(r"[.'](SH|SS|B|I|BR|IR|RB|RI|BI|IB|TP|IP)\s+(.*)", raw)
            if m and m.group(1) in ("SH", "SS", "TP", "IP"):
                if cur:
                    paras.append(cur)
                cur = []
                continue
            if m:
                cur.append(roff_text(m.group(2).replace('"', "")))
            elif cur:
                paras.append(cur)
                cur = []
            continue
        if raw.strip():
            cur.append(roff_text(raw))
    if cur:
        paras.append(cur)
    return paras


def man_texts(lang, rng):
    files = []
    for d in MAN_DIRS[lang]:
        files += glob.glob(os.path.join(MAN_ROOT, d, "man*", "*.gz"))
    out, seen = [], set()
    for path in sorted(files):
        for lines in man_paragraphs(path):
            # joined by newlines as in the page or by spaces: both are texts a user sends
            text = ("\n" if rng.random() < 0.3 else " ").join(lines).strip()
            if 20 <= len(text) <= 1500 and len(text.split()) >= 3 and text not in seen:
                seen.add(text)
                out.append(text)
    rng.shuffle(out)
    return out


def word_lists(lang):
    import spacy
    cls = spacy.util.get_lang_class(lang)
    stops = sorted(cls.Defaults.stop_words)
    nums = []
    try:
        mod = importlib.import_module("spacy.lang.%s.lex_attrs" % lang)
        for name in NUM_LISTS:
            nums += sorted(getattr(mod, name, []))
    except ImportError:
        pass
    return stops, nums


def cased(rng, w):
    r = rng.random()
    return w.upper() if r < 0.15 else w.title() if r < 0.35 else w


def composed(lang, rng, stops, nums, man_words):
    items = []
    for _ in range(rng.randint(4, 30)):
        kind = rng.random()
        if kind < 0.25 and stops:
            items.append(cased(rng, rng.choice(stops)))
        elif kind < 0.45 and nums:
            w = cased(rng, rng.choice(nums))
            items.append(rng.choice(["", "", "-", "+"]) + w + rng.choice(["", "", "%", ".", ","]))
        elif kind < 0.6:
            items.append(rng.choice(NUMBERS))
        elif kind < 0.72:
            items.append(rng.choice(PUNCT))
        elif kind < 0.82:
            items.append(rng.choice(LANG_BITS.get(lang, [""])))
        elif kind < 0.85:
            items.append(rng.choice(URLS))
        elif man_words:
            items.append(rng.choice(man_words))
    text = ""
    for it in items:
        text += it + rng.choice(JOINS)
    return text


def generate(lang, seed, count, man_share=0.75):
    """count texts: up to man_share of them man-page paragraphs, the rest composed."""
    rng = random.Random("%s-%d" % (lang, seed))
    man = man_texts(lang, rng)[: int(count * man_share)]
    stops, nums = word_lists(lang)
    man_words = sorted({w for t in man for w in t.split()})[:5000]
    texts = list(man)
    while len(texts) < count:
        texts.append(composed(lang, rng, stops, nums, man_words))
    return texts, len(man)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lang", required=True)
    ap.add_argument("--count", type=int, default=400)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    texts, _ = generate(a.lang, a.seed, a.count)
    for t in texts:
        print(json.dumps({"text": t}, ensure_ascii=False))


if __name__ == "__main__":
    main()
