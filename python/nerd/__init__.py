"""nerd from Python: spaCy's Doc (entities, sentences, tags, parts of speech, morphology, lemmas,
the parse, noun chunks, doc.to_json()) through libnerd, with spaCy's names.

    import nerd
    nlp = nerd.load("en_core_web_sm")     # or a model folder's path
    doc = nlp("Paris is the capital of France.")
    [(e.text, e.label_, e.start_char, e.end_char) for e in doc.ents]
    [s.text for s in doc.sents]
    [(t.text, t.tag_, t.pos_, str(t.morph), t.lemma_, t.dep_, t.head.i) for t in doc]
    doc.to_json()
    for doc in nlp.pipe(texts, n_threads=2): ...   # in parallel: the GIL is released while nerd runs

A model is read-only once loaded and may be used from any number of threads: every call takes a
workspace (a nerd_doc) from the model's pool and gives it back, so a Doc holds plain Python data
and stays valid for good. Errors are NerdError: ModelError (also an OSError, as spacy.load's) when
a model cannot be found or loaded, InputError (also a ValueError, as spaCy's for a non-text) when
a text or an argument is refused; their messages are the library's."""
import collections
import concurrent.futures
import ctypes
import json
import os
import re
import threading
import weakref

from . import _lib
from ._lib import held, lib

__all__ = ["load", "Language", "Doc", "Span", "Token", "MorphAnalysis", "NerdError", "ModelError", "InputError", "__version__"]

try:  # installed: the clone the package was built from and its version (setup.py writes them)
    from ._build_info import CLONE_ROOT, VERSION as __version__
except ImportError:  # in the clone (PYTHONPATH=python)
    CLONE_ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    with open(os.path.join(CLONE_ROOT, "include", "nerd.h")) as _header:
        __version__ = re.search(r'#define NERD_VERSION "([^"]+)"', _header.read()).group(1)

# The one name the default search answers (it finds en_core_web_sm's folders, as `nerd serve`)
DEFAULT_MODEL_NAME = "en_core_web_sm"
# nerd_model_path's default folders (src/ner/engine.c), here looked for in the clone too
DEFAULT_MODEL_FOLDERS = ("models/en_core_web_sm-3.8.0", "../shared/models/en_core_web_sm")
# the components each pipeline runs; "doc" runs every enabled one, as spacy.load (meta.json's "pipeline")
PIPE_NAMES = {"full": ["tok2vec", "parser", "ner"], "ner": ["ner"]}
DEFAULT_BATCH_SIZE = 64
# batches submitted ahead of the one being yielded, per thread: enough to keep every thread busy
BATCHES_AHEAD_PER_THREAD = 2


class NerdError(Exception):
    """Every error nerd raises. `status` is the library's nerd_status name ("IO", "UTF8", ...) or None."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


class ModelError(NerdError, OSError):
    """A model folder is missing, unreadable, corrupt or cannot run the pipeline asked for."""


class InputError(NerdError, ValueError):
    """A text nerd refuses (not a str, a lone surrogate, too long) or an invalid argument."""


def _status_name(status):
    # the library's own table (NERD_STATUS_MAP), "NERD_ERR_IO" -> "IO", so no copy here can drift
    name = lib.nerd_status_name(status)
    return name.decode().replace("NERD_ERR_", "").replace("NERD_", "") if name else str(status)


def _find_model_folder(name):
    """The folder load(name) means: name itself when it is a folder or a path, else (name None or
    DEFAULT_MODEL_NAME) $NERD_MODEL, then the default folders in the clone, then in the working
    directory (nerd_model_path's search)."""
    if name is not None and (os.path.isdir(name) or os.sep in name or name.startswith(".")):
        return name  # a path: nerd_model_load says what is wrong with it
    if name is not None and name != DEFAULT_MODEL_NAME:
        raise ModelError("no model named %r: nerd finds %r by itself (README: the default search), any other "
                         "model by the path of its folder" % (name, DEFAULT_MODEL_NAME), "IO")
    in_clone = [os.path.normpath(os.path.join(CLONE_ROOT, f)) for f in DEFAULT_MODEL_FOLDERS]
    if not os.environ.get("NERD_MODEL"):
        for folder in in_clone:
            if os.path.isdir(folder):
                return folder
    out, err = ctypes.create_string_buffer(_lib.MODEL_PATH_MAX), ctypes.create_string_buffer(_lib.ERR_MAX)
    if lib.nerd_model_path(None, out, _lib.MODEL_PATH_MAX, err, _lib.ERR_MAX):
        message = err.value.decode(errors="replace")
        if not os.environ.get("NERD_MODEL"):
            message += "; in the clone: " + ", ".join(f + " (no such folder)" for f in in_clone)
        raise ModelError(message, "IO")
    return out.value.decode()


def load(name=None, *, pipeline=None, precision="fp32"):
    """Load a model: `name` is a model folder's path, or "en_core_web_sm" (or None) for the default
    search ($NERD_MODEL, else models/en_core_web_sm-3.8.0 of the clone nerd was installed from or of
    the working directory, else the stand-in ../shared/models/en_core_web_sm). pipeline "doc" is
    spacy.load(path): every enabled component (tagger, parser, attribute_ruler, lemmatizer, ner, ...),
    the whole Doc; "full" the tok2vec, parser and ner alone (the same entities, sentences and parse,
    no tags, morphology or lemmas); "ner" the ner alone (spacy.load(path, exclude=[all but ner])).
    None (the default) is what spacy.load(path) runs: "doc" when nerd computes every component of
    the folder, else "full" when it has a parser, else "ner". precision: "fp32" (spaCy's entities exactly), "bf16"
    or "int8" (README: precision)."""
    if not isinstance(name, (str, os.PathLike, type(None))):
        raise InputError("load(): a model name or a folder's path, not %s" % type(name).__name__, "ARG")
    if pipeline is not None and pipeline not in _lib.PIPELINES:
        raise InputError("load(): pipeline must be one of %s, not %r" % (", ".join(_lib.PIPELINES), pipeline), "ARG")
    precision_code = ctypes.c_int()
    if not isinstance(precision, str) or lib.nerd_precision_parse(precision.encode(), ctypes.byref(precision_code)):
        raise InputError("load(): precision must be fp32, bf16 or int8, not %r" % (precision,), "ARG")
    folder = _find_model_folder(None if name is None else os.fspath(name))
    status, err = ctypes.c_int(), ctypes.create_string_buffer(_lib.ERR_MAX)
    handle = lib.nerd_model_load(os.fsencode(folder), ctypes.byref(status), err, _lib.ERR_MAX)
    if not handle:
        raise ModelError(err.value.decode(errors="replace") or _lib.strerror(status.value), _status_name(status.value))
    if pipeline is None:
        if lib.nerd_model_pipeline_error(handle, _lib.PIPELINES["doc"]) is None:
            pipeline = "doc"
        else:  # what the server runs by default: the parser's pipeline when the folder has one
            code = lib.nerd_model_default_pipeline(handle)
            pipeline = next(p for p, c in _lib.PIPELINES.items() if c == code)
    why = lib.nerd_model_pipeline_error(handle, _lib.PIPELINES[pipeline])
    if why is None:
        status.value = lib.nerd_model_set_precision(handle, precision_code.value)
        why = None if status.value == _lib.NERD_OK else _lib.strerror(status.value).encode()
    if why is not None:
        lib.nerd_model_free(handle)
        raise ModelError("%s: cannot run the %s pipeline: %s" % (folder, pipeline, why.decode()), "UNSUPPORTED")
    return Language(handle, pipeline)


def _doc_pipe_names(folder):
    """spaCy's nlp.pipe_names for a folder: the enabled components meta.json lists."""
    with open(os.path.join(folder, "meta.json"), encoding="utf-8") as f:
        return list(json.load(f).get("pipeline", []))


def _free_model(handle, pool):
    for workspace in pool:
        lib.nerd_doc_free(workspace)
    pool.clear()
    lib.nerd_model_free(handle)


def _text_error(status, text):
    message = _lib.strerror(status)
    if status == _lib.NERD_ERR_UTF8:
        # a str is UTF-8 but for lone surrogates, which UTF-8 cannot encode: name the first
        at = next(i for i, c in enumerate(text) if 0xD800 <= ord(c) <= 0xDFFF)
        message += ": a lone surrogate U+%04X at index %d" % (ord(text[at]), at)
    return InputError(message, _status_name(status))


class Language:
    """A loaded model (nerd.load's answer): call it on a str for a Doc; pipe() for many."""

    def __init__(self, handle, pipeline):
        self._handle = handle
        self._pipeline_code = _lib.PIPELINES[pipeline]
        self.pipeline = pipeline
        self.path = lib.nerd_model_dir(handle).decode()
        self.pipe_names = _doc_pipe_names(self.path) if pipeline == "doc" else list(PIPE_NAMES[pipeline])
        self.lang = lib.nerd_model_lang(handle).decode()
        self.model_name = lib.nerd_model_name(handle).decode()
        self.model_version = lib.nerd_model_version(handle).decode()
        self.precision = lib.nerd_precision_name(lib.nerd_model_precision(handle)).decode()
        self.labels = tuple(lib.nerd_model_label(handle, i).decode() for i in range(lib.nerd_model_nlabels(handle)))
        refused = lib.nerd_model_noun_chunks_error(handle)
        # why doc.noun_chunks is refused (its language's syntax iterator), or None
        self._noun_chunks_error = refused.decode() if refused else None
        # idle workspaces; a call takes one (or makes one) and gives it back
        self._pool = []
        self._pool_lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _free_model, handle, self._pool)

    def __repr__(self):
        return "<nerd.Language %s %s (%s, %s) from %s>" % (self.model_name, self.model_version, self.pipeline,
                                                           self.precision, self.path)

    def __call__(self, text):
        with self._pool_lock:
            workspace = self._pool.pop() if self._pool else lib.nerd_doc_new()
        if not workspace:
            raise NerdError(_lib.strerror(_lib.NERD_ERR_NOMEM), "NOMEM")
        try:
            return self._run(workspace, text)
        finally:
            with self._pool_lock:
                self._pool.append(workspace)

    def _run(self, workspace, text):
        if not isinstance(text, str):
            raise InputError("expected a str as input, but got %s" % type(text).__name__, "ARG")
        # surrogatepass: a lone surrogate reaches the library, which refuses it as invalid UTF-8
        data = text.encode("utf-8", "surrogatepass")
        status = lib.nerd_ner(self._handle, workspace, data, len(data), self._pipeline_code)
        if status != _lib.NERD_OK:
            raise _text_error(status, text)
        return Doc._from_workspace(self, text, workspace)

    def pipe(self, texts, *, batch_size=DEFAULT_BATCH_SIZE, n_threads=1, as_tuples=False):
        """Docs for texts, in order, computed on n_threads threads (the GIL is released while nerd
        runs) in batches of batch_size texts. as_tuples: texts are (text, context) pairs and
        (doc, context) pairs come out. An error is raised where its text's doc would come."""
        if not isinstance(batch_size, int) or batch_size < 1:
            raise InputError("pipe(): batch_size must be a positive int, not %r" % (batch_size,), "ARG")
        if not isinstance(n_threads, int) or n_threads < 1:
            raise InputError("pipe(): n_threads must be a positive int, not %r" % (n_threads,), "ARG")
        items = iter(texts)
        if n_threads == 1:
            for item in items:
                yield (self(item[0]), item[1]) if as_tuples else self(item)
            return
        pool = concurrent.futures.ThreadPoolExecutor(n_threads, thread_name_prefix="nerd-pipe")
        pending = collections.deque()
        try:
            while True:
                batch = [item for _, item in zip(range(batch_size), items)]
                if batch:
                    pending.append(pool.submit(self._batch, batch, as_tuples))
                if pending and (not batch or len(pending) > BATCHES_AHEAD_PER_THREAD * n_threads):
                    for result in pending.popleft().result():
                        if isinstance(result, BaseException):
                            raise result
                        yield result
                elif not batch:
                    return
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _batch(self, batch, as_tuples):
        """The docs of a batch (the pairs with as_tuples), an exception in place of each that failed."""
        out = []
        for item in batch:
            try:
                out.append((self(item[0]), item[1]) if as_tuples else self(item))
            except Exception as e:  # raised by pipe() at this item's place
                out.append(e)
        return out


class Doc:
    """The answer for one text, spaCy's names: text, ents, sents, tokens (len(doc), doc[i], iteration)."""

    __slots__ = ("text", "lang_", "_idx", "_nchars", "_ws", "_is_space", "_sent_starts", "_heads", "_deps", "ents",
                 "spans", "_ent_of_token", "_annotations", "_tags", "_poses", "_morphs", "_lemmas", "_noun_chunks",
                 "__weakref__")

    @classmethod
    def _from_workspace(cls, nlp, text, workspace):
        doc = cls.__new__(cls)
        doc.text, doc.lang_ = text, nlp.lang
        n = held.nerd_doc_ntokens(workspace)
        tok = _lib.Token()
        tok_ref, get_token = ctypes.byref(tok), held.nerd_doc_token
        idx, nchars, ws, is_space = [0] * n, [0] * n, [False] * n, [False] * n
        for i in range(n):
            get_token(workspace, i, tok_ref)
            idx[i], nchars[i], ws[i], is_space[i] = tok.idx, tok.nchars, bool(tok.ws), bool(tok.is_space)
        doc._idx, doc._nchars, doc._ws, doc._is_space = idx, nchars, ws, is_space
        doc._sent_starts = doc._heads = doc._deps = None
        doc._annotations = held.nerd_doc_annotations(workspace)
        if nlp._pipeline_code != _lib.PIPELINES["ner"]:
            get_start, get_head = held.nerd_doc_sent_start, held.nerd_doc_head
            head, dep = ctypes.c_size_t(), ctypes.c_char_p()
            head_ref, dep_ref = ctypes.byref(head), ctypes.byref(dep)
            starts, heads, deps = [False] * n, [0] * n, [""] * n
            for i in range(n):
                starts[i] = get_start(workspace, i) == 1
                get_head(workspace, i, head_ref, dep_ref)
                heads[i], deps[i] = head.value, dep.value.decode()
            doc._sent_starts, doc._heads, doc._deps = starts, heads, deps
        doc._tags = doc._poses = doc._morphs = doc._lemmas = doc._noun_chunks = None
        if nlp._pipeline_code == _lib.PIPELINES["doc"]:
            doc._read_doc_annotations(workspace, n)
            if nlp._noun_chunks_error:
                doc._noun_chunks = nlp._noun_chunks_error  # a str: doc.noun_chunks raises it
        ent = _lib.Ent()
        ent_ref, get_ent = ctypes.byref(ent), held.nerd_doc_ent

        def span():
            return Span(doc, ent.start, ent.end, ent.label.decode(), ent.start_char, ent.end_char, ent.ent_id.decode())

        ents = []
        for i in range(held.nerd_doc_nents(workspace)):
            get_ent(workspace, i, ent_ref)
            ents.append(span())
        doc.ents = tuple(ents)
        # doc.spans: the span_rulers' groups, {spans_key: [Span]} (ent_id_: their root token's, as spaCy's)
        doc.spans, count = {}, ctypes.c_size_t()
        for g in range(held.nerd_doc_nspan_groups(workspace)):
            key = held.nerd_doc_span_group(workspace, g, ctypes.byref(count)).decode()
            group = doc.spans[key] = []
            for i in range(count.value):
                held.nerd_doc_span(workspace, g, i, ent_ref)
                group.append(span())
        doc._ent_of_token = None
        return doc

    def _read_doc_annotations(self, workspace, n):
        """The doc pipeline's tags, parts of speech, morphology, lemmas and noun chunks."""
        annot, string_at = _lib.TokenAnnot(), ctypes.string_at
        annot_ref, get_annot = ctypes.byref(annot), held.nerd_doc_token_annot
        tags, poses, morphs, lemmas = [""] * n, [""] * n, [""] * n, [""] * n
        for i in range(n):
            get_annot(workspace, i, annot_ref)
            tags[i] = string_at(annot.tag.ptr, annot.tag.len).decode() if annot.tag.len else ""
            poses[i] = string_at(annot.pos.ptr, annot.pos.len).decode() if annot.pos.len else ""
            morphs[i] = string_at(annot.morph.ptr, annot.morph.len).decode() if annot.morph.len else ""
            lemmas[i] = string_at(annot.lemma.ptr, annot.lemma.len).decode() if annot.lemma.len else ""
        self._tags, self._poses, self._morphs, self._lemmas = tags, poses, morphs, lemmas
        start, end = ctypes.c_size_t(), ctypes.c_size_t()
        chunks = []
        for c in range(held.nerd_doc_nnoun_chunks(workspace)):
            held.nerd_doc_noun_chunk(workspace, c, ctypes.byref(start), ctypes.byref(end))
            chunks.append((start.value, end.value))
        self._noun_chunks = chunks

    def has_annotation(self, attr):
        """spaCy's doc.has_annotation for TAG, POS, MORPH, LEMMA, DEP, SENT_START and ENT_IOB."""
        if attr not in _lib.ANNOT_BITS:
            raise InputError("has_annotation(): one of %s, not %r" % (", ".join(_lib.ANNOT_BITS), attr), "ARG")
        return bool(self._annotations & _lib.ANNOT_BITS[attr])

    def __len__(self):
        return len(self._idx)

    def __getitem__(self, i):
        if isinstance(i, slice):
            start, stop, step = i.indices(len(self))
            if step != 1:
                raise InputError("Doc slices take a step of 1", "ARG")
            return self._span(start, max(start, stop))
        n = len(self)
        if not isinstance(i, int) or not -n <= i < n:
            raise IndexError("token index %r out of range for a doc of %d tokens" % (i, n))
        return Token(self, i % n)

    def __iter__(self):
        return (Token(self, i) for i in range(len(self)))

    def __repr__(self):
        return self.text

    def __str__(self):
        return self.text

    def _span(self, start, end, label=""):
        """Tokens [start, end) as a Span (its characters: from the first's start to the last's end)."""
        if start == end:
            at = self._idx[start] if start < len(self) else len(self.text)
            return Span(self, start, end, label, at, at)
        return Span(self, start, end, label, self._idx[start], self._idx[end - 1] + self._nchars[end - 1])

    @property
    def sents(self):
        """The sentences (Spans) the parser found: full and doc pipelines only, as spaCy's (E030 otherwise)."""
        if self._sent_starts is None:
            raise InputError("sentence boundaries are unset: the ner pipeline has no parser; "
                             "load with pipeline=\"full\" for doc.sents", "ARG")
        return self._sentence_spans()

    def _sentence_spans(self):
        """The sentences; a doc without sentence starts (the ner pipeline: one token or none, where
        spaCy's has_annotation("SENT_START") holds) is one sentence."""
        starts = [i for i, s in enumerate(self._sent_starts or [True] * len(self)) if s or i == 0]
        return (self._span(a, b) for a, b in zip(starts, starts[1:] + [len(self)]))

    @property
    def noun_chunks(self):
        """The base noun phrases (Spans, label_ "NP"), spaCy's English or French syntax iterator: doc pipeline only."""
        if self._noun_chunks is None:
            raise InputError("noun chunks need the parse and the parts of speech: load with pipeline=\"doc\"", "ARG")
        if isinstance(self._noun_chunks, str):
            raise InputError(self._noun_chunks, "UNSUPPORTED")
        return (self._span(a, b, "NP") for a, b in self._noun_chunks)

    def to_json(self):
        """spaCy's doc.to_json(): text, ents and sents when annotated, the tokens with every field the
        doc's pipeline set (tag, pos, morph, lemma; dep and head), in spaCy's key order."""
        has = self.has_annotation
        data = {"text": self.text}
        if has("ENT_IOB"):
            data["ents"] = [{"start": e.start_char, "end": e.end_char, "label": e.label_} for e in self.ents]
        if has("SENT_START"):
            data["sents"] = [{"start": s.start_char, "end": s.end_char} for s in self._sentence_spans()]
        # (field, what has_annotation asks, the values), in to_json()'s order
        fields = [(key, attr, values) for key, attr, values in
                  (("tag", "TAG", self._tags), ("pos", "POS", self._poses), ("morph", "MORPH", self._morphs),
                   ("lemma", "LEMMA", self._lemmas), ("dep", "DEP", self._deps), ("head", "DEP", self._heads))
                  if has(attr) and values is not None]
        tokens = []
        for i in range(len(self)):
            token = {"id": i, "start": self._idx[i], "end": self._idx[i] + self._nchars[i]}
            for key, _, values in fields:
                token[key] = values[i]
            tokens.append(token)
        data["tokens"] = tokens
        if self.spans:
            data["spans"] = {key: [{"start": s.start_char, "end": s.end_char, "label": s.label_, "kb_id": ""}
                                   for s in group] for key, group in self.spans.items()}
        return data

    def _ent_index(self):
        """For each token the index of its entity in ents, or -1."""
        if self._ent_of_token is None:
            of = [-1] * len(self)
            for e, span in enumerate(self.ents):
                for i in range(span.start, span.end):
                    of[i] = e
            self._ent_of_token = of
        return self._ent_of_token


class Span:
    """Tokens [start, end) of a doc: an entity (label_, and ent_id_: the id of the entity_ruler
    pattern that made it, "" when none) or a sentence."""

    __slots__ = ("doc", "start", "end", "label_", "start_char", "end_char", "ent_id_")

    def __init__(self, doc, start, end, label_, start_char, end_char, ent_id_=""):
        self.doc, self.start, self.end, self.label_ = doc, start, end, label_
        self.start_char, self.end_char, self.ent_id_ = start_char, end_char, ent_id_

    @property
    def text(self):
        return self.doc.text[self.start_char:self.end_char]

    @property
    def text_with_ws(self):
        return self.text + (" " if self.end > self.start and self.doc._ws[self.end - 1] else "")

    def __len__(self):
        return self.end - self.start

    def __iter__(self):
        return (Token(self.doc, i) for i in range(self.start, self.end))

    def __getitem__(self, i):
        n = len(self)
        if not isinstance(i, int) or not -n <= i < n:
            raise IndexError("token index %r out of range for a span of %d tokens" % (i, n))
        return Token(self.doc, self.start + i % n)

    def __repr__(self):
        return self.text

    def __str__(self):
        return self.text


class Token:
    """Token i of a doc, spaCy's names."""

    __slots__ = ("doc", "i")

    def __init__(self, doc, i):
        self.doc, self.i = doc, i

    @property
    def idx(self):
        return self.doc._idx[self.i]

    @property
    def text(self):
        start = self.doc._idx[self.i]
        return self.doc.text[start:start + self.doc._nchars[self.i]]

    @property
    def whitespace_(self):
        return " " if self.doc._ws[self.i] else ""

    @property
    def text_with_ws(self):
        return self.text + self.whitespace_

    @property
    def is_space(self):
        return self.doc._is_space[self.i]

    @property
    def ent_iob_(self):
        e = self.doc._ent_index()[self.i]
        return "O" if e < 0 else "B" if self.doc.ents[e].start == self.i else "I"

    @property
    def ent_type_(self):
        e = self.doc._ent_index()[self.i]
        return "" if e < 0 else self.doc.ents[e].label_

    @property
    def ent_id_(self):
        e = self.doc._ent_index()[self.i]
        return "" if e < 0 else self.doc.ents[e].ent_id_

    @property
    def is_sent_start(self):
        """True or False with the full and doc pipelines; None (not computed) with the ner alone."""
        return None if self.doc._sent_starts is None else self.i == 0 or self.doc._sent_starts[self.i]

    @property
    def head(self):
        """The parser's head (a root is its own): full and doc pipelines only."""
        if self.doc._heads is None:
            raise InputError("no parse: the ner pipeline has no parser; load with pipeline=\"doc\" (or \"full\")", "ARG")
        return Token(self.doc, self.doc._heads[self.i])

    @property
    def dep_(self):
        """The parser's dependency label ("ROOT" for a root); "" with the ner alone."""
        return "" if self.doc._deps is None else self.doc._deps[self.i]

    @property
    def tag_(self):
        """The fine-grained tag (the tagger's): "" but with the doc pipeline."""
        return "" if self.doc._tags is None else self.doc._tags[self.i]

    @property
    def pos_(self):
        """The coarse part of speech (the attribute_ruler's): "" but with the doc pipeline."""
        return "" if self.doc._poses is None else self.doc._poses[self.i]

    @property
    def lemma_(self):
        """The lemmatizer's lemma: "" but with the doc pipeline."""
        return "" if self.doc._lemmas is None else self.doc._lemmas[self.i]

    @property
    def morph(self):
        """The morphological features (the attribute_ruler's), as spaCy's MorphAnalysis: str() is the
        UD FEATS string, "" when none or not computed."""
        return MorphAnalysis("" if self.doc._morphs is None else self.doc._morphs[self.i])

    @property
    def lang_(self):
        return self.doc.lang_

    def __len__(self):
        return self.doc._nchars[self.i]

    def __repr__(self):
        return self.text

    def __str__(self):
        return self.text


class MorphAnalysis:
    """A token's morphology as spaCy's MorphAnalysis shows it, over its UD FEATS string
    ("Number=Sing|PronType=Int,Rel"): str() and to_json() the string, iteration the features one
    value each ("PronType=Int", "PronType=Rel"), get(field) the field's values, to_dict()."""

    __slots__ = ("_feats",)
    FEATURE_SEP, FIELD_SEP, VALUE_SEP = "|", "=", ","

    def __init__(self, feats):
        self._feats = feats

    def _features(self):
        for feature in self._feats.split(self.FEATURE_SEP) if self._feats else ():
            field, values = feature.split(self.FIELD_SEP, 1)
            for value in values.split(self.VALUE_SEP):
                yield field, value

    def __iter__(self):
        return (field + self.FIELD_SEP + value for field, value in self._features())

    def __len__(self):
        return sum(1 for _ in self._features())

    def __contains__(self, feature):
        return feature in list(self)

    def __eq__(self, other):
        return isinstance(other, MorphAnalysis) and self._feats == other._feats

    def __hash__(self):
        return hash(self._feats)

    def get(self, field, default=None):
        values = [value for f, value in self._features() if f == field]
        return values if values else ([] if default is None else default)

    def to_dict(self):
        out = {}
        for field, value in self._features():
            out.setdefault(field, []).append(value)
        return {field: self.VALUE_SEP.join(sorted(values)) for field, values in out.items()}

    def to_json(self):
        return self._feats

    def __str__(self):
        return self._feats

    def __repr__(self):
        return self._feats
