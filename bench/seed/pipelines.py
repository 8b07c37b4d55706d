"""spaCy's pipelines that nerd is measured against, from a model folder loaded by path (the folder
nerd serves, so both run the same weights):
  full       spacy.load(path) as the seed article's readers run it: tok2vec, tagger, parser,
             attribute_ruler, lemmatizer, ner;
  nerd-full  the components nerd's --pipeline full computes: the shared tok2vec, the parser and
             the ner (the tagger, attribute_ruler and lemmatizer change no entity);
  ner        the ner alone, as nerd's --pipeline ner: with the tok2vec it listens to when it has no
             tok2vec of its own (a custom pipeline of `spacy init config`; en_core_web_sm's ner has one)."""
import os

import spacy

# what each pipeline keeps of the folder's config [nlp] pipeline; None keeps them all
KEEP = {"full": None, "nerd-full": ("tok2vec", "parser", "ner")}


def ner_only_exclude(nlp):
    """What nerd's --pipeline ner leaves out of a loaded pipeline: every component but ner and a tok2vec
    that ner listens to (for en_core_web_sm: tok2vec, tagger, parser, senter, attribute_ruler, lemmatizer)."""
    keep = {"ner"} | {name for name in nlp.component_names
                      if "ner" in getattr(nlp.get_pipe(name), "listening_components", ())}
    return [name for name in nlp.component_names if name not in keep]


def load(path, pipeline):
    if pipeline == "ner":
        return spacy.load(path, exclude=ner_only_exclude(spacy.load(path)))
    keep = KEEP[pipeline]
    names = spacy.util.load_config(os.path.join(path, "config.cfg"))["nlp"]["pipeline"]
    return spacy.load(path, exclude=[] if keep is None else [n for n in names if n not in keep])
