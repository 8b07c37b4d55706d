# server.py - the seed article's server, in its shape: one module with a Flask app (for Gunicorn's
# sync and gevent workers) and a FastAPI app (for Uvicorn), the model spaCy itself loaded from the
# folder $NERD_MODEL by path, as in the article. SEED_ENGINE=nerd puts nerd's engine behind the same
# stacks instead (python/nerd), which isolates the serving stacks. SIMULATE_IO=0.1 adds the
# article's sleep.
import asyncio
import os
import time

import fastapi
import flask

# SEED_NER_ONLY=1: the ner component alone, in both engines (the seed's switch); else the
# whole pipeline spacy.load gives, whose parser's sentence starts the entities respect
NER_ONLY = os.environ.get("SEED_NER_ONLY") == "1"

if os.environ.get("SEED_ENGINE", "spacy") == "spacy":
    import pipelines

    _nlp = pipelines.load(os.environ["NERD_MODEL"], "ner" if NER_ONLY else "full")
else:
    import nerd

    _nlp = nerd.load(os.environ.get("NERD_MODEL"), pipeline="ner" if NER_ONLY else "full")


def ner(text):
    return {ent.text: ent.label_ for ent in _nlp(text).ents}

IO = float(os.environ.get("SIMULATE_IO", "0"))

# flask web server
flask_app = flask.Flask(__name__)


@flask_app.get("/")
def ner_flask():
    if IO:
        time.sleep(IO)  # do some IO operations
    text = flask.request.json.get("text")
    return ner(text)


# fastapi web server
fastapi_app = fastapi.FastAPI()


@fastapi_app.get("/")
async def ner_fastapi(request: fastapi.Request):
    if IO:
        await asyncio.sleep(IO)  # do some IO operations
    text = (await request.json()).get("text")
    return ner(text)
