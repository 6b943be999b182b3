"""The local engine: one process (or `n_process` spaCy workers) on this machine, CPU or one GPU."""
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Tuple

from spacy.language import Language

from .annotator import annotate_items
from .blocks import Block, BlockKey
from .documents import Item
from .shards import ShardStore
from .writers import dump_json


def run_local(
    nlp: Language,
    blocks: Iterable[Block],
    store: ShardStore,
    *,
    batch_size: int,
    n_process: int,
    sort_buffer: int,
    on_document: Callable[[], None],
) -> None:
    """Annotate the pending blocks with `nlp.pipe` and write each block's shard as soon as it is whole."""
    open_blocks: Dict[BlockKey, Tuple[Block, List[Optional[str]]]] = {}
    remaining: Dict[BlockKey, int] = {}

    def items() -> Iterator[Tuple[Item, Tuple[BlockKey, int]]]:
        for block in blocks:
            if not block.items:
                store.write_shard(block.key, block.last, [])
                continue
            open_blocks[block.key] = (block, [None] * len(block.items))
            remaining[block.key] = len(block.items)
            for pos, item in enumerate(block.items):
                yield item, (block.key, pos)

    for (key, pos), record in annotate_items(
        nlp, items(), batch_size=batch_size, n_process=n_process, sort_buffer=sort_buffer
    ):
        block, lines = open_blocks[key]
        lines[pos] = dump_json(record)
        remaining[key] -= 1
        on_document()
        if remaining[key] == 0:
            store.write_shard(key, block.last, [line for line in lines if line is not None])
            del open_blocks[key], remaining[key]
