#!/usr/bin/env bash
# Fill .whl/ (gitignored) with what bench/gpu_check.sh installs on a GPU machine that reaches no registry:
# Python 3.12 wheels of spaCy, thinc, spacy-transformers and the rest of their dependency closure, pinned to
# the versions of the virtual environment this runs in, and the NCBI-disease files its short training run reads. Run it here, in this project's
# venv, where PyPI and the corpora mirror are reachable:
#
#   bash bench/gpu_wheels.sh [DATA]        # DATA: the corpora mirror, default ../shared/data
#
# What the GPU machine already has is left out (torch, transformers, tokenizers and their own dependencies:
# numpy, huggingface-hub, safetensors, requests, pyyaml, ...; pytest, setuptools and wheel), so the folder
# stays under the 64 MiB that travel with the working tree (~61 MiB, of which spaCy's wheel is 35). Each
# wheel is fetched as
#   pip download --no-deps --python-version 3.12 --only-binary=:all: --platform manylinux2014_x86_64 \
#       --platform manylinux_2_28_x86_64 --platform any --dest .whl NAME==VERSION
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=$(realpath "${1:-../shared/data}")
DEST=.whl
mkdir -p "$DEST"

mapfile -t PINS < <(python - <<'EOF'
import importlib.metadata as md
from packaging.requirements import Requirement

ROOTS = ["spacy", "thinc", "spacy-transformers", "typer", "srsly", "tqdm", "wasabi"]
ON_GPU_MACHINE = {
    "torch", "transformers", "tokenizers", "numpy", "huggingface-hub", "hf-xet", "safetensors", "filelock", "fsspec",
    "jinja2", "markupsafe", "sympy", "mpmath", "networkx", "packaging", "pyyaml", "regex", "requests", "certifi",
    "charset-normalizer", "idna", "urllib3", "anyio", "h11", "httpcore", "httpx", "sniffio", "setuptools", "wheel",
}
MARKERS = {"python_version": "3.12", "python_full_version": "3.12.0", "sys_platform": "linux",
           "platform_system": "Linux", "platform_machine": "x86_64", "implementation_name": "cpython",
           "platform_python_implementation": "CPython", "os_name": "posix", "extra": ""}
seen, stack = {}, list(ROOTS)
while stack:
    name = stack.pop().lower().replace("_", "-")
    if name in seen or name in ON_GPU_MACHINE or name.startswith("nvidia-"):
        continue
    try:
        dist = md.distribution(name)
    except md.PackageNotFoundError:
        seen[name] = None
        continue
    seen[name] = dist.version
    for line in dist.requires or []:
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate(MARKERS):
            stack.append(req.name)
for name, version in sorted(seen.items()):
    print(f"{name}=={version}" if version else name)
EOF
)
for pin in "${PINS[@]}"; do
  pip download -q --no-deps --python-version 3.12 --only-binary=:all: --platform manylinux2014_x86_64 \
    --platform manylinux_2_28_x86_64 --platform any --dest "$DEST" "$pin"
done
mkdir -p "$DEST/NCBI-disease"
cp "$DATA"/ner/NCBI-disease/{train,devel}.tsv "$DEST/NCBI-disease/"
du -sh "$DEST"
