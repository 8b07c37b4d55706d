"""spaCy's pipelines that nerd is measured against, from a model folder loaded by path (the folder
nerd serves, so both run the same weights):
  full       spacy.load(path) as the seed article's readers run it: tok2vec, tagger, parser,
             attribute_ruler, lemmatizer, ner;
  nerd-full  the components nerd's --pipeline full computes: the shared tok2vec, the parser and
             the ner (the tagger, attribute_ruler and lemmatizer change no entity);
  ner        the ner alone (it has its own tok2vec), as nerd's --pipeline ner."""
import os

import spacy

# what each pipeline keeps of the folder's config [nlp] pipeline; None keeps them all
KEEP = {"full": None, "nerd-full": ("tok2vec", "parser", "ner"), "ner": ("ner",)}


def load(path, pipeline):
    keep = KEEP[pipeline]
    names = spacy.util.load_config(os.path.join(path, "config.cfg"))["nlp"]["pipeline"]
    return spacy.load(path, exclude=[] if keep is None else [n for n in names if n not in keep])
