"""`spacy-biobert pretrain CORPUS... --base NAME_OR_DIR --output DIR`: domain-adaptive masked-LM pretraining.

Run it as is for one process (CPU or `--gpu-id`), or under `torchrun` for several GPUs or nodes:
`torchrun --nproc_per_node 8 -m spacy_biobert pretrain pubmed/ --output out --gpu-id 0`.
"""
from pathlib import Path
from typing import List

import typer

from ..base_model import OFFLINE_BASE_MODEL, resolve_base_model
from ._app import VERBOSE_HELP, app, reported_errors


@app.command("pretrain")
def pretrain_cli(
    corpus: List[Path] = typer.Argument(
        ..., help="Text files (.txt: a sentence or document a line), .jsonl (a `text` field), PubMed XML "
        "(.xml/.xml.gz), or folders of them; `.gz` is read compressed."),
    output: Path = typer.Option(..., "--output", "-o", help="Folder for the adapted model, checkpoints and metrics."),
    base: str = typer.Option(OFFLINE_BASE_MODEL, "--base", "-b", help="Hub name or local folder of the BERT to continue."),
    max_steps: int = typer.Option(10000, "--max-steps", help="Optimizer steps in all (a resumed run continues to it)."),
    max_seq_length: int = typer.Option(128, "--max-seq-length", help="Wordpieces per packed sequence, [CLS]/[SEP] included."),
    batch_size: int = typer.Option(32, "--batch-size", help="Sequences per batch and rank."),
    grad_accum: int = typer.Option(1, "--grad-accum", help="Batches accumulated into one optimizer step."),
    lr: float = typer.Option(1e-4, "--lr", help="Peak learning rate of AdamW."),
    warmup: float = typer.Option(
        0.1, "--warmup", help="Linear warmup: steps, or a share of --max-steps when below 1; then linear decay to zero."),
    weight_decay: float = typer.Option(0.01, "--weight-decay", help="AdamW weight decay (not on biases and LayerNorm)."),
    max_grad_norm: float = typer.Option(1.0, "--max-grad-norm", help="Clip the gradient norm to this."),
    mlm_probability: float = typer.Option(0.15, "--mlm-probability", help="Share of wordpieces that are targets."),
    whole_word_masking: bool = typer.Option(False, "--whole-word-masking", help="Mask every wordpiece of a chosen word."),
    freeze_encoder_steps: int = typer.Option(
        0, "--freeze-encoder-steps", help="Train only the MLM head for the first N steps (a fresh head's early "
        "gradients are noise for the encoder); N >= --max-steps trains the head alone."),
    save_every: int = typer.Option(1000, "--save-every", help="Checkpoint every N steps (and at the end); 0: only at the end."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the checkpoint in --output."),
    heldout: int = typer.Option(500, "--heldout", help="Texts held out for the masked-LM loss/perplexity; 0: none."),
    heldout_every: int = typer.Option(100, "--heldout-every", help="Hold out every N-th text until --heldout are taken."),
    shuffle_buffer: int = typer.Option(2000, "--shuffle-buffer", help="Packed sequences shuffled together; 1: no shuffling."),
    precision: str = typer.Option("auto", "--precision", help="auto, fp32, bf16 or fp16 (GPU only); auto: bf16 where supported."),
    seed: int = typer.Option(0, "--seed", help="Seed of the head's initialisation, shuffling and masking."),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU to use, -1 for CPU; under torchrun, >= 0 uses LOCAL_RANK's GPU."),
    max_text_chars: int = typer.Option(
        10000, "--max-text-chars", help="Split longer texts (a line, a record) at whitespace into pieces of at most "
        "this many characters before tokenizing; 0: never split."),
    verbose: bool = typer.Option(False, "--verbose", "-V", help=VERBOSE_HELP),
) -> None:
    """Continue a BERT's masked-LM pretraining on biomedical text (BioBERT's recipe) and write a Hugging Face
    folder that transformers and spaCy's `transformer` component (`name = OUTPUT`) load."""
    from ..pretraining import PretrainingSettings, pretrain

    with reported_errors(verbose):
        base = resolve_base_model(base)
    settings = PretrainingSettings(
        corpus=[str(path) for path in corpus],
        base=base,
        output=str(output),
        max_steps=max_steps,
        max_seq_length=max_seq_length,
        batch_size=batch_size,
        grad_accum=grad_accum,
        lr=lr,
        warmup=warmup,
        weight_decay=weight_decay,
        max_grad_norm=max_grad_norm,
        mlm_probability=mlm_probability,
        whole_word_masking=whole_word_masking,
        freeze_encoder_steps=freeze_encoder_steps,
        save_every=save_every,
        heldout=heldout,
        heldout_every=heldout_every,
        shuffle_buffer=shuffle_buffer,
        precision=precision,
        seed=seed,
        gpu_id=gpu_id,
        resume=resume,
        max_text_chars=max_text_chars,
    )
    with reported_errors(verbose):
        pretrain(settings)
