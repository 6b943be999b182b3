"""What a resumed run checks has not changed since the run began: its input files and its model.

- An input file: its size, modification time (ns) and SHA-256. Size and time are taken when the run starts;
  the hash is taken when the run has read the file to its end (right after reading it, so from the page
  cache). A resume compares the size, then the hash where there is one (a file only touched still
  resumes), else the modification time (a file the earlier run read only in part).
- The model folder (or an installed package's folder): every file's size and modification time, and the
  hash of `meta.json`. Retraining into the same folder rewrites its weights, so their times change;
  hashing every weight file on each run would cost more than the check is worth.

A pipeline given as a loaded `Language` has no folder and no fingerprint.
"""
import hashlib
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from spacy.language import Language
from spacy.util import get_package_path, is_package

from .inputs import InputFile

HASH_CHUNK_BYTES = 1 << 20
META_FILE = "meta.json"

FileState = Dict[str, Any]


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(HASH_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def input_state(file: InputFile, digest: Optional[str] = None) -> FileState:
    """The recorded state of one input file: size, modification time and (once read whole) its hash."""
    stat = file.path.stat()
    return {"path": str(file.path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest}


def changed_input(files: Sequence[InputFile], recorded: List[FileState]) -> Optional[Path]:
    """The first input file that changed since its state was recorded, or None: its size differs, or its hash
    (where recorded: a file touched but not edited still resumes), else its modification time."""
    for file, state in zip(files, recorded):
        now = input_state(file)
        if now["size"] != state["size"]:
            return file.path
        if state.get("sha256"):
            if file_digest(file.path) != state["sha256"]:
                return file.path
        elif now["mtime_ns"] != state["mtime_ns"]:
            return file.path
    return None


def model_folder(model: Union[str, Path, Language]) -> Optional[Path]:
    """The folder a pipeline is loaded from: MODEL itself, or an installed package's data folder."""
    if isinstance(model, Language):
        return None
    path = Path(model)
    if path.is_dir():
        return path.resolve()
    if is_package(str(model)):
        return Path(get_package_path(str(model)))
    return None


def model_fingerprint(model: Union[str, Path, Language]) -> Optional[Dict[str, Any]]:
    """Size and modification time of every file of the model's folder, and the hash of its meta.json."""
    folder = model_folder(model)
    if folder is None:
        return None
    files: Dict[str, List[int]] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = path.stat()
        files[path.relative_to(folder).as_posix()] = [stat.st_size, stat.st_mtime_ns]
    meta = folder / META_FILE
    return {"folder": str(folder), "meta_sha256": file_digest(meta) if meta.is_file() else None, "files": files}


def changed_model_file(recorded: Optional[Dict[str, Any]], now: Optional[Dict[str, Any]]) -> Optional[str]:
    """The path of a model file added, removed or changed since `recorded`, or None when the model is the same."""
    if recorded is None or now is None:
        return None
    folder = Path(now["folder"])
    if recorded.get("meta_sha256") != now.get("meta_sha256"):
        return str(folder / META_FILE)
    for name in sorted(set(recorded["files"]) | set(now["files"])):
        if recorded["files"].get(name) != now["files"].get(name):
            return str(folder / name)
    return None
