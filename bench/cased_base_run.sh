#!/usr/bin/env bash
# BioBERT v1.2's architecture (BERT-base, cased vocabulary of 28,996) through every step of the workflow on CPU,
# with tiny step counts: base-model → pretrain → train NER, RE, QA and the joint NER+RE → assemble en_biobert →
# annotate (30 NCBI-disease abstracts and one document of long wordpieces) → evaluate (the first 300 NCBI-disease
# test sentences). The whole run holds the shared bench lock (so its steps are not interleaved with other
# benchmarks); each step runs under /usr/bin/time -v, and the table of wall time and peak RSS goes to
# OUT/steps.md.
#
#   bash bench/cased_base_run.sh [OUT] [DATA]      # defaults: bench/out/cased_base, ../shared/data
#
# The base is random (bench/make_bert_base.py): only speed, memory and whether each step works mean anything.
set -euo pipefail
LOCK=/tmp/spacy_biobert_bench.lock
if [ -z "${BENCH_LOCK_HELD:-}" ]; then
  exec env BENCH_LOCK_HELD=1 flock "$LOCK" bash "$0" "$@"
fi
cd "$(dirname "$0")/.."
OUT=$(realpath -m "${1:-bench/out/cased_base}")
DATA=$(realpath "${2:-../shared/data}")
STEPS=${STEPS:-3}
mkdir -p "$OUT/time"
: > "$OUT/steps.tsv"

step() {  # step NAME CMD...: run CMD under time -v, log its output, record time and peak RSS
  local name=$1; shift
  echo "== $name: $*"
  local rc=0
  /usr/bin/time -v -o "$OUT/time/$name.txt" "$@" > "$OUT/$name.log" 2>&1 || rc=$?
  python - "$name" "$OUT/time/$name.txt" "$rc" >> "$OUT/steps.tsv" <<'EOF'
import re, sys
name, path, rc = sys.argv[1:]
text = open(path).read()
wall = re.search(r"Elapsed \(wall clock\) time.*: (.*)", text).group(1)
seconds = sum(float(part) * 60 ** i for i, part in enumerate(reversed(wall.split(":"))))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1)) / 1024
print(f"{name}\t{seconds:.1f}\t{rss:.0f}\t{rc}")
EOF
  tail -n 3 "$OUT/$name.log"
  [ "$rc" = 0 ] || { echo "step $name failed (rc $rc): see $OUT/$name.log" >&2; exit "$rc"; }
}

TRAIN_ARGS=(--training.max_steps "$STEPS" --training.eval_frequency "$STEPS" --training.optimizer.learn_rate.warmup_steps 1)

# SIZE_ARGS: other sizes for a smoke test of this script, e.g. "--layers 2 --hidden 64 --heads 2 --intermediate 128"
[ -f "$OUT/release/pytorch_model.bin" ] || step make-base python bench/make_bert_base.py "$OUT/release" \
  --corpus "$DATA/corpus/biomedical_sentences.txt" ${SIZE_ARGS:-}
step base-model spacy-biobert base-model "$OUT/base_model/general" --name "$OUT/release"

python - "$DATA" "$OUT" <<'EOF'
import json, random, sys
from pathlib import Path
data, out = Path(sys.argv[1]), Path(sys.argv[2])
sentences, words = [], []
for line in (data / "ner/NCBI-disease/test.tsv").read_text(encoding="utf8").splitlines():
    if line.strip():
        words.append(line.split("\t")[0])
    elif words:
        sentences.append(" ".join(words)); words = []
(out / "ncbi_test_sentences.txt").write_text("\n".join(sentences) + "\n", encoding="utf8")
blocks = (data / "ner/NCBI-disease/test.tsv").read_text(encoding="utf8").strip().split("\n\n")
(out / "ncbi_test_300.tsv").write_text("\n\n".join(blocks[:300]) + "\n", encoding="utf8")
docs, title = [], None
for line in (data / "pubtator/NCBI-disease/train.pubtator").read_text(encoding="utf8").splitlines():
    parts = line.split("|", 2)
    if len(parts) == 3 and parts[1] == "t":
        title = parts[2]
    elif len(parts) == 3 and parts[1] == "a":
        docs.append({"id": parts[0], "text": f"{title} {parts[2]}"})
    if len(docs) == 30:
        break
rng = random.Random(0)
codes = ["".join(rng.choice("QXZJKVWY0123456789") for _ in range(12)) for _ in range(150)]
docs.append({"id": "long-wordpieces", "text": "Compounds " + " ".join(codes) + " were inactive."})
with (out / "annotate_input.jsonl").open("w", encoding="utf8") as f:
    for doc in docs:
        f.write(json.dumps(doc) + "\n")
EOF
step unk-rate python bench/unk_rate.py "$OUT/base_model/general" "$DATA/corpus/biomedical_sentences.txt" \
  "$OUT/ncbi_test_sentences.txt" --sample 5000

rm -rf "$OUT/base_model/biomedical"
step pretrain spacy-biobert pretrain "$DATA/corpus/biomedical_sentences.txt" --base "$OUT/base_model/general" \
  --output "$OUT/base_model/biomedical" --max-steps "$STEPS" --batch-size 8 --heldout 32 --heldout-every 1000 \
  --save-every 0 --shuffle-buffer 1
BASE="$OUT/base_model/biomedical"
step train-ner python -m spacy train configs/ner.cfg --output "$OUT/training/ner" --paths.base_model "$BASE" \
  --paths.train "$DATA/ner/NCBI-disease/train.tsv" --paths.dev "$DATA/ner/NCBI-disease/devel.tsv" \
  --corpora.dev.limit 64 --training.batcher.size 8 "${TRAIN_ARGS[@]}"
step train-rel python -m spacy train configs/rel.cfg --output "$OUT/training/rel" --paths.base_model "$BASE" \
  --paths.train "$DATA/re/GAD/1/train.tsv" --paths.dev "$DATA/re/GAD/1/test.tsv" \
  --corpora.dev.limit 64 --training.batcher.size 8 "${TRAIN_ARGS[@]}"
step train-qa python -m spacy train configs/qa.cfg --output "$OUT/training/qa" --paths.base_model "$BASE" \
  --paths.bioasq "$DATA/qa/BioASQ" --corpora.dev.limit 16 --training.batcher.size 2 \
  --training.optimizer.learn_rate.total_steps "$STEPS" "${TRAIN_ARGS[@]}"
step train-ner-rel python -m spacy train configs/ner_rel.cfg --output "$OUT/training/ner_rel" \
  --paths.base_model "$BASE" --paths.assets "$DATA" --corpora.dev.corpora.ncbi.limit 32 \
  --corpora.dev.corpora.bc5cdr.limit 32 --corpora.dev.corpora.bc2gm.limit 32 --corpora.dev.corpora.gad.limit 32 \
  --training.batcher.size 8 "${TRAIN_ARGS[@]}"
rm -rf "$OUT/en_biobert"
step assemble python -m spacy assemble configs/en_biobert.cfg "$OUT/en_biobert" \
  --paths.ner_rel "$OUT/training/ner_rel/model-best" --paths.qa "$OUT/training/qa/model-best"
step annotate spacy-biobert annotate "$OUT/en_biobert" "$OUT/annotate_input.jsonl" "$OUT/annotated.jsonl" \
  --overwrite --no-progress
step evaluate spacy-biobert evaluate "$OUT/en_biobert" "$OUT/ncbi_test_300.tsv" --task ner \
  --spans-key ner_ncbi --output "$OUT/evaluate_ncbi.json"

python - "$OUT/steps.tsv" > "$OUT/steps.md" <<'EOF'
import sys
rows = [line.split("\t") for line in open(sys.argv[1]).read().splitlines()]
print("| step | wall s | peak RSS MiB |\n|---|---:|---:|")
for name, seconds, rss, rc in rows:
    print(f"| {name} | {float(seconds):.0f} | {int(rss):,} |")
EOF
cat "$OUT/steps.md"
