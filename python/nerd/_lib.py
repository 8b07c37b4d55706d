"""ctypes declarations of include/nerd.h, the only API the package uses.

The library is $NERD_LIB when set, else the libnerd.so installed inside this package (pip install
builds it into the wheel), else build/libnerd.so of the clone this file sits in (PYTHONPATH=python
in a built clone). ctypes releases the GIL for every foreign call, so the pipeline runs in
parallel on several threads, each with its own nerd_doc."""
import ctypes
import os

_here = os.path.dirname(os.path.abspath(__file__))
# where the library is looked for, in order
LIB_CANDIDATES = [os.path.join(_here, "libnerd.so"), os.path.join(_here, "..", "..", "build", "libnerd.so")]


def _find_lib():
    if os.environ.get("NERD_LIB"):
        return os.environ["NERD_LIB"]
    for path in LIB_CANDIDATES:
        if os.path.exists(path):
            return path
    raise ImportError("libnerd.so not found: looked at $NERD_LIB (not set), " + ", ".join(LIB_CANDIDATES)
                      + "; `pip install .` in the clone builds it into the package")


_path = _find_lib()
# lib's calls release the GIL (the pipeline, loading); held's keep it: the per-token accessors take
# well under a microsecond, and dropping the GIL for each would hand it between pipe()'s threads
# thousands of times a document
lib, held = ctypes.CDLL(_path), ctypes.PyDLL(_path)

c_size_t, c_int, c_char_p, c_void_p = ctypes.c_size_t, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p

# nerd_status, in include/nerd.h's order
NERD_OK, NERD_ERR_IO, NERD_ERR_FORMAT, NERD_ERR_UNSUPPORTED, NERD_ERR_NOMEM, NERD_ERR_UTF8 = range(6)
PIPELINES = {"ner": 0, "full": 1, "doc": 2}  # nerd_pipeline
# nerd_doc_annotations' bits (NERD_ANNOT_*), spaCy's doc.has_annotation names
ANNOT_BITS = {"TAG": 1 << 0, "POS": 1 << 1, "MORPH": 1 << 2, "LEMMA": 1 << 3, "DEP": 1 << 4, "SENT_START": 1 << 5,
              "ENT_IOB": 1 << 6}
MODEL_PATH_MAX, ERR_MAX = 4096, 1024


class Str(ctypes.Structure):
    _fields_ = [("ptr", c_void_p), ("len", c_size_t)]


class Token(ctypes.Structure):
    _fields_ = [("text", Str), ("idx", c_size_t), ("byte_start", c_size_t), ("nchars", c_size_t), ("ws", c_int),
                ("is_space", c_int), ("norm", Str), ("prefix", Str), ("suffix", Str), ("shape", Str),
                ("norm_hash", ctypes.c_uint64), ("prefix_hash", ctypes.c_uint64), ("suffix_hash", ctypes.c_uint64),
                ("shape_hash", ctypes.c_uint64)]


class TokenAnnot(ctypes.Structure):
    _fields_ = [("tag", Str), ("pos", Str), ("morph", Str), ("lemma", Str)]


class Ent(ctypes.Structure):
    _fields_ = [("start", c_size_t), ("end", c_size_t), ("start_char", c_size_t), ("end_char", c_size_t),
                ("start_byte", c_size_t), ("end_byte", c_size_t), ("label", c_char_p), ("ent_id", c_char_p)]


def _declare(name, restype, *argtypes, on=lib):
    fn = getattr(on, name)
    fn.restype, fn.argtypes = restype, list(argtypes)


_declare("nerd_strerror", c_char_p, c_int)
_declare("nerd_status_name", c_char_p, c_int)
_declare("nerd_model_path", c_int, c_char_p, c_char_p, c_size_t, c_char_p, c_size_t)
_declare("nerd_model_load", c_void_p, c_char_p, ctypes.POINTER(c_int), c_char_p, c_size_t)
_declare("nerd_model_free", None, c_void_p)
_declare("nerd_model_name", c_char_p, c_void_p)
_declare("nerd_model_version", c_char_p, c_void_p)
_declare("nerd_model_lang", c_char_p, c_void_p)
_declare("nerd_model_dir", c_char_p, c_void_p)
_declare("nerd_model_nlabels", c_size_t, c_void_p)
_declare("nerd_model_label", c_char_p, c_void_p, c_size_t)
_declare("nerd_model_pipeline_error", c_char_p, c_void_p, c_int)
_declare("nerd_model_noun_chunks_error", c_char_p, c_void_p)
_declare("nerd_model_default_pipeline", c_int, c_void_p)
_declare("nerd_precision_parse", c_int, c_char_p, ctypes.POINTER(c_int))
_declare("nerd_precision_name", c_char_p, c_int)
_declare("nerd_model_set_precision", c_int, c_void_p, c_int)
_declare("nerd_model_precision", c_int, c_void_p)
_declare("nerd_doc_new", c_void_p)
_declare("nerd_doc_free", None, c_void_p)
_declare("nerd_ner", c_int, c_void_p, c_void_p, c_char_p, c_size_t, c_int)
_declare("nerd_doc_ntokens", c_size_t, c_void_p, on=held)
_declare("nerd_doc_token", c_int, c_void_p, c_size_t, ctypes.POINTER(Token), on=held)
_declare("nerd_doc_nents", c_size_t, c_void_p, on=held)
_declare("nerd_doc_ent", c_int, c_void_p, c_size_t, ctypes.POINTER(Ent), on=held)
_declare("nerd_doc_nspan_groups", c_size_t, c_void_p, on=held)
_declare("nerd_doc_span_group", c_char_p, c_void_p, c_size_t, ctypes.POINTER(c_size_t), on=held)
_declare("nerd_doc_span", c_int, c_void_p, c_size_t, c_size_t, ctypes.POINTER(Ent), on=held)
_declare("nerd_doc_sent_start", c_int, c_void_p, c_size_t, on=held)
_declare("nerd_doc_head", c_int, c_void_p, c_size_t, ctypes.POINTER(c_size_t), ctypes.POINTER(c_char_p), on=held)

_declare("nerd_doc_annotations", ctypes.c_uint, c_void_p, on=held)
_declare("nerd_doc_token_annot", c_int, c_void_p, c_size_t, ctypes.POINTER(TokenAnnot), on=held)
_declare("nerd_doc_nnoun_chunks", c_size_t, c_void_p, on=held)
_declare("nerd_doc_noun_chunk", c_int, c_void_p, c_size_t, ctypes.POINTER(c_size_t), ctypes.POINTER(c_size_t), on=held)


def strerror(status):
    return lib.nerd_strerror(status).decode()
