"""`spacy-biobert annotate MODEL INPUT OUTPUT`: annotate a corpus, resumably, on this machine or on Ray."""
from pathlib import Path
from typing import Optional

import typer
from wasabi import msg

from ..annotate import annotate
from ..annotate.inputs import AUTO
from ._app import VERBOSE_HELP, app, reported_errors


@app.command("annotate")
def annotate_cli(
    model: str = typer.Argument(..., metavar="MODEL", help="Pipeline to run: a folder or an installed package name."),
    input_: str = typer.Argument(
        ...,
        metavar="INPUT",
        help="A file, a folder or a quoted glob pattern of input files.",
    ),
    output: Path = typer.Argument(
        ...,
        metavar="OUTPUT",
        help="Output file; its suffix (.jsonl, .pubtator, .json) sets the format unless --output-format is given.",
    ),
    input_format: str = typer.Option(
        AUTO,
        "--input-format",
        "-I",
        help="auto (from file names), jsonl, text, pubtator or pubmed.",
    ),
    output_format: str = typer.Option(
        AUTO,
        "--output-format",
        "-O",
        help="auto (from OUTPUT's suffix), jsonl, pubtator or bioc.",
    ),
    id_field: str = typer.Option("id", "--id-field", help="JSONL input: the field holding the document id."),
    text_field: str = typer.Option("text", "--text-field", help="JSONL input: the field holding the text."),
    batch_size: int = typer.Option(
        64,
        "--batch-size",
        "-b",
        help="Documents per nlp.pipe batch (per Ray Data batch with --engine ray).",
    ),
    n_process: int = typer.Option(1, "--n-process", "-n", help="Local engine: worker processes of nlp.pipe."),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="Local engine: GPU to use; -1 for CPU."),
    shard_size: int = typer.Option(
        1000,
        "--shard-size",
        help="Documents per shard: the most work a killed run redoes.",
    ),
    max_length: int = typer.Option(
        0,
        "--max-length",
        help="Longest document in characters; 0 keeps the pipeline's max_length. Longer ones go to the errors file.",
    ),
    code: Optional[Path] = typer.Option(
        None,
        "--code",
        "-c",
        help="Python file to import first, e.g. with custom components.",
    ),
    engine: str = typer.Option(
        "local",
        "--engine",
        "-e",
        help="local, or ray for a Ray cluster (pip install 'spacy-biobert[ray]').",
    ),
    ray_address: Optional[str] = typer.Option(
        None,
        "--ray-address",
        help="Ray engine: the cluster to join (default: RAY_ADDRESS, else a local Ray instance).",
    ),
    num_actors: int = typer.Option(
        0,
        "--num-actors",
        help="Ray engine: pipeline actors; 0 fits them to the cluster's CPUs (or GPUs).",
    ),
    cpus_per_actor: float = typer.Option(1.0, "--cpus-per-actor", help="Ray engine: CPUs each actor reserves."),
    gpus_per_actor: float = typer.Option(
        0.0,
        "--gpus-per-actor",
        help="Ray engine: GPUs each actor reserves (fractions share a GPU).",
    ),
    overwrite: bool = typer.Option(
        False,
        "--overwrite",
        help="Discard an earlier run on OUTPUT instead of resuming it.",
    ),
    progress: bool = typer.Option(
        True,
        "--progress/--no-progress",
        help="Show a progress bar with documents/s and ETA.",
    ),
    verbose: bool = typer.Option(False, "--verbose", "-V", help=VERBOSE_HELP),
) -> None:
    """Annotate a corpus into JSONL, PubTator or BioC JSON; re-run the same command to resume a killed run."""
    with reported_errors(verbose):
        summary = annotate(
            model, input_, output, input_format=input_format, output_format=output_format,
            id_field=id_field, text_field=text_field, shard_size=shard_size, batch_size=batch_size,
            n_process=n_process, gpu_id=gpu_id, max_length=max_length, code=code, engine=engine,
            ray_address=ray_address, num_actors=num_actors, cpus_per_actor=cpus_per_actor,
            gpus_per_actor=gpus_per_actor, overwrite=overwrite, progress=progress,
        )
    msg.good(f"{summary.documents} documents annotated into {summary.output}")
    if summary.errors:
        msg.warn(f"{summary.errors} documents failed: see {summary.errors_path}")
