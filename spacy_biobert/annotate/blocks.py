"""Blocks: runs of up to `shard_size` consecutive documents of one input file, the unit of resumption.

Blocks are cut the same way on every run over the same inputs, so a block's key (file index, chunk
index) names the same documents each time, and a block that already has its shard is skipped.
"""
from itertools import islice
from typing import Collection, Iterator, List, NamedTuple, Sequence, Tuple

from .documents import Item
from .inputs import InputFile, ReadOptions, read_input_file

BlockKey = Tuple[int, int]


class Block(NamedTuple):
    """The documents of one block; `last` marks the last block of its file."""

    key: BlockKey
    last: bool
    items: List[Item]


def file_blocks(
    index: int, file: InputFile, shard_size: int, done: Collection[BlockKey], options: ReadOptions
) -> Iterator[Block]:
    """The blocks of one file that have no shard yet. An empty file gives one empty last block."""
    items = read_input_file(file, options)
    chunk = 0
    current = list(islice(items, shard_size))
    while True:
        following = list(islice(items, shard_size))
        last = not following
        if (index, chunk) not in done:
            yield Block((index, chunk), last, current)
        if last:
            return
        current = following
        chunk += 1


def iter_blocks(
    files: Sequence[InputFile],
    shard_size: int,
    done: Collection[BlockKey],
    finished: Collection[int],
    options: ReadOptions,
) -> Iterator[Block]:
    """The pending blocks of a run in order; files in `finished` are not read at all."""
    for index, file in enumerate(files):
        if index not in finished:
            yield from file_blocks(index, file, shard_size, done, options)
