"""`spacy-biobert serve`: a REST service and a web page for a loaded pipeline (FastAPI + uvicorn).

`app.create_app(nlp, ServeSettings(...))` builds the application; it needs the `serve` extra
(`pip install "spacy-biobert[serve]"`), which this package's `__init__` does not import, so the CLI
can read the settings' defaults without it.
"""
from .settings import ServeSettings

__all__ = ["ServeSettings"]
