"""How an `annotate()` run reads, batches, shards and writes: `spacy-biobert annotate` derives its options
from these fields (`spacy_biobert.settings`)."""
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..settings import option
from .inputs import AUTO, ReadOptions


@dataclass(frozen=True)
class AnnotateSettings:
    """Every setting of a run besides MODEL, INPUT and OUTPUT.

    Those that change the output (formats, field names, shard size, max length) must stay the same to
    resume a run; the others (batching, sorting, processes, GPU, engine and its resources) may differ
    between attempts, and so may the precision, which changes scores slightly, as a GPU does.
    """

    input_format: str = option(AUTO, "auto (from file names), jsonl, text, pubtator or pubmed.",
                               flags=("--input-format", "-I"))
    output_format: str = option(AUTO, "auto (from OUTPUT's suffix), jsonl, pubtator or bioc.",
                                flags=("--output-format", "-O"))
    id_field: str = option("id", "JSONL input: the field holding the document id.")
    text_field: str = option("text", "JSONL input: the field holding the text.")
    batch_size: int = option(64, "Documents per nlp.pipe batch (per Ray Data batch with --engine ray).",
                             flags=("--batch-size", "-b"))
    sort_buffer: int = option(1024, "Documents read ahead and sorted by length before batching, for less "
                              "padding; the output order is unchanged. 1 turns sorting off.")
    n_process: int = option(1, "Local engine: worker processes of nlp.pipe.", flags=("--n-process", "-n"))
    gpu_id: int = option(-1, "Local engine: GPU to use; -1 for CPU.", flags=("--gpu-id", "-g"))
    precision: str = option("fp32", "Precision of the encoders: fp32, bf16 (fast where the CPU/GPU has it natively), "
                            "int8 (CPU: dynamic quantization) or auto (bf16 where native, else fp32).",
                            flags=("--precision", "-P"))
    shard_size: int = option(1000, "Documents per shard: the most work a killed run redoes.")
    max_length: int = option(0, "Longest document in characters; 0 keeps the pipeline's max_length. Longer ones "
                             "go to the errors file.")
    code: Optional[Path] = option(None, "Python file to import first, e.g. with custom components.",
                                  flags=("--code", "-c"))
    engine: str = option("local", "local, or ray for a Ray cluster (pip install 'spacy-biobert[ray]').",
                         flags=("--engine", "-e"))
    ray_address: Optional[str] = option(
        None, "Ray engine: the cluster to join (default: RAY_ADDRESS, else a local Ray instance).")
    num_actors: int = option(0, "Ray engine: pipeline actors; 0 fits them to the cluster's CPUs (or GPUs).")
    cpus_per_actor: float = option(1.0, "Ray engine: CPUs each actor reserves.")
    gpus_per_actor: float = option(0.0, "Ray engine: GPUs each actor reserves (fractions share a GPU).")
    overwrite: bool = option(False, "Discard an earlier run on OUTPUT instead of resuming it.")
    progress: bool = option(True, "Show a progress bar with documents/s and ETA.", flags=("--progress/--no-progress",))

    @property
    def read_options(self) -> ReadOptions:
        """What reading JSONL input needs: the id and text field names."""
        return ReadOptions(id_field=self.id_field, text_field=self.text_field)
