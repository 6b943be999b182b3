"""`compare`'s plain Hugging Face fine-tune of a base model, one model a corpus (project.yml `compare-hf`).

    python scripts/hf_baseline.py ner TRAIN TEST BASE OUTPUT --budget BUDGET --epochs 1 --lr 0.0002
    python scripts/hf_baseline.py rel FOLD BASE OUTPUT --budget BUDGET --epochs 1 --lr 0.0002

`ner` fine-tunes token classification on a typed IOB TSV corpus, `rel` [CLS] sequence classification on a
BioBERT RE fold (FOLD/train.tsv, FOLD/test.tsv); both write the JSON result that scripts/report.py reads
(test scores, the number of updates and the workflow's budget, under which the report shows them). The loops
are spacy_biobert.evaluation.hf_baseline's.
"""
import math
from pathlib import Path

import srsly
import typer

from spacy_biobert.evaluation.hf_baseline import finetune_sequence_classifier, finetune_token_classifier
from spacy_biobert.readers.ner import read_iob_sentences
from spacy_biobert.readers.rel import read_re_tsv

app = typer.Typer(add_completion=False)


@app.command()
def ner(
    train: Path = typer.Argument(..., exists=True, dir_okay=False, help="typed IOB TSV training file"),
    test: Path = typer.Argument(..., exists=True, dir_okay=False, help="typed IOB TSV test file"),
    base: str = typer.Argument(..., help="base model folder or hub name"),
    output: Path = typer.Argument(..., dir_okay=False, help="result JSON"),
    budget: str = typer.Option(..., help="the workflow's budget in words (project.yml's `budget`), recorded"),
    epochs: int = typer.Option(1, help="passes over the training sentences"),
    lr: float = typer.Option(2e-4, help="peak learning rate"),
    batch_size: int = typer.Option(32, help="sentences an update"),
    seed: int = typer.Option(0),
) -> None:
    """Token classification, each word labelled on its first wordpiece (BioBERT's run_ner.py)."""
    result = finetune_token_classifier(list(read_iob_sentences(train)), list(read_iob_sentences(test)), base,
                                       epochs=epochs, lr=lr, batch_size=batch_size, seed=seed)
    output.parent.mkdir(parents=True, exist_ok=True)
    srsly.write_json(output, {**result, "budget": budget})
    typer.echo(f"{train.parent.name}: test F1 {100 * result['test']['f']:.2f} after {result['steps']} updates -> {output}")


@app.command()
def rel(
    fold: Path = typer.Argument(..., exists=True, file_okay=False, help="folder with train.tsv and test.tsv"),
    base: str = typer.Argument(..., help="base model folder or hub name"),
    output: Path = typer.Argument(..., dir_okay=False, help="result JSON"),
    budget: str = typer.Option(..., help="the workflow's budget in words (project.yml's `budget`), recorded"),
    epochs: int = typer.Option(1, help="passes over the training rows"),
    lr: float = typer.Option(2e-4, help="peak learning rate"),
    batch_size: int = typer.Option(32, help="sentences an update"),
    seed: int = typer.Option(0),
) -> None:
    """[CLS] sequence classification of the @GENE$/@DISEASE$ sentences (BioBERT's run_re.py)."""
    train_rows = list(read_re_tsv(fold / "train.tsv"))
    steps = epochs * math.ceil(len(train_rows) / batch_size)
    result = finetune_sequence_classifier(train_rows, list(read_re_tsv(fold / "test.tsv")), base, steps=steps,
                                          lr=lr, batch_size=batch_size, seed=seed)
    output.parent.mkdir(parents=True, exist_ok=True)
    srsly.write_json(output, {**result, "budget": budget})
    typer.echo(f"{fold}: test F1 {100 * result['f']:.2f} after {steps} updates -> {output}")


if __name__ == "__main__":
    app()
