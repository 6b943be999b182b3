"""Resumable, lossless output: shards renamed into place atomically, a manifest, a final merge.

A run on OUTPUT keeps its state beside it:

- `OUTPUT.manifest.json`: the settings that decide the output (model, input files, formats, shard size,
  ...), the state of the inputs and the model when the run began (`fingerprints`: sizes, modification
  times, hashes), and the run's status (`running` or `complete`, with counts once complete);
- `.OUTPUT.parts/`: one shard per block of `shard_size` consecutive documents of one input file,
  named `FFFFFF-CCCCCC.jsonl` (file index, chunk index; `-last` marks a file's last chunk). A shard
  holds one line per input document of its block, in order: the output record or the failure.

A shard is written to a temporary file and renamed into place, so it either exists whole or not at
all; a run killed at any moment (SIGKILL included) and started again with the same settings redoes
only the blocks without a shard, once it has checked that no input file and no model file changed in
between (`fingerprints`). When every block has its shard, the shards are merged in order into
OUTPUT (in its format) and `OUTPUT.errors.jsonl` (failures with id, source and reason), each written
to a temporary file and renamed, the manifest is marked complete and the shards are removed. Every
input document thus lands exactly once in OUTPUT or in the errors file.

Only one run at a time may use a ShardStore on a given OUTPUT: the caller holds its `OutputLock` (`lock`).
"""
import json
import os
import re
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Sequence, Set, Tuple

from ..about import __version__
from ..errors import AnnotateError, Errors
from .blocks import BlockKey
from .documents import is_failure
from .fingerprints import changed_input, changed_model_file, file_digest, input_state
from .inputs import InputFile
from .writers import write_records

MANIFEST_VERSION = 2
SHARD_NAME = re.compile(r"^(\d{6})-(\d{6})(-last)?\.jsonl$")
RUNNING = "running"
COMPLETE = "complete"


class RunSummary(NamedTuple):
    """What a finished run wrote: counts and paths."""

    documents: int
    errors: int
    output: Path
    errors_path: Path


def run_files(output: Path) -> List[Path]:
    """OUTPUT, its manifest and its errors file: the files of a run, never to be read as its input."""
    return [
        output,
        output.with_name(output.name + ".manifest.json"),
        output.with_name(output.name + ".errors.jsonl"),
    ]


class ShardStore:
    """The on-disk state of one run on OUTPUT (see the module docstring)."""

    def __init__(self, output: Path, settings: Dict[str, Any], files: Sequence[InputFile] = (),
                 model: Optional[Dict[str, Any]] = None) -> None:
        self.output = output
        self.settings = json.loads(json.dumps(settings))
        _, self.manifest_path, self.errors_path = run_files(output)
        self.parts = output.with_name(f".{output.name}.parts")
        self.files = list(files)
        self.model = model
        self.inputs: List[Dict[str, Any]] = []

    def open(self, overwrite: bool = False) -> bool:
        """Start or resume the run; True when an earlier run with these settings already completed.

        A manifest with other settings, or whose input files or model changed since, is an error;
        `overwrite` discards any earlier run and starts afresh.
        """
        manifest = None if overwrite else self._read_manifest()
        if manifest is not None and manifest["settings"] != self.settings:
            keys = set(manifest["settings"]) | set(self.settings)
            changed = ", ".join(sorted(k for k in keys if manifest["settings"].get(k) != self.settings.get(k)))
            raise AnnotateError(Errors.E504.format(output=self.output, changed=changed))
        if manifest is not None:
            self._check_unchanged(manifest)
        if manifest is not None and manifest["status"] == COMPLETE and self.output.exists():
            shutil.rmtree(self.parts, ignore_errors=True)
            return True
        if manifest is None:
            shutil.rmtree(self.parts, ignore_errors=True)
            self.inputs = [input_state(file) for file in self.files]
            self._write_manifest({"status": RUNNING})
        self.parts.mkdir(parents=True, exist_ok=True)
        return False

    def _check_unchanged(self, manifest: Dict[str, Any]) -> None:
        """Refuse to resume when an input file or the model changed since the manifest was written."""
        fingerprints = manifest.get("fingerprints", {})
        self.inputs = fingerprints.get("inputs", [])
        path = changed_input(self.files, self.inputs)
        if path is not None:
            raise AnnotateError(Errors.E517.format(output=self.output, path=path))
        model_path = changed_model_file(fingerprints.get("model"), self.model)
        if model_path is not None:
            raise AnnotateError(Errors.E518.format(output=self.output, path=model_path))

    def done(self) -> Set[BlockKey]:
        """The (file index, chunk index) of every block that has its shard."""
        return {key for key, _ in self._shards()}

    def finished_files(self) -> Set[int]:
        """Indices of input files whose every block has its shard (their reading can be skipped)."""
        chunks: Dict[int, Set[int]] = defaultdict(set)
        last: Dict[int, int] = {}
        for (file_index, chunk), is_last in self._shards():
            chunks[file_index].add(chunk)
            if is_last:
                last[file_index] = chunk
        return {i for i, n in last.items() if chunks[i] >= set(range(n + 1))}

    def count_done(self) -> int:
        """How many input documents the existing shards hold: `shard_size` each, lines counted in last ones."""
        full = self.settings["shard_size"]
        return sum(_count_lines(path) if path.name.endswith("-last.jsonl") else full for path in self._shard_paths())

    def write_shard(self, key: BlockKey, last: bool, lines: List[str]) -> None:
        """Write one block's JSON lines (records or failures, in input order) to its shard, atomically."""
        name = f"{key[0]:06d}-{key[1]:06d}{'-last' if last else ''}.jsonl"
        _atomic_write(self.parts / name, "".join(line + "\n" for line in lines), sync=True)
        if last and key[0] < len(self.files) and key[0] < len(self.inputs):
            self.inputs[key[0]]["sha256"] = file_digest(self.files[key[0]].path)
            self._write_manifest({"status": RUNNING})

    def finalize(self, output_format: str) -> RunSummary:
        """Merge the shards into OUTPUT and the errors file, mark the run complete, remove the shards."""
        counts = {"documents": 0, "errors": 0}
        out_tmp = self.output.with_name(self.output.name + ".tmp")
        err_tmp = self.errors_path.with_name(self.errors_path.name + ".tmp")
        with out_tmp.open("w", encoding="utf8") as out, err_tmp.open("w", encoding="utf8") as err:
            def records() -> Iterator[Dict[str, Any]]:
                for line in self._merged_lines():
                    record = json.loads(line)
                    if is_failure(record):
                        err.write(line)
                        counts["errors"] += 1
                    else:
                        counts["documents"] += 1
                        yield record

            write_records(records(), out, output_format)
        os.replace(err_tmp, self.errors_path)
        os.replace(out_tmp, self.output)
        self._write_manifest({"status": COMPLETE, **counts})
        shutil.rmtree(self.parts, ignore_errors=True)
        return self.summary()

    def summary(self) -> RunSummary:
        """The counts of a completed run, from its manifest."""
        manifest = self._read_manifest() or {}
        return RunSummary(manifest.get("documents", 0), manifest.get("errors", 0), self.output, self.errors_path)

    def _merged_lines(self) -> Iterator[str]:
        for path in self._shard_paths():
            with path.open(encoding="utf8") as stream:
                yield from stream

    def _shards(self) -> Iterator[Tuple[BlockKey, bool]]:
        for path in self._shard_paths():
            match = SHARD_NAME.match(path.name)
            if match:
                yield (int(match.group(1)), int(match.group(2))), bool(match.group(3))

    def _shard_paths(self) -> List[Path]:
        if not self.parts.is_dir():
            return []
        return sorted((p for p in self.parts.iterdir() if SHARD_NAME.match(p.name)), key=lambda p: p.name)

    def _read_manifest(self) -> Any:
        if not self.manifest_path.exists():
            return None
        manifest = json.loads(self.manifest_path.read_text(encoding="utf8"))
        return manifest if manifest.get("manifest_version") == MANIFEST_VERSION else None

    def _write_manifest(self, state: Dict[str, Any]) -> None:
        manifest = {"manifest_version": MANIFEST_VERSION, "spacy_biobert": __version__, **state,
                    "settings": self.settings, "fingerprints": {"inputs": self.inputs, "model": self.model}}
        _atomic_write(self.manifest_path, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", sync=False)


def _atomic_write(path: Path, text: str, *, sync: bool) -> None:
    """Write a file whole or not at all: a temporary file renamed over it."""
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf8") as stream:
        stream.write(text)
        if sync:
            stream.flush()
            os.fsync(stream.fileno())
    os.replace(tmp, path)


def _count_lines(path: Path) -> int:
    with path.open("rb") as stream:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: stream.read(1 << 20), b""))
