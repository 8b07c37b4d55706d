"""nerd from Python: spaCy-exact named entities through libnerd (ctypes, no compilation).

    import nerd
    ner = nerd.load()            # the model folder: path, else $NERD_MODEL, else as `nerd serve` (README)
    ner("Paris is in France.")   # {'Paris': 'GPE', 'France': 'GPE'}  -- the seed server's answer
    ner.ents("Paris is in France.")  # [('Paris', 'GPE', 0, 5), ('France', 'GPE', 12, 18)]

The library is found at $NERD_LIB, else build/libnerd.so of the repository this package is in.
A model may be used from many threads: each thread gets its own workspace."""
import ctypes
import os
import threading

__all__ = ["load", "Model", "NerdError"]

_here = os.path.dirname(os.path.abspath(__file__))
_lib = ctypes.CDLL(os.environ.get("NERD_LIB") or os.path.join(_here, "..", "..", "build", "libnerd.so"))


class _Ent(ctypes.Structure):
    _fields_ = [("start", ctypes.c_size_t), ("end", ctypes.c_size_t), ("start_char", ctypes.c_size_t),
                ("end_char", ctypes.c_size_t), ("start_byte", ctypes.c_size_t), ("end_byte", ctypes.c_size_t),
                ("label", ctypes.c_char_p)]


_lib.nerd_model_path.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]
_lib.nerd_model_load.restype = ctypes.c_void_p
_lib.nerd_model_load.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
_lib.nerd_model_free.argtypes = [ctypes.c_void_p]
_lib.nerd_doc_new.restype = ctypes.c_void_p
_lib.nerd_doc_free.argtypes = [ctypes.c_void_p]
_lib.nerd_ner.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int]
_lib.nerd_doc_nents.restype = ctypes.c_size_t
_lib.nerd_doc_nents.argtypes = [ctypes.c_void_p]
_lib.nerd_doc_ent.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(_Ent)]
_lib.nerd_strerror.restype = ctypes.c_char_p
_lib.nerd_model_has_pipeline.argtypes = [ctypes.c_void_p, ctypes.c_int]
_lib.nerd_model_pipeline_error.restype = ctypes.c_char_p
_lib.nerd_model_pipeline_error.argtypes = [ctypes.c_void_p, ctypes.c_int]


class NerdError(Exception):
    pass


class Model:
    """A loaded model: call it on a text for the seed's {entity_text: label} dict."""

    def __init__(self, path=None, pipeline="full"):
        out, err = ctypes.create_string_buffer(4096), ctypes.create_string_buffer(1024)
        if _lib.nerd_model_path(path.encode() if path else None, out, 4096, err, 1024):
            raise NerdError(err.value.decode())
        self._m = _lib.nerd_model_load(out.value, None, err, 1024)
        if not self._m:
            raise NerdError(err.value.decode())
        self._pipeline = {"ner": 0, "full": 1}[pipeline]
        if not _lib.nerd_model_has_pipeline(self._m, self._pipeline):
            why = _lib.nerd_model_pipeline_error(self._m, self._pipeline)
            _lib.nerd_model_free(self._m)
            self._m = None
            raise NerdError("cannot run the %s pipeline: %s" % (pipeline, why.decode() if why else "unknown"))
        self._local = threading.local()
        self._docs = []

    def _doc(self):
        d = getattr(self._local, "doc", None)
        if d is None:
            d = self._local.doc = _lib.nerd_doc_new()
            self._docs.append(d)
        return d

    def _run(self, text):
        data = text.encode("utf-8")
        doc = self._doc()
        st = _lib.nerd_ner(self._m, doc, data, len(data), self._pipeline)
        if st:
            raise NerdError(_lib.nerd_strerror(st).decode())
        e = _Ent()
        for i in range(_lib.nerd_doc_nents(doc)):
            _lib.nerd_doc_ent(doc, i, ctypes.byref(e))
            yield data[e.start_byte:e.end_byte].decode("utf-8"), e.label.decode(), e.start_char, e.end_char

    def __call__(self, text):
        return {t: label for t, label, _, _ in self._run(text)}

    def ents(self, text):
        return list(self._run(text))

    def __del__(self):
        for d in getattr(self, "_docs", []):
            _lib.nerd_doc_free(d)
        if getattr(self, "_m", None):
            _lib.nerd_model_free(self._m)
            self._m = None


def load(path=None, pipeline="full"):
    return Model(path, pipeline)
