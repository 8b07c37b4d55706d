# server.py - the seed article's server, in its shape: one module with a Flask app (for Gunicorn's
# sync and gevent workers) and a FastAPI app (for Uvicorn). The model is nerd's engine through its
# Python binding, so a comparison with `nerd serve` isolates the serving stacks; with
# SEED_USE_SPACY=1 it is spaCy itself, as in the article. SIMULATE_IO=0.1 adds the article's sleep.
import asyncio
import os
import time

import fastapi
import flask

if os.environ.get("SEED_USE_SPACY") == "1":
    import spacy

    _nlp = spacy.load(os.environ.get("NERD_MODEL", "en_core_web_sm"))

    def ner(text):
        return {ent.text: ent.label_ for ent in _nlp(text).ents}
else:
    import nerd

    ner = nerd.load(os.environ.get("NERD_MODEL"))

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
