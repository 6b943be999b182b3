"""`spacy-biobert serve MODEL`: the pipeline behind a REST service and a web page, on uvicorn."""
from pathlib import Path
from typing import Optional

import typer

from ..errors import Errors
from ..serve.settings import ServeSettings
from ._app import app, fail

DEFAULTS = ServeSettings()


@app.command("serve")
def serve_cli(
    model: str = typer.Argument(..., metavar="MODEL", help="Pipeline to serve: a folder or an installed package name."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on; 0.0.0.0 opens it to the network."),
    port: int = typer.Option(8000, "--port", "-p", help="Port to listen on."),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU to use; -1 for CPU."),
    precision: str = typer.Option(
        "fp32", "--precision", "-P", help="Encoder precision: fp32, bf16, int8 (CPU) or auto (bf16 where native)."
    ),
    batch_size: int = typer.Option(
        DEFAULTS.batch_size, "--batch-size", "-b", help="Most texts of concurrent requests run in one nlp.pipe batch."
    ),
    max_wait_ms: float = typer.Option(
        DEFAULTS.max_wait_ms, "--max-wait-ms", help="How long a batch waits for more concurrent requests, in ms."
    ),
    max_text_chars: int = typer.Option(
        DEFAULTS.max_text_chars, "--max-text-chars", help="Longest text (or question) a request may send, in chars."
    ),
    max_texts: int = typer.Option(DEFAULTS.max_texts, "--max-texts", help="Most texts one request may send."),
    max_top_k: int = typer.Option(DEFAULTS.max_top_k, "--max-top-k", help="Most answers per text `/ask` returns."),
    code: Optional[Path] = typer.Option(
        None, "--code", "-c", help="Python file to import first, e.g. with custom components."
    ),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn's log level: info, warning, error, ..."),
) -> None:
    """Serve MODEL: POST /annotate and /ask, GET /health and /info, OpenAPI at /docs, a web page at /."""
    for option, value in (("batch-size", batch_size), ("max-text-chars", max_text_chars),
                          ("max-texts", max_texts), ("max-top-k", max_top_k)):
        if value < 1:
            fail(Errors.E507.format(option=option, minimum=1, value=value))
    try:
        import uvicorn

        from ..serve.app import create_app
    except ImportError as err:
        fail(Errors.E610.format(detail=err))
    from ..annotate.annotator import load_pipeline

    try:
        nlp = load_pipeline(model, gpu_id=gpu_id, code=code, precision=precision)
    except (OSError, ValueError, ImportError) as err:
        fail(Errors.E611.format(model=model, detail=" ".join(str(err).split())))
    settings = ServeSettings(max_text_chars=max_text_chars, max_texts=max_texts, max_top_k=max_top_k,
                             batch_size=batch_size, max_wait_ms=max_wait_ms)
    uvicorn.run(create_app(nlp, settings, model_name=model), host=host, port=port, log_level=log_level)
