"""`annotate()`: one resumable run of a pipeline over a corpus, on the local engine or on Ray."""
import functools
import threading
import zlib
from pathlib import Path
from typing import Any, Optional, Sequence, Union

from spacy.language import Language
from tqdm import tqdm

from ..errors import AnnotateError, Errors
from .annotator import load_pipeline
from .blocks import iter_blocks
from .inputs import AUTO, InputFile, ReadOptions, count_documents, find_input_files
from .local_engine import run_local
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
    be the same to resume; batch size, processes, GPU and engine may differ between attempts.
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
    files = find_input_files(str(inputs), input_format, exclude=run_files(output))
    settings = {
        "model": _model_key(model),
        "inputs": [[file.name, file.format, file.size] for file in files],
        "output_format": out_format,
        "id_field": id_field,
        "text_field": text_field,
        "shard_size": shard_size,
        "max_length": max_length,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    store = ShardStore(output, settings)
    if store.open(overwrite=overwrite):
        return store.summary()
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
            blocks = iter_blocks(files, shard_size, done, finished, options)
            run_local(nlp, blocks, store, batch_size=batch_size, n_process=n_process, on_document=on_document)
    return store.finalize(out_format)


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
