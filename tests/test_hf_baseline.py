"""The plain Hugging Face fine-tune that `compare-hf` and the bench scripts measure spacy-biobert against."""
import json
import math
import subprocess
import sys
from pathlib import Path

from transformers import AutoTokenizer

from spacy_biobert.evaluation.hf_baseline import finetune_sequence_classifier, finetune_token_classifier, split_to_fit
from spacy_biobert.readers.rel import RERow

ROOT = Path(__file__).resolve().parent.parent
SENTENCES = [
    (["BRCA1", "mutations", "cause", "breast", "cancer", "."], ["B-Gene", "O", "O", "B-Disease", "I-Disease", "O"]),
    (["Aspirin", "reduces", "fever", "."], ["B-Chemical", "O", "B-Disease", "O"]),
]


def test_token_classifier_tags_every_word(tiny_bert: Path) -> None:
    pieces = split_to_fit(AutoTokenizer.from_pretrained(str(tiny_bert)), SENTENCES * 4, 6)
    assert len(pieces) > 8 and all(len(words) <= 4 for _, words, _ in pieces)
    assert [word for index, words, _ in pieces if index < 2 for word in words] == SENTENCES[0][0] + SENTENCES[1][0]
    result = finetune_token_classifier(SENTENCES * 4, SENTENCES, str(tiny_bert), epochs=2, lr=1e-3, batch_size=4,
                                       max_length=6)
    assert result["steps"] == 2 * math.ceil(len(pieces) / 4)
    assert 0.0 <= result["test"]["f"] <= 1.0 and set(result["test"]) == {"p", "r", "f", "untyped_f"}


def test_sequence_classifier_scores_label_one(tiny_bert: Path) -> None:
    rows = [RERow("@GENE$ causes @DISEASE$ .", "1", 1), RERow("@GENE$ and @DISEASE$ differ .", "0", 2)]
    result = finetune_sequence_classifier(rows * 3, rows, str(tiny_bert), steps=3, lr=1e-3, batch_size=2)
    assert result["steps"] == 3 and result["test_rows"] == 2
    assert 0.0 <= result["f"] <= 1.0


def test_workflow_script_writes_what_report_reads(tiny_bert: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "train.tsv"
    corpus.write_text("\n\n".join("\n".join(f"{w}\t{t}" for w, t in zip(*s)) for s in SENTENCES) + "\n")
    output = tmp_path / "hf" / "toy" / "hf.json"
    command = [sys.executable, str(ROOT / "scripts" / "hf_baseline.py"), "ner", str(corpus), str(corpus),
               str(tiny_bert), str(output), "--lr", "0.001", "--budget", "a few steps"]
    subprocess.run(command, check=True, capture_output=True)
    result = json.loads(output.read_text())
    assert result["steps"] == 1 and "f" in result["test"] and result["budget"] == "a few steps"
