"""`annotate()`: one resumable run of a pipeline over a corpus, on the local engine or on Ray."""
import functools
import threading
import warnings
import zlib
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Union

from spacy.language import Language
from tqdm import tqdm

from ..errors import AnnotateError, Errors, Warnings
from ..pipelines import check_pipeline
from .annotator import load_pipeline
from .blocks import iter_blocks
from .fingerprints import model_fingerprint
from .inputs import AUTO, InputFile, ReadOptions, count_documents, find_input_files
from .local_engine import run_local
from .lock import OutputLock
from .shards import RunSummary, ShardStore, run_files
from .writers import resolve_output_format

ENGINES = ("local", "ray")


def annotate(
    model: Union[str, Path, Language],
    inputs: Union[str, Path],
    output: Union[str, Path],
    *,
    input_format: str = AUTO,
    output_format: str = AUTO,
    id_field: str = "id",
    text_field: str = "text",
    shard_size: int = 1000,
    batch_size: int = 64,
    n_process: int = 1,
    gpu_id: int = -1,
    max_length: int = 0,
    code: Optional[Path] = None,
    engine: str = "local",
    ray_address: Optional[str] = None,
    num_actors: int = 0,
    cpus_per_actor: float = 1.0,
    gpus_per_actor: float = 0.0,
    overwrite: bool = False,
    progress: bool = True,
) -> RunSummary:
    """Annotate every document of `inputs` with `model` into `output`, resuming an interrupted run.

    Settings that change the output (model, inputs, formats, field names, shard size, max length) must
    be the same to resume, and the input files and model files unchanged; batch size, processes, GPU and
    engine may differ between attempts. OUTPUT is locked for the whole run: a second run on it fails at once.
    """
    if engine not in ENGINES:
        raise AnnotateError(Errors.E506.format(engine=engine, choices=", ".join(ENGINES)))
    for option, value, minimum in (("shard-size", shard_size, 1), ("batch-size", batch_size, 1)):
        if value < minimum:
            raise AnnotateError(Errors.E507.format(option=option, minimum=minimum, value=value))
    output = Path(output)
    out_format = resolve_output_format(str(output), output_format)
    options = ReadOptions(id_field=id_field, text_field=text_field)
    if engine == "ray" and isinstance(model, Language):
        raise AnnotateError(Errors.E508)
    if not isinstance(model, Language):
        check_pipeline(model)
    files = find_input_files(str(inputs), input_format, exclude=run_files(output))
    settings = {
        "model": _model_key(model),
        "inputs": [[file.name, file.format] for file in files],
        "output_format": out_format,
        "id_field": id_field,
        "text_field": text_field,
        "shard_size": shard_size,
        "max_length": max_length,
    }
    with OutputLock(output):
        store = ShardStore(output, settings, files, model_fingerprint(model))
        if store.open(overwrite=overwrite):
            return store.summary()
        _run(model, files, store, settings, options=options, shard_size=shard_size, batch_size=batch_size,
             n_process=n_process, gpu_id=gpu_id, max_length=max_length, code=code, engine=engine,
             ray_address=ray_address, num_actors=num_actors, cpus_per_actor=cpus_per_actor,
             gpus_per_actor=gpus_per_actor, progress=progress)
        return store.finalize(out_format)


def _run(model: Union[str, Path, Language], files: Sequence[InputFile], store: ShardStore, settings: Dict[str, Any],
         *, options: ReadOptions, shard_size: int, batch_size: int, n_process: int, gpu_id: int, max_length: int,
         code: Optional[Path], engine: str, ray_address: Optional[str], num_actors: int, cpus_per_actor: float,
         gpus_per_actor: float, progress: bool) -> None:
    """Annotate the blocks that have no shard yet, on the chosen engine, with a progress bar."""
    done, finished = store.done(), store.finished_files()
    with tqdm(desc="Annotating", unit=" docs", initial=store.count_done(), disable=not progress, smoothing=0.05) as bar:
        _count_in_background(files, bar)
        on_document = functools.partial(bar.update, 1)
        if engine == "ray":
            from .ray_engine import run_ray

            run_ray(
                settings["model"], files, store, shard_size=shard_size, done=done, finished=finished,
                options=options, batch_size=batch_size, max_length=max_length, code=code, address=ray_address,
                num_actors=num_actors, cpus_per_actor=cpus_per_actor, gpus_per_actor=gpus_per_actor,
                on_document=on_document,
            )
        else:
            nlp = load_pipeline(model, gpu_id=gpu_id, max_length=max_length, code=code)
            if not nlp.pipe_names:
                warnings.warn(Warnings.W501.format(model=settings["model"]))
            blocks = iter_blocks(files, shard_size, done, finished, options)
            run_local(nlp, blocks, store, batch_size=batch_size, n_process=n_process, on_document=on_document)


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
