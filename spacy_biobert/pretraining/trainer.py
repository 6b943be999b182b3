"""The continued-pretraining loop: AdamW with linear warmup and decay, gradient accumulation, mixed
precision, periodic checkpoints that `resume` continues, held-out masked-LM loss before and after, and
DistributedDataParallel when started by `torchrun`.

Under `torchrun` each process reads `RANK`, `WORLD_SIZE` and `LOCAL_RANK`, joins a process group (nccl on
GPUs, gloo on CPU) and trains on its own shard of the stream; DDP averages the gradients, so the weights stay
identical on every rank. Rank 0 evaluates, writes checkpoints and the output folder.

Resuming restores weights, optimizer, schedule and random state, and replays the data stream up to the
checkpoint (the stream is a deterministic function of the seed and the rank), so a killed run continues
where its last checkpoint stood, bit for bit: a checkpoint holds the random states of Python, NumPy and
torch (CPU and CUDA; dropout draws from them) and the number of batches the data stream had given (data
order: the shuffle buffer's generator is replayed to that point; masking: each batch's generator is seeded
by its index); under `torchrun`, every rank's random states, gathered by rank 0. The log is cut back to
the checkpoint's step, so steps redone after a kill are logged once.
"""
import json
import math
import os
import random
import time
from collections import deque
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import numpy
import torch
from torch import nn
from tqdm import tqdm
from spacy.util import minibatch
from wasabi import msg

from ..base_model import OFFLINE_BASE_MODEL, resolve_base_model
from ..errors import Errors, Warnings
from ..settings import option
from ..precision import cpu_has_bf16
from .corpus import expand_corpus_paths, iter_epochs, iter_heldout
from .masking import MaskingCollator
from .model import MaskedLMModel, load_masked_lm, save_masked_lm
from .packing import pack_texts, shuffled, split_long_texts

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
CHECKPOINT_DIR = "checkpoint"
CHECKPOINT_FILE = "state.pt"
METRICS_FILE = "pretraining_metrics.json"
LOG_FILE = "pretraining_log.jsonl"
EXPORT_PREFIX = "step-"
HELDOUT_SEED = 1234
# Settings a resume may change: the rest fix the data stream and the update, so they must equal the checkpoint's.
RESUMABLE_CHANGES = ("output", "max_steps", "precision", "gpu_id", "save_every", "export_steps", "resume")


@dataclass
class PretrainingSettings:
    """Everything a run depends on; `spacy-biobert pretrain` derives its options from these fields."""

    corpus: List[str] = option(
        help="Text files (.txt: a sentence or document a line), .jsonl (a `text` field), PubMed XML "
        "(.xml/.xml.gz), or folders of them; `.gz` is read compressed.", argument=True)
    output: str = option(help="Folder for the adapted model, checkpoints and metrics.", flags=("--output", "-o"))
    base: str = option(OFFLINE_BASE_MODEL, "Hub name, local folder or packaged model of the BERT to continue.",
                       flags=("--base", "-b"))
    max_steps: int = option(10000, "Optimizer steps in all (a resumed run continues to it).")
    max_seq_length: int = option(128, "Wordpieces per packed sequence, [CLS]/[SEP] included.")
    split_texts: bool = option(
        True, "Fill every training sequence: a text that does not fit the rest of one continues in the next "
        "(with whole texts, rows of ~30-wordpiece sentences are about a sixth padding); --whole-texts: sequences "
        "of whole texts. The held-out slice keeps texts whole either way, so its loss compares across settings.",
        flags=("--split-texts/--whole-texts",))
    batch_size: int = option(32, "Sequences per batch and rank.")
    grad_accum: int = option(1, "Batches accumulated into one optimizer step.")
    lr: float = option(1e-4, "Peak learning rate of AdamW.")
    warmup: float = option(0.1, "Linear warmup: steps, or a share of --max-steps when below 1; then linear decay "
                           "to zero.")
    weight_decay: float = option(0.01, "AdamW weight decay (not on biases and LayerNorm).")
    max_grad_norm: float = option(1.0, "Clip the gradient norm to this.")
    mlm_probability: float = option(0.15, "Share of wordpieces that are targets.")
    whole_word_masking: bool = option(False, "Mask every wordpiece of a chosen word.")
    freeze_encoder_steps: int = option(
        0, "Train only the MLM head for the first N steps (a fresh head's early gradients are noise for the "
        "encoder); N >= --max-steps trains the head alone.")
    save_every: int = option(1000, "Checkpoint every N steps (and at the end); 0: only at the end.")
    export_steps: List[int] = option(
        default_factory=list, help="Also write the model as it stands after step N to OUTPUT/step-N, with its "
        "held-out loss (repeatable): points of one run for a performance-vs-pretraining-steps curve, as "
        "BioBERT's. Each N below --max-steps.")
    resume: bool = option(False, "Continue from the checkpoint in --output, with its settings (only --max-steps, "
                          "--precision, --gpu-id, --save-every and --export-steps may differ).")
    heldout: int = option(500, "Texts held out for the masked-LM loss/perplexity; 0: none.")
    heldout_every: int = option(100, "Hold out every N-th text until --heldout are taken.")
    shuffle_buffer: int = option(2000, "Packed sequences shuffled together; 1: no shuffling.")
    precision: str = option("fp32", "fp32, bf16, fp16 (GPU only) or auto: bf16 where the hardware has it natively, "
                            "else fp16 on GPU and fp32 on CPU. The default does not depend on the hardware.")
    seed: int = option(0, "Seed of the head's initialisation, shuffling and masking.")
    gpu_id: int = option(-1, "GPU to use, -1 for CPU; under torchrun, >= 0 uses LOCAL_RANK's GPU.",
                         flags=("--gpu-id", "-g"))
    max_text_chars: int = option(
        10000, "Split longer texts (a line, a record) at whitespace into pieces of at most this many characters "
        "before tokenizing; 0: never split.")


@dataclass
class Distributed:
    """This process's place in the run: rank, number of ranks and device."""

    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def setup_distributed(gpu_id: int) -> Distributed:
    """Join the `torchrun` process group when `WORLD_SIZE` > 1; pick the device (`LOCAL_RANK`'s GPU there)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    use_gpu = gpu_id >= 0 and torch.cuda.is_available()
    if use_gpu:
        index = int(os.environ.get("LOCAL_RANK", "0")) if world_size > 1 else gpu_id
        torch.cuda.set_device(index)
        device = torch.device("cuda", index)
    else:
        device = torch.device("cpu")
    if world_size > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend="nccl" if use_gpu else "gloo")
    return Distributed(rank=rank, world_size=world_size, device=device)


def resolve_precision(precision: str, device: torch.device) -> Optional[torch.dtype]:
    """The autocast dtype, or None for fp32. `auto`: bf16 where the hardware has it (GPUs from Ampere, CPUs
    with AVX512-BF16 or AMX), else fp16 on GPU and fp32 on CPU."""
    if precision not in PRECISIONS:
        raise ValueError(Errors.E407.format(precision=precision, choices=", ".join(PRECISIONS)))
    if precision == "fp32":
        return None
    if device.type == "cuda":
        if precision == "auto":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.bfloat16 if precision == "bf16" else torch.float16
    if precision == "fp16":
        raise ValueError(Errors.E408.format(precision=precision, device="CPU"))
    if precision == "auto":
        return torch.bfloat16 if cpu_has_bf16() else None
    return torch.bfloat16


def linear_schedule(warmup: int, total: int, frozen: int = 0) -> Callable[[int], float]:
    """Learning-rate factor: zero for the first `frozen` steps, a linear rise until step `warmup`, then
    linear decay to zero at `total`."""

    def factor(step: int) -> float:
        if step < frozen:
            return 0.0
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / max(1, total - warmup))

    return factor


def warmup_steps(warmup: float, max_steps: int) -> int:
    """Warmup in steps: a value below 1 is a share of `max_steps`, anything else a number of steps."""
    return int(round(warmup * max_steps)) if warmup < 1 else int(warmup)


def make_optimizer(model: nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW without weight decay on biases and LayerNorm weights, as BERT trains. Four parameter groups:
    encoder (decay, no decay), then head (decay, no decay); the tied decoder weight is the encoder's
    word embeddings and belongs to the encoder."""
    groups: Dict[tuple, List[nn.Parameter]] = {(part, decay): [] for part in ("encoder", "head") for decay in (1, 0)}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        part = "encoder" if name.startswith("encoder.") else "head"
        decay = 0 if param.ndim < 2 or "LayerNorm" in name else 1
        groups[(part, decay)].append(param)
    param_groups = [
        {"params": params, "weight_decay": weight_decay if decay else 0.0} for (_, decay), params in groups.items()
    ]
    return torch.optim.AdamW(param_groups, lr=lr, betas=(0.9, 0.999), eps=1e-6)


def make_scheduler(optimizer: torch.optim.Optimizer, settings: "PretrainingSettings") -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warmup and decay for all groups; the encoder's two groups stay at zero while frozen."""
    warmup = warmup_steps(settings.warmup, settings.max_steps)
    encoder = linear_schedule(warmup, settings.max_steps, settings.freeze_encoder_steps)
    head = linear_schedule(warmup, settings.max_steps)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, [encoder, encoder, head, head])


class BatchStream:
    """The masked training batches of one rank: texts → packed sequences → shuffle buffer → masked batches.

    A deterministic function of (seed, rank): `skip` replays the stream to a checkpoint's position. Each
    batch's masking draws from its own generator, so skipped batches need no masking.
    """

    def __init__(self, settings: PretrainingSettings, files: List[Path], tokenizer, collator: MaskingCollator,
                 dist: Distributed) -> None:
        self.settings = settings
        self.files = files
        self.tokenizer = tokenizer
        self.collator = collator
        self.dist = dist

    def iter_batches(self, skip: int = 0) -> Iterator[Dict[str, torch.Tensor]]:
        s = self.settings
        rng = numpy.random.default_rng([s.seed, self.dist.rank])
        texts = iter_epochs(self.files, self.dist.rank, self.dist.world_size, s.heldout, s.heldout_every)
        texts = split_long_texts(texts, s.max_text_chars)
        packed = pack_texts(texts, self.tokenizer, s.max_seq_length, split_texts=s.split_texts)
        sequences = shuffled(packed, s.shuffle_buffer, rng)
        for index, group in enumerate(minibatch(sequences, s.batch_size)):
            if index < skip:
                continue
            yield self.collator(group, numpy.random.default_rng([s.seed, self.dist.rank, index]))


def heldout_batches(settings: PretrainingSettings, files: List[Path], tokenizer,
                    collator: MaskingCollator) -> List[Dict[str, torch.Tensor]]:
    """The held-out slice, packed and masked once with a fixed seed, so before and after see the same targets."""
    texts = split_long_texts(iter_heldout(files, settings.heldout, settings.heldout_every), settings.max_text_chars)
    sequences = pack_texts(texts, tokenizer, settings.max_seq_length)
    return [
        collator(group, numpy.random.default_rng([HELDOUT_SEED, index]))
        for index, group in enumerate(minibatch(sequences, settings.batch_size))
    ]


def evaluate(model: MaskedLMModel, batches: List[Dict[str, torch.Tensor]], device: torch.device,
             dtype: Optional[torch.dtype]) -> Dict[str, float]:
    """Masked-LM cross-entropy (mean over all held-out targets) and its perplexity."""
    if not batches:
        return {}
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for batch in batches:
            batch = {key: value.to(device) for key, value in batch.items()}
            n = int((batch["labels"] != -100).sum())
            with _autocast(device, dtype):
                loss = model(**batch)
            total += float(loss) * n
            count += n
    model.train(was_training)
    loss = total / count
    return {"loss": loss, "perplexity": math.exp(min(loss, 700.0)), "targets": count}


def _autocast(device: torch.device, dtype: Optional[torch.dtype]):
    """Autocast context for mixed precision, or a no-op for fp32."""
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()


def checkpoint_path(output: Path) -> Path:
    return output / CHECKPOINT_DIR / CHECKPOINT_FILE


def read_checkpoint_step(output: Path) -> Optional[int]:
    """The step of the checkpoint in `output`, or None."""
    path = checkpoint_path(output)
    if not path.is_file():
        return None
    return int(torch.load(path, map_location="cpu", weights_only=False)["step"])


def _save_checkpoint(path: Path, state: Dict[str, Any]) -> None:
    """Write atomically (temporary file, then rename), so a kill mid-write leaves the previous checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def get_rng_states() -> Dict[str, Any]:
    """The random states a training step draws from: Python's, NumPy's global and torch's (CPU, CUDA)."""
    return {
        "python": random.getstate(),
        "numpy": numpy.random.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def gather_rng_states(dist: "Distributed") -> List[Dict[str, Any]]:
    """Every rank's random states, in rank order (all ranks must call this together under torchrun)."""
    states = get_rng_states()
    if not dist.enabled:
        return [states]
    gathered: List[Any] = [None] * dist.world_size
    torch.distributed.all_gather_object(gathered, states)
    return gathered


def set_rng_states(states: Dict[str, Any]) -> None:
    """Restore the states `get_rng_states` saved."""
    random.setstate(states["python"])
    numpy.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"].cpu())
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([state.cpu() for state in states["cuda"]])


def truncate_log(path: Path, step: int) -> None:
    """Keep the log's records up to `step` (a resumed run logs the later steps again), atomically."""
    if not path.is_file():
        return
    kept = []
    for line in path.read_text(encoding="utf8").splitlines(keepends=True):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:  # a line cut short by a kill
            continue
        if isinstance(record, dict) and int(record.get("step", 0)) <= step:
            kept.append(line if line.endswith("\n") else line + "\n")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(kept), encoding="utf8")
    os.replace(tmp, path)


def pretrain(settings: PretrainingSettings) -> Dict[str, Any]:
    """Run continued masked-LM pretraining; return (on rank 0) the metrics also written to the output folder."""
    dist = setup_distributed(settings.gpu_id)
    try:
        return _pretrain(settings, dist)
    finally:
        if dist.enabled:
            torch.distributed.destroy_process_group()


def _pretrain(settings: PretrainingSettings, dist: Distributed) -> Dict[str, Any]:
    """`pretrain` inside the process group (if any)."""
    from transformers.utils import logging as hf_logging

    dtype = resolve_precision(settings.precision, dist.device)
    output = Path(settings.output)
    files = expand_corpus_paths(settings.corpus)
    base = resolve_base_model(settings.base)
    torch.manual_seed(settings.seed)
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        mlm, tokenizer, fresh_head, pooler = load_masked_lm(base)
    finally:
        hf_logging.set_verbosity(verbosity)
    bad_exports = [step for step in settings.export_steps if not 0 < step < settings.max_steps]
    if bad_exports:
        raise ValueError(Errors.E410.format(steps=bad_exports, max_steps=settings.max_steps))
    limit = mlm.config.max_position_embeddings
    if not 8 <= settings.max_seq_length <= limit:
        raise ValueError(Errors.E409.format(limit=limit, value=settings.max_seq_length))
    model = MaskedLMModel(mlm, base).to(dist.device)
    collator = MaskingCollator(tokenizer, settings.mlm_probability, settings.whole_word_masking)
    optimizer = make_optimizer(model, settings.lr, settings.weight_decay)
    scheduler = make_scheduler(optimizer, settings)
    scaler = torch.amp.GradScaler(dist.device.type) if dtype == torch.float16 else None

    identity = run_identity(settings, files, base, dist.world_size)
    state = _load_resume_state(settings, output, dist, identity)
    start_step = 0
    before: Dict[str, float] = {}
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        start_step = int(state["step"])
        before = state["heldout_before"]
    saved_rng = state.get("rng") if state is not None else None
    if isinstance(saved_rng, list) and len(saved_rng) == dist.world_size:
        set_rng_states(saved_rng[dist.rank])
    else:
        torch.manual_seed(settings.seed + dist.rank + 7919 * start_step)
    if dist.is_main and state is not None:
        truncate_log(output / LOG_FILE, start_step)

    heldout = heldout_batches(settings, files, tokenizer, collator) if dist.is_main else []
    if dist.is_main:
        msg.info(
            f"Base {base}: {'fresh' if fresh_head else 'pretrained'} MLM head; "
            f"{dist.world_size} rank(s) on {dist.device}, precision {dtype or torch.float32}; "
            f"{len(heldout)} held-out batches"
        )
        if state is None:
            before = evaluate(model, heldout, dist.device, dtype)
            if before:
                msg.info(f"Held-out before: loss {before['loss']:.4f}, perplexity {before['perplexity']:.2f}")
        else:
            msg.info(f"Resuming from step {start_step}")
    wrapped: nn.Module = model
    if dist.enabled:
        device_ids = [dist.device.index] if dist.device.type == "cuda" else None
        wrapped = nn.parallel.DistributedDataParallel(model, device_ids=device_ids)

    stream = BatchStream(settings, files, tokenizer, collator, dist)
    batches = stream.iter_batches(skip=start_step * settings.grad_accum)

    def export(step: int) -> None:
        folder = save_masked_lm(mlm, tokenizer, pooler, output / f"{EXPORT_PREFIX}{step}")
        record = {"step": step, "heldout": evaluate(model, heldout, dist.device, dtype)}
        (folder / METRICS_FILE).write_text(json.dumps(record, indent=2), encoding="utf8")

    run = _train(settings, dist, model, wrapped, optimizer, scheduler, scaler, dtype, batches, start_step,
                 output, before, export, identity)

    checksums = _rank_checksums(model, dist)
    if not dist.is_main:
        if dist.enabled:
            torch.distributed.barrier()
        return {}
    save_masked_lm(mlm, tokenizer, pooler, output)
    after = evaluate(model, heldout, dist.device, dtype)
    metrics = {
        "base": base,
        "fresh_head": fresh_head,
        "steps": settings.max_steps,
        "resumed_from_step": start_step,
        "world_size": dist.world_size,
        "device": str(dist.device),
        "precision": str(dtype or torch.float32).replace("torch.", ""),
        "heldout": {"sequences": sum(len(batch["input_ids"]) for batch in heldout), "before": before, "after": after},
        "train": run,
        "rank_checksums": checksums,
        "settings": asdict(settings),
    }
    (output / METRICS_FILE).write_text(json.dumps(metrics, indent=2), encoding="utf8")
    if after:
        msg.good(f"Held-out after: loss {after['loss']:.4f}, perplexity {after['perplexity']:.2f}")
    msg.good(f"Model written to {output}")
    if dist.enabled:
        torch.distributed.barrier()
    return metrics


def run_identity(settings: PretrainingSettings, files: List[Path], base: str, world_size: int) -> Dict[str, Any]:
    """What a resumed run must share with the interrupted one: every setting but `RESUMABLE_CHANGES`, with the
    corpus as the absolute paths of its files and the base resolved, so a resume from another folder compares."""
    fixed = {key: value for key, value in asdict(settings).items() if key not in RESUMABLE_CHANGES}
    fixed["corpus"] = [str(path.resolve()) for path in files]
    fixed["base"] = str(Path(base).resolve()) if Path(base).is_dir() else base
    fixed["world_size"] = world_size
    return fixed


def _load_resume_state(settings: PretrainingSettings, output: Path, dist: Distributed,
                       identity: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The checkpoint to continue from (with `resume`), warning where there is none or it gets overwritten, and
    refusing one written with other settings (E411). Checkpoints from before the check carry no identity."""
    path = checkpoint_path(output)
    if not path.is_file():
        if settings.resume and dist.is_main:
            msg.warn(Warnings.W401.format(path=output))
        return None
    state = torch.load(path, map_location=dist.device, weights_only=False)
    if settings.resume:
        saved = state.get("identity")
        if saved is not None and saved != identity:
            changed = ", ".join(
                f"{key}: {saved.get(key)!r} then, {identity.get(key)!r} now"
                for key in sorted(set(saved) | set(identity)) if saved.get(key) != identity.get(key)
            )
            raise ValueError(Errors.E411.format(path=output, changed=changed))
        return state
    if dist.is_main:
        msg.warn(Warnings.W402.format(path=output, step=state["step"]))
    return None


def _train(settings: PretrainingSettings, dist: Distributed, model: MaskedLMModel, wrapped: nn.Module,
           optimizer: torch.optim.Optimizer, scheduler, scaler, dtype: Optional[torch.dtype],
           batches: Iterator[Dict[str, torch.Tensor]], start_step: int, output: Path,
           before: Dict[str, float], export: Callable[[int], None], identity: Dict[str, Any]) -> Dict[str, Any]:
    """The optimisation loop from `start_step` to `max_steps`; returns speed and loss figures of this run.
    `export(step)` runs on rank 0 after each step of `settings.export_steps`; checkpoints carry `identity`.

    The progress bar shows the mean loss and the tokens/s (all ranks) of the last 50 steps."""
    model.train()
    recent: deque = deque(maxlen=50)
    window: deque = deque([(time.perf_counter(), 0)], maxlen=51)
    tokens = 0
    started = window[0][0]
    if dist.is_main:
        output.mkdir(parents=True, exist_ok=True)
    log = (output / LOG_FILE).open("a" if start_step else "w", encoding="utf8") if dist.is_main else None
    bar = tqdm(total=settings.max_steps, initial=start_step, disable=not dist.is_main, desc="pretrain",
               dynamic_ncols=True)
    step = start_step
    try:
        while step < settings.max_steps:
            step_loss = 0.0
            for micro in range(settings.grad_accum):
                batch = {key: value.to(dist.device) for key, value in next(batches).items()}
                sync = micro == settings.grad_accum - 1 or not dist.enabled
                with (nullcontext() if sync else wrapped.no_sync()):
                    with _autocast(dist.device, dtype):
                        loss = wrapped(**batch)
                    scaled = loss / settings.grad_accum
                    (scaler.scale(scaled) if scaler is not None else scaled).backward()
                step_loss += float(loss.detach()) / settings.grad_accum
                tokens += int(batch["attention_mask"].sum()) * dist.world_size
            if scaler is not None:
                scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), settings.max_grad_norm)
            if scaler is not None:
                scaler.step(optimizer)
                scaler.update()
            else:
                optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            recent.append(step_loss)
            window.append((time.perf_counter(), tokens))
            speed = (window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0])
            bar.set_postfix(loss=f"{sum(recent) / len(recent):.3f}", tok_s=f"{speed:.0f}", refresh=False)
            bar.update(1)
            if log is not None:
                record = {"step": step, "loss": step_loss, "lr": scheduler.get_last_lr()[-1], "tokens_per_s": speed}
                log.write(json.dumps(record) + "\n")
                log.flush()
            if dist.is_main and step in settings.export_steps:
                export(step)
            periodic = settings.save_every > 0 and step % settings.save_every == 0
            rng_states = gather_rng_states(dist) if periodic or step == settings.max_steps else []
            if dist.is_main and (periodic or step == settings.max_steps):
                _save_checkpoint(checkpoint_path(output), {
                    "step": step,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "scaler": scaler.state_dict() if scaler is not None else None,
                    "heldout_before": before,
                    "settings": asdict(settings),
                    "identity": identity,
                    "rng": rng_states,
                    "batches_consumed": step * settings.grad_accum,
                })
    finally:
        bar.close()
        if log is not None:
            log.close()
    elapsed = time.perf_counter() - started
    done = step - start_step
    return {
        "steps_this_run": done,
        "seconds": elapsed,
        "seconds_per_step": elapsed / done if done else None,
        "tokens": tokens,
        "tokens_per_s": tokens / elapsed if elapsed else None,
        "final_loss": sum(recent) / len(recent) if recent else None,
    }


def _rank_checksums(model: nn.Module, dist: Distributed) -> List[float]:
    """A float64 sum of every weight on each rank: equal on all ranks when DDP kept them in step."""
    checksum = float(sum(param.detach().double().sum() for param in model.parameters()))
    if not dist.enabled:
        return [checksum]
    gathered: List[Any] = [None] * dist.world_size
    torch.distributed.all_gather_object(gathered, checksum)
    return [float(value) for value in gathered]
