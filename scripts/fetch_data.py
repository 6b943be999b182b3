"""Fill assets/ with the corpora listed under `assets` in project.yml.

Each asset is copied from the local mirror DATA_DIR when that folder holds it (machines without
internet, CI), and downloaded from its upstream `url` otherwise; either way its md5 checksum is
checked. Assets already in place with the right checksum are left alone.
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


def main(
    project_file: Path = typer.Argument(Path("project.yml"), help="project.yml whose `assets` to fetch."),
    data_dir: Path = typer.Argument(Path("../shared/data"), help="Local corpora mirror; empty or missing = download."),
    verify: str = typer.Option("true", help="Check each file's md5 checksum: true, or false for a mirror of other files."),
) -> None:
    assets: List[Dict[str, Any]] = srsly.read_yaml(project_file)["assets"]
    mirror = data_dir if str(data_dir) and data_dir.is_dir() else Path("/nonexistent-mirror")
    for asset in tqdm(assets, desc="assets", unit="file", file=sys.stdout):
        fetch(asset, mirror, verify.lower() in ("1", "true", "yes"))
    print(f"✔ {len(assets)} assets in assets/ (mirror: {data_dir if mirror.is_dir() else 'none, downloaded'})")


if __name__ == "__main__":
    typer.run(main)
