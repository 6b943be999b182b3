"""The Ray engine: the same job on a Ray cluster (or a local Ray instance) with Ray Data.

One Ray Data pipeline: a row per pending input file → `flat_map` reads the file's pending blocks (a
row per document, in parallel over files) → `map_batches` with a pool of actors, each loading the
pipeline once (CPUs and GPUs per actor configurable) → the driver gathers each block's rows and writes
its shard as soon as the block is whole. Reading, records and shards are those of the local engine,
so both write the same output, and a run started on one engine can be resumed on the other.

Every node needs spacy-biobert installed and MODEL (and `--code`) at the same path, or MODEL as an
installed package.
"""
import json
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Set, Tuple

from ..errors import AnnotateError, Errors
from .annotator import annotate_items, load_pipeline
from .blocks import BlockKey, file_blocks
from .documents import InputDoc, InputFailure, Item, Passage
from .inputs import InputFile, ReadOptions
from .settings import AnnotateSettings
from .shards import ShardStore
from .writers import dump_json

RowBatch = Dict[str, Any]


def run_ray(
    model: str,
    files: Sequence[InputFile],
    store: ShardStore,
    settings: AnnotateSettings,
    *,
    done: Set[BlockKey],
    finished: Set[int],
    on_document: Callable[[], None],
) -> None:
    """Annotate the pending blocks on Ray and write their shards through `store`."""
    try:
        import ray
        import ray.data
    except ImportError as err:
        raise AnnotateError(Errors.E505) from err
    if not ray.is_initialized():
        ray.init(address=settings.ray_address)
    ray.data.DataContext.get_current().enable_progress_bars = False
    units = [
        {
            "index": index,
            "path": str(file.path.resolve()),
            "name": file.name,
            "format": file.format,
            "size": file.size,
            "done": [chunk for file_index, chunk in sorted(done) if file_index == index],
        }
        for index, file in enumerate(files)
        if index not in finished
    ]
    if not units:
        return
    dataset = ray.data.from_items(units, override_num_blocks=len(units))
    dataset = dataset.flat_map(
        _unit_rows, fn_kwargs={"shard_size": settings.shard_size, "options": tuple(settings.read_options)}
    )
    actors = settings.num_actors or _default_actors(ray, settings.cpus_per_actor, settings.gpus_per_actor)
    dataset = dataset.map_batches(
        RayAnnotator,
        fn_constructor_kwargs={"model": model, "settings": settings},
        batch_size=settings.batch_size,
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_cpus=settings.cpus_per_actor,
        num_gpus=settings.gpus_per_actor,
    )
    pending: Dict[BlockKey, List[Optional[str]]] = {}
    for row in dataset.iter_rows():
        key = (int(row["file"]), int(row["chunk"]))
        if int(row["size"]) == 0:
            store.write_shard(key, bool(row["last"]), [])
            continue
        lines = pending.setdefault(key, [None] * int(row["size"]))
        lines[int(row["pos"])] = row["line"]
        on_document()
        if all(line is not None for line in lines):
            store.write_shard(key, bool(row["last"]), [line for line in lines if line is not None])
            del pending[key]


class RayAnnotator:
    """A Ray Data actor: loads the pipeline once, then turns batches of document rows into record lines."""

    def __init__(self, model: str, settings: AnnotateSettings) -> None:
        gpu_id = 0 if settings.gpus_per_actor > 0 else -1
        self.nlp = load_pipeline(model, gpu_id=gpu_id, max_length=settings.max_length, code=settings.code,
                                 precision=settings.precision)
        self.batch_size = settings.batch_size
        self.sort_buffer = settings.sort_buffer

    def __call__(self, batch: RowBatch) -> RowBatch:
        n_rows = len(batch["pos"])
        lines = [""] * n_rows
        items = ((_row_item(batch, i), i) for i in range(n_rows) if int(batch["size"][i]) > 0)
        for i, record in annotate_items(self.nlp, items, batch_size=self.batch_size, sort_buffer=self.sort_buffer):
            lines[i] = dump_json(record)
        return {key: batch[key] for key in ("file", "chunk", "last", "size", "pos")} | {"line": lines}


def _unit_rows(unit: Dict[str, Any], shard_size: int, options: Tuple[str, str]) -> Iterator[Dict[str, Any]]:
    """The rows of one input file's pending blocks: a row per document, or one marker row for an empty block."""
    file = InputFile(Path(unit["path"]), unit["name"], unit["format"], unit["size"])
    done = {(unit["index"], chunk) for chunk in unit["done"]}
    for block in file_blocks(unit["index"], file, shard_size, done, ReadOptions(*options)):
        base = {"file": block.key[0], "chunk": block.key[1], "last": block.last, "size": len(block.items)}
        if not block.items:
            yield {**base, **_item_columns(None), "pos": 0}
        for pos, item in enumerate(block.items):
            yield {**base, **_item_columns(item), "pos": pos}


def _item_columns(item: Optional[Item]) -> Dict[str, Any]:
    """An item as flat string columns (one schema for documents, failures and empty-block markers)."""
    if isinstance(item, InputDoc):
        passages = json.dumps([list(p) for p in item.passages])
        return {"id": item.id, "text": item.text, "source": item.source, "passages": passages, "reason": ""}
    if isinstance(item, InputFailure):
        return {"id": item.id, "text": "", "source": item.source, "passages": "", "reason": item.reason}
    return {"id": "", "text": "", "source": "", "passages": "", "reason": ""}


def _row_item(batch: RowBatch, i: int) -> Item:
    if batch["reason"][i]:
        return InputFailure(str(batch["id"][i]), str(batch["source"][i]), str(batch["reason"][i]))
    passages = tuple(Passage(str(t), int(s), int(e)) for t, s, e in json.loads(batch["passages"][i]))
    return InputDoc(str(batch["id"][i]), str(batch["text"][i]), str(batch["source"][i]), passages)


def _default_actors(ray: Any, cpus_per_actor: float, gpus_per_actor: float) -> int:
    """As many actors as the cluster holds, one CPU left for reading; by GPUs when actors use GPUs."""
    resources = ray.cluster_resources()
    if gpus_per_actor > 0:
        return max(1, int(resources.get("GPU", 0) // gpus_per_actor))
    return max(1, int((resources.get("CPU", 1) - 1) // cpus_per_actor))
