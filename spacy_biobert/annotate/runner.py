"""`annotate()`: one resumable run of a pipeline over a corpus, on the local engine or on Ray."""
import functools
import threading
import warnings
import zlib
from pathlib import Path
from typing import Any, Sequence, Union

from spacy.language import Language
from tqdm import tqdm

from ..errors import AnnotateError, Errors, Warnings
from ..pipelines import check_pipeline
from .annotator import load_pipeline
from .blocks import iter_blocks
from .fingerprints import model_fingerprint
from .inputs import InputFile, count_documents, find_input_files
from .local_engine import run_local
from .lock import OutputLock
from .settings import AnnotateSettings
from .shards import RunSummary, ShardStore, run_files
from .writers import resolve_output_format

ENGINES = ("local", "ray")


def annotate(
    model: Union[str, Path, Language],
    inputs: Union[str, Path],
    output: Union[str, Path],
    settings: AnnotateSettings = AnnotateSettings(),
) -> RunSummary:
    """Annotate every document of `inputs` with `model` into `output`, resuming an interrupted run.

    Settings that change the output (model, inputs, formats, field names, shard size, max length) must
    be the same to resume, and the input files and model files unchanged; batch size, sort buffer, processes,
    GPU, precision and engine may differ between attempts. OUTPUT is locked for the whole run: a second run on
    it fails at once.
    """
    if settings.engine not in ENGINES:
        raise AnnotateError(Errors.E506.format(engine=settings.engine, choices=", ".join(ENGINES)))
    for option, value, minimum in (("shard-size", settings.shard_size, 1), ("batch-size", settings.batch_size, 1),
                                   ("sort-buffer", settings.sort_buffer, 1)):
        if value < minimum:
            raise AnnotateError(Errors.E507.format(option=option, minimum=minimum, value=value))
    output = Path(output)
    out_format = resolve_output_format(str(output), settings.output_format)
    if settings.engine == "ray" and isinstance(model, Language):
        raise AnnotateError(Errors.E508)
    if not isinstance(model, Language):
        check_pipeline(model)
    files = find_input_files(str(inputs), settings.input_format, exclude=run_files(output))
    manifest = {
        "model": _model_key(model),
        "inputs": [[file.name, file.format] for file in files],
        "output_format": out_format,
        "id_field": settings.id_field,
        "text_field": settings.text_field,
        "shard_size": settings.shard_size,
        "max_length": settings.max_length,
    }
    with OutputLock(output):
        store = ShardStore(output, manifest, files, model_fingerprint(model))
        if store.open(overwrite=settings.overwrite):
            return store.summary()
        _run(model, files, store, settings)
        return store.finalize(out_format)


def _run(model: Union[str, Path, Language], files: Sequence[InputFile], store: ShardStore,
         settings: AnnotateSettings) -> None:
    """Annotate the blocks that have no shard yet, on the chosen engine, with a progress bar."""
    done, finished = store.done(), store.finished_files()
    with tqdm(desc="Annotating", unit=" docs", initial=store.count_done(), disable=not settings.progress,
              smoothing=0.05) as bar:
        _count_in_background(files, bar)
        on_document = functools.partial(bar.update, 1)
        if settings.engine == "ray":
            from .ray_engine import run_ray

            run_ray(_model_key(model), files, store, settings, done=done, finished=finished, on_document=on_document)
        else:
            nlp = load_pipeline(model, gpu_id=settings.gpu_id, max_length=settings.max_length, code=settings.code,
                                precision=settings.precision)
            if not nlp.pipe_names:
                warnings.warn(Warnings.W501.format(model=_model_key(model)))
            blocks = iter_blocks(files, settings.shard_size, done, finished, settings.read_options)
            run_local(nlp, blocks, store, batch_size=settings.batch_size, n_process=settings.n_process,
                      sort_buffer=settings.sort_buffer, on_document=on_document)


def _model_key(model: Union[str, Path, Language]) -> str:
    """How the manifest names the model: a folder's absolute path, a package's name, a Language's meta."""
    if isinstance(model, Language):
        return f"{model.lang}_{model.meta.get('name', '')}-{model.meta.get('version', '')}"
    path = Path(model)
    return str(path.resolve()) if path.exists() else str(model)


def _count_in_background(files: Sequence[InputFile], bar: Any) -> None:
    """Give the progress bar its total (for the ETA) from a fast scan of the inputs, without waiting for it."""

    def count() -> None:
        try:
            total = sum(count_documents(file) for file in files)
        except (OSError, EOFError, zlib.error):
            return
        bar.total = total
        bar.refresh()

    threading.Thread(target=count, daemon=True).start()
