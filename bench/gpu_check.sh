#!/usr/bin/env bash
# The GPU check: everything this project does on a GPU, in one run of at most ~8 minutes on one GPU machine.
#
#   bash bench/gpu_check.sh          # on the GPU machine (GPU 0)
#   bash bench/gpu_check.sh --cpu    # a dry run on CPU with a tiny budget (CI: tests/test_gpu_check.py)
#
# The GPU machine has Python 3.12 with a CUDA build of torch, transformers and tokenizers, no spaCy and no
# package registry. Before going there, run `bash bench/gpu_wheels.sh` here: it fills `.whl/` (gitignored) with
# the wheels of spaCy, thinc, spacy-transformers and their dependencies and with the NCBI-disease files; that
# folder travels with the working tree. Steps, each a row of the table:
#  1. install: the wheels from .whl/ and this package (--no-deps) into /tmp/site (PYTHONPATH); skipped where
#     spacy_biobert is importable already (the CPU dry run needs no .whl/).
#  2. versions: torch, CUDA, transformers. A transformers outside this package's pin (setup.cfg) is WARNED about
#     and the check CONTINUES: the machine's own transformers is used, and the rows below show whether it works.
#  3. `pytest -m gpu`: the components, `annotate --gpu-id 0` and `pretrain --gpu-id 0` on tiny models.
#  4. `spacy train configs/ner.cfg --gpu-id 0` on NCBI-disease for a fixed number of steps, from a random BERT of
#     BERT-base size (bench/make_bert_base.py; cased vocabulary built from the NCBI-disease training text).
#  5. inference words/s of biobert_ner vs the HF token-classification loop at fp32, bf16 and fp16
#     (bench/gpu_infer.py) on the NCBI-disease dev sentences.
# Prints one table and writes it to $OUT/gpu_check.md (else ./gpu_check.md), with the logs beside it.
set -uo pipefail
cd "$(dirname "$0")/.."
MODE=gpu
[ "${1:-}" = "--cpu" ] && MODE=cpu
PY=${PYTHON:-python3}
WHEELS=${WHEELS:-.whl}
RESULTS=${OUT:-$PWD}
WORK=$(mktemp -d /tmp/gpu_check.XXXXXX)
mkdir -p "$RESULTS"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
if [ "$MODE" = gpu ]; then
  GPU=0; STEPS=300; EVAL_EVERY=100; BATCH=32; PRECISIONS=fp32,bf16,fp16; LIMIT=0
  SIZE=(--layers 12 --hidden 768 --heads 12 --intermediate 3072); VOCAB=20000
  NER_DATA=$WHEELS/NCBI-disease
else
  GPU=-1; STEPS=4; EVAL_EVERY=2; BATCH=8; PRECISIONS=fp32; LIMIT=64
  SIZE=(--layers 2 --hidden 64 --heads 2 --intermediate 128); VOCAB=2000
  NER_DATA=${NER_DATA:-$WORK/ncbi}
fi
ROWS=()
row() { ROWS+=("| $1 | $2 | $3 | $4 |"); echo "== $1: $2 ($3 s) $4"; }
timed() {  # timed NAME LOGFILE CMD...: run, log, and add a row with its status and seconds
  local name=$1 log=$2; shift 2
  local start=$SECONDS rc=0
  "$@" > "$log" 2>&1 || rc=$?
  if [ $rc = 0 ]; then row "$name" ok $((SECONDS - start)) ""
  else row "$name" "FAILED (rc $rc)" $((SECONDS - start)) "see $(basename "$log"): $(tail -n 1 "$log" | cut -c1-150)"; fi
}

# 1. install
start=$SECONDS
if "$PY" -c "import spacy_biobert" 2>/dev/null; then
  row install "skipped" 0 "spacy_biobert is importable already"
else
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site "$WHEELS"/*.whl \
    > "$RESULTS/install.log" 2>&1 && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH} \
    && "$PY" -m pip install -q --no-index --no-deps --no-build-isolation --no-compile --target /tmp/site . \
    >> "$RESULTS/install.log" 2>&1
  rc=$?
  [ $rc = 0 ] && row install ok $((SECONDS - start)) "$(ls "$WHEELS"/*.whl | wc -l) wheels + spacy-biobert into /tmp/site" \
    || { row install "FAILED (rc $rc)" $((SECONDS - start)) "see install.log"; }
fi

# 2. versions against the pins
VERSIONS=$("$PY" - <<'EOF' 2>&1
import configparser, re, torch, transformers
from packaging.specifiers import SpecifierSet
requires = configparser.ConfigParser()
requires.read("setup.cfg")
pin = next(line.strip()[len("transformers"):] for line in requires["options"]["install_requires"].splitlines()
           if re.match(r"\s*transformers\b", line))
ok = transformers.__version__ in SpecifierSet(pin)
gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA device"
note = "" if ok else f"; WARNING: outside the pin transformers{pin}, continuing with it"
print(f"torch {torch.__version__} (CUDA {torch.version.cuda}), {gpu}; transformers {transformers.__version__}{note}")
EOF
)
row versions "$([[ $VERSIONS == *WARNING* ]] && echo warn || echo ok)" 0 "$(echo "$VERSIONS" | tail -n 1)"

# 3. the tests marked gpu
start=$SECONDS
"$PY" -m pytest -m gpu -q -p no:cacheprovider tests > "$RESULTS/pytest_gpu.log" 2>&1
rc=$?
summary=$(tail -n 1 "$RESULTS/pytest_gpu.log" | tr -d '=|' | sed 's/^ *//; s/ *$//')
[ $rc = 0 ] && row "pytest -m gpu" ok $((SECONDS - start)) "$summary" \
  || row "pytest -m gpu" "FAILED (rc $rc)" $((SECONDS - start)) "$summary; see pytest_gpu.log"

# 4. spacy train on NCBI-disease
if [ "$MODE" = cpu ] && [ ! -d "$NER_DATA" ]; then
  mkdir -p "$NER_DATA"
  "$PY" - "$NER_DATA" <<'EOF'
import sys
from pathlib import Path
words = "BRCA1 mutations cause breast cancer and Huntington disease in patients".split()
tags = "O O O B-Disease I-Disease O B-Disease I-Disease O O".split()
text = "\n\n".join("\n".join(f"{w}\t{t}" for w, t in zip(words, tags)) for _ in range(40)) + "\n"
for name in ("train.tsv", "devel.tsv"):
    (Path(sys.argv[1]) / name).write_text(text, encoding="utf8")
EOF
fi
awk -F'\t' 'NF == 2 {print $1}' "$NER_DATA/train.tsv" | paste -sd' ' | fold -s -w 2000 > "$WORK/vocab_text.txt"
timed "base model" "$RESULTS/make_base.log" "$PY" bench/make_bert_base.py "$WORK/base" \
  --corpus "$WORK/vocab_text.txt" --vocab-size $VOCAB --allow-smaller-vocab --layout hf "${SIZE[@]}"
start=$SECONDS
"$PY" -m spacy train configs/ner.cfg --output "$WORK/ner" --paths.base_model "$WORK/base" \
  --paths.train "$NER_DATA/train.tsv" --paths.dev "$NER_DATA/devel.tsv" --training.max_steps $STEPS \
  --training.eval_frequency $EVAL_EVERY --training.optimizer.learn_rate.warmup_steps $((STEPS / 10 + 1)) \
  --training.batcher.size $BATCH --gpu-id $GPU > "$RESULTS/train_ner.log" 2>&1
rc=$?
seconds=$((SECONDS - start))
if [ $rc = 0 ]; then
  f1=$("$PY" -c "import json, sys; print(round(100 * json.load(open(sys.argv[1]))['performance']['ents_f'], 2))" \
    "$WORK/ner/model-last/meta.json")
  row "spacy train ner.cfg ($STEPS steps, batch $BATCH)" ok $seconds "dev F1 $f1 (random base, cased vocabulary of $("$PY" -c "import json, sys; print(json.load(open(sys.argv[1]))['vocab_size'])" "$WORK/base/config.json"))"
else
  row "spacy train ner.cfg ($STEPS steps, batch $BATCH)" "FAILED (rc $rc)" $seconds "see train_ner.log: $(tail -n 1 "$RESULTS/train_ner.log" | cut -c1-150)"
fi

# 5. inference words/s
start=$SECONDS
if [ -d "$WORK/ner/model-last" ] && "$PY" bench/gpu_infer.py "$WORK/ner/model-last" "$WORK/base" "$NER_DATA/devel.tsv" \
    --gpu-id $GPU --precisions $PRECISIONS --limit $LIMIT > "$RESULTS/infer.json" 2> "$RESULTS/infer.log"; then
  while IFS=$'\t' read -r name status detail; do ROWS+=("| $name | $status | | $detail |"); done < <("$PY" - "$RESULTS/infer.json" <<'EOF'
import json, sys
for row in json.load(open(sys.argv[1])):
    speed = f"{row['words_per_s']:,} words/s" if row["words_per_s"] else row.get("error", "")
    print(f"infer {row['system']} {row['precision']}\t{'ok' if row['words_per_s'] else 'FAILED'}\t{speed} ({row['words']:,} words)")
EOF
)
  row "inference (the rows above)" ok $((SECONDS - start)) ""
else
  row inference "FAILED" $((SECONDS - start)) "see infer.log: $(tail -n 1 "$RESULTS/infer.log" 2>/dev/null | cut -c1-150)"
fi

{
  echo "GPU check ($MODE), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1 || true)"
  echo
  echo "| step | status | seconds | detail |"
  echo "|---|---|---:|---|"
  printf '%s\n' "${ROWS[@]}"
} > "$RESULTS/gpu_check.md"
echo
cat "$RESULTS/gpu_check.md"
rm -rf "$WORK"
! grep -q "FAILED" "$RESULTS/gpu_check.md"
