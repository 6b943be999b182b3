"""`spacy-biobert pretrain CORPUS... --base NAME_OR_DIR --output DIR`: domain-adaptive masked-LM pretraining.

Run it as is for one process (CPU or `--gpu-id`), or under `torchrun` for several GPUs or nodes:
`torchrun --nproc_per_node 8 -m spacy_biobert pretrain pubmed/ --output out --gpu-id 0`. The options are
the fields of `PretrainingSettings`.
"""
import typer

from ..pretraining import PretrainingSettings, pretrain
from ._app import VERBOSE_HELP, app, reported_errors, with_settings


@app.command("pretrain")
@with_settings
def pretrain_cli(
    settings: PretrainingSettings,
    verbose: bool = typer.Option(False, "--verbose", "-V", help=VERBOSE_HELP),
) -> None:
    """Continue a BERT's masked-LM pretraining on biomedical text (BioBERT's recipe) and write a Hugging Face
    folder that transformers and spaCy's `transformer` component (`name = OUTPUT`) load."""
    with reported_errors(verbose):
        pretrain(settings)
