"""Where does biobert_ner's gap to the plain Hugging Face token-classification fine-tune come from? Both from one
start, on one sequence of batches.

Builds the spaCy pipeline as `spacy train` does (configs/ner.cfg through `init_nlp`, with its optimizer, schedule
and training setup), and `AutoModelForTokenClassification` from the same base whose classifier starts from the
spaCy head's initial weights. Both then train on the same batches (the training corpus in one seeded order, the
words and BIO tags of spaCy's examples), and at every step the script records both losses, the learning rates
applied, and the largest difference between the two encoders' weights. With `--dropout 0` (every dropout of both
models off) the two forward passes compute the same function, so the first losses agree and any drift after it is
the optimizer's: `--hf-clip tensor` and `--hf-decay all` give the HF side thinc's clipping of each tensor to norm
`grad_clip` and weight decay on every tensor, so that the remaining difference can be read off.

    flock /tmp/spacy_biobert_bench.lock python bench/ner_diagnose.py --train T --dev D --base BASE --steps 20 \\
        --dropout 0 --hf-clip tensor --hf-decay all --output bench/out/ner_diagnose.json
"""
import argparse
import json
import math
import random
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from spacy.schemas import ConfigSchemaTraining
from spacy.training.initialize import init_nlp
from spacy.util import fix_random_seed, load_config, registry
from transformers import AutoModelForTokenClassification, AutoTokenizer, get_linear_schedule_with_warmup

from spacy_biobert.evaluation.hf_baseline import encode_words

REPO = Path(__file__).resolve().parent.parent


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=Path, required=True, help="typed IOB TSV training file")
    parser.add_argument("--dev", type=Path, required=True, help="typed IOB TSV dev file (the config needs one)")
    parser.add_argument("--base", required=True, help="base model folder or hub name, for both sides")
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "ner.cfg")
    parser.add_argument("--steps", type=int, default=20, help="updates of both sides")
    parser.add_argument("--total-steps", type=int, default=170, help="the schedule's length (warm-up: 10 %%)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--dropout", type=float, default=0.1, help="every dropout rate of both models")
    parser.add_argument("--hf-clip", choices=("global", "tensor"), default="global",
                        help="HF side: clip the global gradient norm (run_ner.py) or each tensor's (thinc)")
    parser.add_argument("--hf-decay", choices=("no-bias-ln", "all"), default="no-bias-ln",
                        help="HF side: weight decay except biases and LayerNorm (run_ner.py) or on all (thinc)")
    parser.add_argument("--hf-eps", choices=("torch", "thinc"), default="torch",
                        help="HF side: eps added to the bias-corrected sqrt(v) (torch, run_ner.py) or to the "
                             "uncorrected one, i.e. eps / sqrt(1 - b2^t) after correction (thinc's Adam)")
    parser.add_argument("--spacy-adam-eps", choices=("thinc", "torch"), default=None,
                        help="spaCy side: the training setup's adam_eps (default: the config's)")
    parser.add_argument("--spacy-clip", choices=("tensor", "global"), default=None,
                        help="spaCy side: the training setup's grad_clip_scope (default: the config's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=None, help="JSON file for the per-step figures")
    return parser.parse_args(argv)


def set_dropout(module: torch.nn.Module, rate: float) -> None:
    """Every dropout of a transformers model, the attention's SDPA rate included."""
    for child in module.modules():
        if isinstance(child, torch.nn.Dropout):
            child.p = rate
        if hasattr(child, "dropout_prob"):
            child.dropout_prob = rate


def spacy_side(args: argparse.Namespace) -> Tuple[Any, Any, List[Any]]:
    """The pipeline, its optimizer and the training examples, as `spacy train` builds them."""
    overrides = {
        "paths.train": str(args.train), "paths.dev": str(args.dev), "paths.base_model": str(args.base),
        "training.max_steps": args.total_steps, "training.batcher.size": args.batch_size,
        "training.optimizer.learn_rate.warmup_steps": args.total_steps // 10, "training.dropout": args.dropout,
        "training.seed": args.seed, "system.seed": args.seed,
    }
    if args.spacy_adam_eps is not None:
        overrides["initialize.after_init.adam_eps"] = args.spacy_adam_eps
    if args.spacy_clip is not None:
        overrides["initialize.after_init.grad_clip_scope"] = args.spacy_clip
    config = load_config(args.config, overrides=overrides, interpolate=False)
    nlp = init_nlp(config, use_gpu=-1)
    resolved = nlp.config.interpolate()
    training = registry.resolve(resolved["training"], schema=ConfigSchemaTraining)
    corpora = registry.resolve(resolved["corpora"])
    examples = list(corpora[training["train_corpus"].split(".")[-1]](nlp))
    return nlp, training["optimizer"], examples


def hf_side(args: argparse.Namespace, nlp: Any) -> Tuple[Any, Any, Any, Any]:
    """The HF model with the spaCy head's starting weights, its AdamW and linear schedule."""
    ner = nlp.get_pipe("biobert_ner")
    tokenizer = AutoTokenizer.from_pretrained(str(args.base))
    model = AutoModelForTokenClassification.from_pretrained(str(args.base), num_labels=len(ner.tags))
    head = ner.model.get_ref("output_layer")
    with torch.no_grad():
        model.classifier.weight.copy_(torch.tensor(head.get_param("W")))
        model.classifier.bias.copy_(torch.tensor(head.get_param("b")))
    no_decay = ("bias", "LayerNorm.weight") if args.hf_decay == "no-bias-ln" else ()
    named = list(model.named_parameters())
    groups = [
        {"params": [p for n, p in named if not any(k in n for k in no_decay)], "weight_decay": 0.01},
        {"params": [p for n, p in named if any(k in n for k in no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=5e-5, eps=1e-6)
    scheduler = get_linear_schedule_with_warmup(optimizer, args.total_steps // 10, args.total_steps)
    return tokenizer, model, optimizer, scheduler


def encoder_difference(spacy_encoder: torch.nn.Module, hf_encoder: torch.nn.Module) -> float:
    """The largest absolute difference between the two encoders' weights."""
    theirs = dict(hf_encoder.named_parameters())
    return max(float((p - theirs[n]).abs().max()) for n, p in spacy_encoder.named_parameters() if n in theirs)


def clip_each(parameters: List[torch.nn.Parameter], clip: float) -> None:
    for parameter in parameters:
        if parameter.grad is not None:
            torch.nn.utils.clip_grad_norm_([parameter], clip)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    fix_random_seed(args.seed)
    nlp, optimizer, examples = spacy_side(args)
    ner = nlp.get_pipe("biobert_ner")
    spacy_encoder = next(shim for node in nlp.get_pipe("transformer").model.walk() for shim in node.shims)._model
    tokenizer, model, hf_optimizer, scheduler = hf_side(args, nlp)
    set_dropout(spacy_encoder, args.dropout)
    set_dropout(model, args.dropout)
    random.Random(args.seed).shuffle(examples)
    batches = [examples[i : i + args.batch_size] for i in range(0, args.steps * args.batch_size, args.batch_size)]
    print(f"encoder difference at the start: {encoder_difference(spacy_encoder, model.bert):.2e}", flush=True)
    log: Dict[str, List[float]] = {key: [] for key in ("spacy_loss", "hf_loss", "spacy_lr", "hf_lr", "difference")}
    model.train()
    for step, batch in enumerate(batches, start=1):
        losses: Dict[str, float] = {}
        log["spacy_lr"].append(float(optimizer.learn_rate))
        nlp.update(batch, sgd=optimizer, drop=args.dropout, losses=losses)
        optimizer.step_schedules()
        words = [[token.text for token in eg.reference] for eg in batch]
        tags = [ner._gold_tag_ids(eg).tolist() for eg in batch]
        encoding, _ = encode_words(tokenizer, words, tags, 512)
        output = model(**encoding)
        output.loss.backward()
        log["hf_lr"].append(scheduler.get_last_lr()[0])
        if args.hf_clip == "global":
            torch.nn.utils.clip_grad_norm_(model.parameters(), float(optimizer.grad_clip))
        else:
            clip_each(list(model.parameters()), float(optimizer.grad_clip))
        if args.hf_eps == "thinc":
            for group in hf_optimizer.param_groups:
                group["eps"] = 1e-6 / math.sqrt(1.0 - group["betas"][1] ** step)
        hf_optimizer.step()
        scheduler.step()
        hf_optimizer.zero_grad()
        log["spacy_loss"].append(losses["biobert_ner"])
        log["hf_loss"].append(float(output.loss))
        log["difference"].append(encoder_difference(spacy_encoder, model.bert))
        print(f"step {step}: loss spaCy {log['spacy_loss'][-1]:.4f} HF {log['hf_loss'][-1]:.4f}; lr "
              f"{log['spacy_lr'][-1]:.2e} / {log['hf_lr'][-1]:.2e}; max |w_spaCy - w_HF| {log['difference'][-1]:.2e}",
              flush=True)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps({"settings": {k: str(v) for k, v in vars(args).items()}, **log}, indent=2))


if __name__ == "__main__":
    main()
