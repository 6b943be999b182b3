"""[UNK] rate and wordpieces per word of a base model's tokenizer on a text sample, and what lower-casing costs.

BioBERT's vocabulary is cased; transformers lower-cases BERT input unless the tokenizer config says otherwise.
For a sample of lines this prints, for the tokenizer as the model folder configures it and for the same
vocabulary with lower-casing forced: the share of wordpieces and of words that are [UNK], wordpieces per word,
and the share of words whose wordpieces differ between the two.

    python bench/unk_rate.py base_model/general ../shared/data/corpus/biomedical_sentences.txt --sample 5000
"""
import argparse
import itertools
import json
from pathlib import Path
from typing import Dict, List


def rates(tokenizer, lines: List[str]) -> Dict[str, float]:
    """[UNK] share of wordpieces and of words, and wordpieces per word, over whitespace words."""
    words = [word for line in lines for word in line.split()]
    encoded = tokenizer(words, add_special_tokens=False)["input_ids"]
    pieces = sum(len(ids) for ids in encoded)
    unk = tokenizer.unk_token_id
    return {
        "words": len(words),
        "wordpieces": pieces,
        "unk_per_wordpiece": sum(ids.count(unk) for ids in encoded) / pieces,
        "unk_words": sum(unk in ids for ids in encoded) / len(words),
        "wordpieces_per_word": pieces / len(words),
        "over_128_pieces_lines": sum(len(tokenizer.tokenize(line)) > 126 for line in lines) / len(lines),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="Hugging Face folder (or hub name) whose tokenizer to measure.")
    parser.add_argument("texts", nargs="+", type=Path, help="Text files, a sentence or document a line.")
    parser.add_argument("--sample", type=int, default=5000, help="Lines taken from each file (every k-th line).")
    args = parser.parse_args()

    from transformers import AutoTokenizer

    configured = AutoTokenizer.from_pretrained(args.model)
    lowered = AutoTokenizer.from_pretrained(args.model, do_lower_case=True)
    report = {"model": args.model, "do_lower_case": getattr(configured, "do_lower_case", None), "files": {}}
    for path in args.texts:
        lines = [line for line in path.read_text(encoding="utf8").splitlines() if line.strip()]
        step = max(1, len(lines) // args.sample)
        sample = list(itertools.islice(lines[::step], args.sample))
        words = [word for line in sample for word in line.split()]
        as_configured = configured(words, add_special_tokens=False)["input_ids"]
        as_lowered = lowered(words, add_special_tokens=False)["input_ids"]
        changed = sum(a != b for a, b in zip(as_configured, as_lowered)) / len(words)
        report["files"][str(path)] = {
            "lines": len(sample),
            "configured": rates(configured, sample),
            "lower_cased": rates(lowered, sample),
            "words_changed_by_lower_casing": changed,
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
