"""The REST service of `spacy-biobert serve`: one loaded pipeline behind FastAPI.

- `POST /annotate` `{"text": ...}` → the record `spacy-biobert annotate` writes for it;
  `{"texts": [...]}` → the list of records (ids: the texts' positions).
- `POST /ask` `{"text" | "texts", "question", "top_k"}` → `{"question", "answers"}`: the ranked answers
  (character offsets, text, score) about the text, or a list of them, one per text.
- `GET /health`, `GET /info` (model, components, labels, versions, limits), OpenAPI at `/docs`, and the
  web page at `/` with its script and style under `/static/`, all served from the package.

Concurrent requests are micro-batched (`batching.MicroBatcher`) onto one pipeline thread, off the event
loop. Bad input is answered with a 4xx and a one-line `detail`; a text that makes the pipeline raise
fails its own request with a 500, and the server keeps serving. No request can name a file or a URL.
"""
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import asdict
from functools import partial
from importlib import resources
from typing import Any, AsyncIterator, Dict, List, Optional, Tuple, Union

import spacy
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from spacy.displacy.render import DEFAULT_LABEL_COLORS
from spacy.language import Language

from ..about import __version__
from ..errors import Errors
from .batching import MicroBatcher
from .settings import ServeSettings
from .jobs import AnnotateJob, AskJob, PipelineError, annotate_jobs, ask_jobs, job_size, qa_component_name

STATIC_FILES = {"page.js": "text/javascript", "page.css": "text/css"}
# Colours for labels displaCy has none for, in the spirit of its own.
LABEL_PALETTE = ("#7aecec", "#feca74", "#aa9cfc", "#bfeeb7", "#ff9561", "#c887fb", "#9cc9cc", "#ffeb80",
                 "#ff8197", "#e4e7d2", "#bfe1d9", "#f0d0ff")


class AnnotateRequest(BaseModel):
    """One text or a list of texts to annotate."""

    model_config = ConfigDict(extra="forbid", strict=True)
    text: Optional[str] = Field(None, description="A text to annotate; the answer is its record.")
    texts: Optional[List[str]] = Field(None, description="Texts to annotate; the answer is their records.")


class AskRequest(AnnotateRequest):
    """A question about one text or a list of texts."""

    question: str = Field(..., description="The question to answer from the text(s).")
    top_k: int = Field(5, ge=1, description="How many answers per text, best first.")


def create_app(nlp: Language, settings: ServeSettings = ServeSettings(), *, model_name: str = "") -> FastAPI:
    """The FastAPI application serving `nlp`; run it with uvicorn (as `spacy-biobert serve` does)."""
    model_name = model_name or f"{nlp.meta.get('lang', '')}_{nlp.meta.get('name', 'pipeline')}"
    qa_name = qa_component_name(nlp)
    max_chars = min(settings.max_text_chars, nlp.max_length)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spacy-biobert-pipeline")
        batching = {"executor": executor, "size": job_size, "max_items": settings.batch_size,
                    "max_wait": settings.max_wait_ms / 1000}
        app.state.annotate = MicroBatcher(partial(annotate_jobs, nlp, batch_size=settings.batch_size), **batching)
        app.state.ask = MicroBatcher(partial(ask_jobs, nlp, qa_name), **batching) if qa_name else None
        batchers = [b for b in (app.state.annotate, app.state.ask) if b is not None]
        for batcher in batchers:
            batcher.start()
        try:
            yield
        finally:
            for batcher in batchers:
                await batcher.stop()
            executor.shutdown(wait=True)

    app = FastAPI(
        title="spacy-biobert",
        version=__version__,
        description=f"Biomedical entities, relations and answers from the spaCy pipeline `{model_name}`.",
        lifespan=lifespan,
    )
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)

    def texts_of(body: AnnotateRequest) -> Tuple[List[str], bool]:
        """The request's texts and whether it sent one `text`; a 4xx for anything out of bounds."""
        if (body.text is None) == (body.texts is None) or body.texts == []:
            raise HTTPException(422, Errors.E603)
        single = body.text is not None
        texts = [body.text] if single else list(body.texts or [])
        if len(texts) > settings.max_texts:
            raise HTTPException(413, Errors.E606.format(count=len(texts), limit=settings.max_texts))
        for i, text in enumerate(texts):
            if not text.strip():
                raise HTTPException(422, Errors.E604.format(index=i))
            if len(text) > max_chars:
                raise HTTPException(413, Errors.E605.format(index=i, length=len(text), limit=max_chars))
        return texts, single

    @app.post("/annotate", summary="Entities and relations, as `spacy-biobert annotate` writes them")
    async def annotate(body: AnnotateRequest, request: Request) -> Union[Dict[str, Any], List[Dict[str, Any]]]:
        """`{"text": ...}` → one record; `{"texts": [...]}` → a list of records. A record:
        `{"id", "text", "entities": [{"start", "end", "text", "label", "score"}],
        "relations": [{"head", "tail", "label", "score"}]}` (head and tail index `entities`)."""
        texts, single = texts_of(body)
        records = await _run(request.app.state.annotate, AnnotateJob(texts))
        return records[0] if single else records

    @app.post("/ask", summary="Answers to a question, with character offsets into the text(s)")
    async def ask(body: AskRequest, request: Request) -> Dict[str, Any]:
        """`{"text", "question", "top_k"}` → `{"question", "answers": [{"start", "end", "text", "score"}]}`,
        best first; with `texts`, `answers` holds one such list per text."""
        if request.app.state.ask is None:
            raise HTTPException(501, Errors.E608.format(model=model_name))
        texts, single = texts_of(body)
        if not body.question.strip():
            raise HTTPException(422, Errors.E609)
        if len(body.question) > max_chars:
            raise HTTPException(413, Errors.E605.format(index="question", length=len(body.question), limit=max_chars))
        if body.top_k > settings.max_top_k:
            raise HTTPException(422, Errors.E602.format(detail=f"top_k: at most {settings.max_top_k}"))
        answers = await _run(request.app.state.ask, AskJob(body.question, texts, body.top_k))
        return {"question": body.question, "answers": answers[0] if single else answers}

    @app.get("/health", summary="Whether the server can annotate")
    async def health(request: Request) -> JSONResponse:
        ok = request.app.state.annotate.running
        return JSONResponse({"status": "ok" if ok else "unavailable"}, status_code=200 if ok else 503)

    info = _info(nlp, model_name, settings, max_chars, qa_name)

    @app.get("/info", summary="The model, its components and labels, versions and limits")
    async def get_info() -> Dict[str, Any]:
        return info

    page = _static_text("index.html")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(page)

    static = {name: _static_text(name) for name in STATIC_FILES}

    @app.get("/static/{name}", include_in_schema=False)
    async def static_file(name: str) -> Response:
        if name not in static:
            raise HTTPException(404, f"No static file {name!r}.")
        return Response(static[name], media_type=STATIC_FILES[name])

    return app


async def _run(batcher: MicroBatcher, job: Union[AnnotateJob, AskJob]) -> Any:
    try:
        return await batcher.submit(job)
    except PipelineError as err:
        raise HTTPException(500, str(err)) from err


def _info(
    nlp: Language, model_name: str, settings: ServeSettings, max_chars: int, qa_name: Optional[str]
) -> Dict[str, Any]:
    labels = {name: list(labels) for name, labels in nlp.pipe_labels.items()}
    all_labels = list(dict.fromkeys(label for names in labels.values() for label in names))
    colors = {}
    for label in all_labels:
        colors[label] = DEFAULT_LABEL_COLORS.get(label.upper(), LABEL_PALETTE[len(colors) % len(LABEL_PALETTE)])
    return {
        "model": model_name,
        "name": nlp.meta.get("name"),
        "lang": nlp.lang,
        "model_version": nlp.meta.get("version"),
        "components": {name: nlp.get_pipe_meta(name).factory for name in nlp.pipe_names},
        "labels": labels,
        "question_answering": qa_name is not None,
        "limits": {**asdict(settings), "max_text_chars": max_chars},
        "versions": {"spacy_biobert": __version__, "spacy": spacy.__version__},
        "colors": colors,
    }


def _static_text(name: str) -> str:
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf8")


def _one_line(text: str) -> str:
    return " ".join(text.split())


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's validation errors as one line: not JSON → 415, invalid JSON → 400, a wrong field → 422."""
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {"msg": "invalid request", "loc": ()}
    content_type = request.headers.get("content-type", "")
    if tuple(first.get("loc", ())) == ("body",) and content_type and "json" not in content_type:
        return JSONResponse({"detail": _one_line(Errors.E612.format(content_type=content_type))}, status_code=415)
    if first.get("type") == "json_invalid":
        detail = first.get("ctx", {}).get("error", first.get("msg", ""))
        return JSONResponse({"detail": _one_line(Errors.E601.format(detail=detail))}, status_code=400)
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body") or "body"
    return JSONResponse({"detail": _one_line(Errors.E602.format(detail=f"{where}: {first.get('msg')}"))},
                        status_code=422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"detail": _one_line(str(exc.detail))}, status_code=exc.status_code,
                        headers=getattr(exc, "headers", None))

