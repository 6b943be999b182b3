"""Write a randomly initialised BERT with BioBERT v1.2's configuration, laid out as BioBERT's PyTorch release.

BioBERT v1.2 (`dmis-lab/biobert-base-cased-v1.2`) is BERT-base cased: 12 layers, 768 hidden, 12 heads, 3072
intermediate, 512 positions, a cased WordPiece vocabulary of 28,996 entries, `do_lower_case = false`. Its
weights cannot be downloaded here, so this script builds the same architecture with random weights and a cased
WordPiece vocabulary of the same size, trained with `tokenizers` on the given text (the mirrored biomedical
corpus). Its vocabulary is not BioBERT's; its shapes, casing and file layout are.

`--layout hub` (default) writes what BioBERT's PyTorch conversion has: `config.json`, `vocab.txt` and a
`pytorch_model.bin` of a BertForPreTraining (`bert.*` encoder, MLM head `cls.predictions.*`, next-sentence head
`cls.seq_relationship.*`), and no `tokenizer_config.json`. `--layout hf` writes `save_pretrained` folders of a
BertForMaskedLM with its tokenizer (`do_lower_case = false`).

    python bench/make_bert_base.py /tmp/biobert_size --corpus ../shared/data/corpus/biomedical_sentences.txt
"""
import argparse
import json
from pathlib import Path
from typing import List

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def build_cased_vocab(corpus: List[str], vocab_size: int, output: Path, allow_smaller: bool = False) -> Path:
    """Train a cased WordPiece vocabulary (BERT's pre-tokeniser, no lower-casing, accents kept) on `corpus`;
    fewer entries than `vocab_size` is an error unless `allow_smaller`."""
    from tokenizers import BertWordPieceTokenizer

    tokenizer = BertWordPieceTokenizer(clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False)
    tokenizer.train(corpus, vocab_size=vocab_size, min_frequency=2, special_tokens=SPECIAL_TOKENS,
                    limit_alphabet=1000, wordpieces_prefix="##", show_progress=False)
    got = tokenizer.get_vocab_size()
    if got != vocab_size and not allow_smaller:
        raise SystemExit(f"The corpus gave {got} wordpieces, not {vocab_size}: add text with --corpus.")
    output.mkdir(parents=True, exist_ok=True)
    tokenizer.save_model(str(output))
    return output / "vocab.txt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", type=Path)
    parser.add_argument("--corpus", nargs="+", required=True, help="Plain-text files the vocabulary is built from.")
    parser.add_argument("--vocab-size", type=int, default=28996)
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--hidden", type=int, default=768)
    parser.add_argument("--heads", type=int, default=12)
    parser.add_argument("--intermediate", type=int, default=3072)
    parser.add_argument("--max-positions", type=int, default=512)
    parser.add_argument("--allow-smaller-vocab", action="store_true",
                        help="Accept a smaller vocabulary where the text gives fewer wordpieces.")
    parser.add_argument("--layout", choices=("hub", "hf"), default="hub")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch
    from transformers import BertConfig, BertForMaskedLM, BertForPreTraining, BertTokenizerFast

    vocab = build_cased_vocab(args.corpus, args.vocab_size, args.output, args.allow_smaller_vocab)
    vocab_size = len(vocab.read_text(encoding="utf8").splitlines())
    torch.manual_seed(args.seed)
    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=args.hidden,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        intermediate_size=args.intermediate,
        max_position_embeddings=args.max_positions,
    )
    if args.layout == "hub":
        model = BertForPreTraining(config)
        config.architectures = ["BertForPreTraining"]
        (args.output / "config.json").write_text(config.to_json_string(), encoding="utf8")
        torch.save(model.state_dict(), args.output / "pytorch_model.bin")
    else:
        BertForMaskedLM(config).save_pretrained(str(args.output))
        BertTokenizerFast(vocab_file=str(vocab), do_lower_case=False, model_max_length=args.max_positions
                          ).save_pretrained(str(args.output))
    summary = {"output": str(args.output), "layout": args.layout, "vocab_size": vocab_size,
               "layers": args.layers, "hidden": args.hidden, "files": sorted(p.name for p in args.output.iterdir())}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
