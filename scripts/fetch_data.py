"""Fill assets/ with the corpora listed under `assets` in project.yml.

Each asset is copied from the local mirror DATA_DIR when that folder holds it (machines without
internet, CI), and downloaded from its upstream `url` otherwise; either way its md5 checksum is
checked. Assets already in place with the right checksum are left alone.

With `--train-dev FOLDER` (repeatable), each FOLDER's train.tsv and devel.tsv are also written one after
the other to FOLDER/train_dev.tsv: BioBERT's final NER models train on both splits once the settings are
chosen on devel (dmis-lab/biobert#140), and `--vars.ner_train train_dev` does the same here.
"""
import hashlib
import shutil
import sys
import urllib.request
from pathlib import Path
from typing import Any, Dict, List

import srsly
import typer
from tqdm import tqdm


def md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as file_:
        for block in iter(lambda: file_.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(asset: Dict[str, Any], data_dir: Path, verify: bool = True) -> str:
    """Put one asset in place; return where it came from."""
    dest = Path(asset["dest"])
    checksum = asset.get("checksum") if verify else None
    if dest.exists() and (checksum is None or md5(dest) == checksum):
        return "present"
    mirrored = data_dir / dest.relative_to("assets")
    dest.parent.mkdir(parents=True, exist_ok=True)
    if mirrored.exists():
        shutil.copyfile(mirrored, dest)
        source = f"mirror {mirrored}"
    elif asset.get("url"):
        urllib.request.urlretrieve(asset["url"], dest)
        source = asset["url"]
    else:
        raise SystemExit(f"✘ {dest}: not in the mirror {data_dir} and no download URL. {asset.get('description', '')}")
    if checksum is not None and md5(dest) != checksum:
        raise SystemExit(f"✘ {dest}: checksum mismatch after copying from {source}; delete it and check the source.")
    return source


def write_train_dev(folder: Path) -> Path:
    """Write FOLDER/train_dev.tsv: train.tsv's sentences, then devel.tsv's, one blank line between."""
    parts = [folder / "train.tsv", folder / "devel.tsv"]
    for part in parts:
        if not part.is_file():
            raise SystemExit(f"✘ --train-dev {folder}: no {part.name} there (expected train.tsv and devel.tsv).")
    texts = [part.read_text(encoding="utf8").strip("\r\n") for part in parts]
    output = folder / "train_dev.tsv"
    output.write_text("\n\n".join(text for text in texts if text) + "\n\n", encoding="utf8")
    return output


def main(
    project_file: Path = typer.Argument(Path("project.yml"), help="project.yml whose `assets` to fetch."),
    data_dir: Path = typer.Argument(Path("../shared/data"), help="Local corpora mirror; empty or missing = download."),
    verify: str = typer.Option("true", help="Check each file's md5 checksum: true, or false for a mirror of other files."),
    train_dev: List[Path] = typer.Option([], help="A NER corpus folder whose train.tsv and devel.tsv to join into train_dev.tsv (repeatable)."),
) -> None:
    assets: List[Dict[str, Any]] = srsly.read_yaml(project_file)["assets"]
    mirror = data_dir if str(data_dir) and data_dir.is_dir() else Path("/nonexistent-mirror")
    for asset in tqdm(assets, desc="assets", unit="file", file=sys.stdout):
        fetch(asset, mirror, verify.lower() in ("1", "true", "yes"))
    print(f"✔ {len(assets)} assets in assets/ (mirror: {data_dir if mirror.is_dir() else 'none, downloaded'})")
    for folder in train_dev:
        print(f"✔ {write_train_dev(folder)}: train + devel")


if __name__ == "__main__":
    typer.run(main)
