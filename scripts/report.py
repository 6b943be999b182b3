"""Write metrics/report.md: every task's score beside the general base's, the single-task models' and a plain
Hugging Face fine-tune's of the same base (both after `spacy project run compare`) and the published figures
of BioBERT v1.1 and of scispaCy's CPU models.

Reads the JSON files `spacy-biobert evaluate --output` wrote under METRICS/<variant>/, the pretraining
summary, the joint-vs-separate comparison and the HF fine-tunes' results (METRICS/hf/, from
scripts/hf_baseline.py) when present, and plots the training curves of every `spacy train` run (their
`log.jsonl`) to METRICS/training_curves.png.

Each run also keeps its columns under METRICS/budgets/ (a file per base model, budget and GAD fold), so that a project
run at two budgets (the default `all`, then `all` with larger `--vars`) reports both side by side. `compare`'s
results record the budget they ran at and are shown only under that budget.
"""
import hashlib
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import srsly
import typer

NONE = float("nan")
# (task, corpus, metric, metrics file stem, (where, key), BioBERT v1.1 published figure, scispaCy's published
# figure: en_ner_bc5cdr_md's entity F1 over both BC5CDR types)
ROWS: List[Tuple[str, str, str, str, Tuple[str, str], float, float]] = [
    ("NER", "NCBI-disease", "entity F1", "ner_ncbi", ("scores", "ents_f"), 89.71, NONE),
    ("NER", "BC5CDR (both types)", "entity F1", "ner_bc5cdr", ("scores", "ents_f"), NONE, 84.28),
    ("NER", "BC5CDR-disease", "entity F1", "ner_bc5cdr", ("type", "Disease"), 87.15, NONE),
    ("NER", "BC5CDR-chem", "entity F1", "ner_bc5cdr", ("type", "Chemical"), 93.47, NONE),
    ("NER", "BC2GM", "entity F1", "ner_bc2gm", ("scores", "ents_f"), 84.72, NONE),
    ("RE", "GAD", "F1", "rel_gad", ("scores", "rel_f"), 81.61, NONE),
    ("QA", "BioASQ 6b", "MRR", "qa_bioasq", ("scores", "qa_mrr"), 48.43, NONE),
    ("QA", "BioASQ 6b", "strict acc.", "qa_bioasq", ("scores", "qa_strict_acc"), NONE, NONE),
    ("QA", "BioASQ 6b", "lenient acc.", "qa_bioasq", ("scores", "qa_lenient_acc"), NONE, NONE),
]
VARIANTS = (("biomedical", "ours: pretrained base"), ("general", "ours: general base"))
# The rows `spacy project run compare` scores with single-task models and HF fine-tunes: the corpus's key in
# metrics/joint_vs_separate.json and its folder under metrics/hf/.
SINGLE_TASK = {"NCBI-disease": "NCBI-disease", "BC5CDR (both types)": "BC5CDR", "BC2GM": "BC2GM", "GAD": "GAD"}
SINGLE_TASK_LABEL = "ours: single-task (`compare`)"
HF_LABEL = "plain HF fine-tune (`compare`)"


def read_score(metrics: Path, variant: str, stem: str, where: Tuple[str, str]) -> Optional[float]:
    """The score in percent, or None when that evaluation has not run."""
    path = metrics / variant / f"{stem}.json"
    if not path.exists():
        return None
    results: Dict[str, Any] = srsly.read_json(path)
    kind, key = where
    if kind == "scores":
        value = results["scores"].get(key)
    else:
        value = next((row["f"] for row in results.get("rows", []) if row.get("type") == key), None)
    return None if value is None else 100 * float(value)


def read_compare_result(metrics: Path, path: Path, budget: str, elsewhere: List[str]) -> Optional[Dict[str, Any]]:
    """A result `compare` wrote, when it ran at this budget; one from another budget (or from before results
    recorded theirs) is noted in `elsewhere` instead, since its scores belong to that budget's column."""
    if not path.exists():
        return None
    result: Dict[str, Any] = srsly.read_json(path)
    ran_at = result.get("budget")
    if ran_at == budget:
        return result
    elsewhere.append(f"`{path.relative_to(metrics)}` ({'budget not recorded' if ran_at is None else ran_at})")
    return None


def single_task_scores(metrics: Path, budget: str, elsewhere: List[str]) -> Optional[Dict[str, float]]:
    """The single-task models' scores of `spacy project run compare` at this budget, or None."""
    result = read_compare_result(metrics, metrics / "joint_vs_separate.json", budget, elsewhere)
    return None if result is None else result["separate"]


def hf_scores(metrics: Path, budget: str, gad_fold: str, elsewhere: List[str]) -> Optional[Dict[str, Tuple[float, int]]]:
    """Test F1 in percent and updates of `compare`'s plain HF fine-tunes at this budget by corpus key, or None
    when none ran at it."""
    found: Dict[str, Tuple[float, int]] = {}
    for key in SINGLE_TASK.values():
        name = f"hf_fold{gad_fold}.json" if key == "GAD" else "hf.json"
        result = read_compare_result(metrics, metrics / "hf" / key / name, budget, elsewhere)
        if result is not None:
            f = result["test"]["f"] if "test" in result else result["f"]
            found[key] = (100 * float(f), int(result["steps"]))
    return found or None


def row_key(task: str, corpus: str, metric: str) -> str:
    """A row's key in the kept budget files: its task, corpus and metric."""
    return f"{task} | {corpus} | {metric}"


def save_budget(metrics: Path, base_model: str, budget: str, gad_fold: str,
                columns: Dict[str, Dict[str, Optional[float]]]) -> None:
    """Keep this run's columns (by row) under METRICS/budgets/, replacing an earlier run of the same budget. A row
    a column has no score for (NaN, shown "—") is left out; one that did not run stays as null."""
    identity = f"{base_model} {budget} GAD fold {gad_fold}"
    slug = re.sub(r"[^a-z0-9]+", "-", budget.lower()).strip("-")[:80]
    name = f"{slug}-{hashlib.sha1(identity.encode('utf8')).hexdigest()[:8]}.json"
    folder = metrics / "budgets"
    folder.mkdir(parents=True, exist_ok=True)
    kept = {label: {key: value for key, value in rows.items() if value == value} for label, rows in columns.items()}
    srsly.write_json(folder / name, {"base_model": base_model, "budget": budget, "gad_fold": gad_fold, "columns": kept})


def budget_score(record: Dict[str, Any], label: str, key: str) -> Optional[float]:
    """A kept score: None where that column or evaluation did not run, NaN where the row has no such score."""
    rows = record["columns"].get(label)
    return None if rows is None else rows.get(key, NONE)


def budget_table(metrics: Path) -> List[str]:
    """en_biobert (and `compare`'s columns where that budget ran it) at every budget kept under METRICS/budgets/,
    beside the published figures, in the order they ran; nothing when fewer than two budgets ran."""
    paths = sorted((metrics / "budgets").glob("*.json"), key=lambda path: path.stat().st_mtime)
    records = [srsly.read_json(path) for path in paths]
    if len(records) < 2:
        return []
    shown = [label for label in (VARIANTS[0][1], SINGLE_TASK_LABEL, HF_LABEL)
             if any(label in record["columns"] for record in records)]
    headers = [f"{label}, {record['budget']} (GAD fold {record['gad_fold']})" for record in records for label in shown]
    lines = [
        "## Every budget run in this project",
        "",
        "One column per budget and model (base model: " + ", ".join(sorted({f"`{r['base_model']}`" for r in records}))
        + "); `compare`'s columns where it ran at that budget.",
        "",
        "| task | corpus | metric | " + " | ".join(headers) + " | BioBERT (paper) | scispaCy (published) |",
        "| --- | --- | --- | " + " | ".join("---:" for _ in headers) + " | ---: | ---: |",
    ]
    for task, corpus, metric, _, _, paper, scispacy in ROWS:
        key = row_key(task, corpus, metric)
        values = [cell(budget_score(record, label, key)) for record in records for label in shown]
        values += [cell(paper), cell(scispacy)]
        lines.append(f"| {task} | {corpus} | {metric} | " + " | ".join(values) + " |")
    return ["", *lines]


def cell(value: Optional[float]) -> str:
    return "not run" if value is None else ("—" if value != value else f"{value:.2f}")


def plot_curves(training: Path, output: Path) -> Optional[Path]:
    """One panel per training run: the dev score over the steps, for each base model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    logs = sorted(training.glob("*/*/log.jsonl"))
    if not logs:
        return None
    runs = sorted({log.parent.name for log in logs})
    figure, axes = plt.subplots(1, len(runs), figsize=(5 * len(runs), 3.5), squeeze=False)
    for axis, run in zip(axes[0], runs):
        for log in logs:
            if log.parent.name != run:
                continue
            entries = list(srsly.read_jsonl(log))
            axis.plot([e["step"] for e in entries], [100 * e["score"] for e in entries], marker=".", label=log.parent.parent.name)
        axis.set_title(run)
        axis.set_xlabel("step")
        axis.set_ylabel("dev score (%)")
        axis.legend()
    figure.tight_layout()
    figure.savefig(output, dpi=100)
    return output


def main(
    metrics: Path = typer.Option(Path("metrics"), help="Folder with <variant>/<task>.json from `spacy-biobert evaluate`."),
    training: Path = typer.Option(Path("training"), help="Folder with <variant>/<run>/log.jsonl from `spacy train`."),
    base_model: str = typer.Option(..., help="The base model the workflow started from, for the report's header."),
    budget: str = typer.Option(..., help="The compute budget in words (steps, machine), for the report's header."),
    gad_fold: str = typer.Option("1", help="The GAD fold the workflow trained and evaluated on."),
) -> None:
    elsewhere: List[str] = []
    single = single_task_scores(metrics, budget, elsewhere)
    hf = hf_scores(metrics, budget, gad_fold, elsewhere)
    extra = [] if single is None else [SINGLE_TASK_LABEL]
    extra += [] if hf is None else [HF_LABEL]
    columns: Dict[str, Dict[str, Optional[float]]] = {label: {} for label in [label for _, label in VARIANTS] + extra}
    lines = [
        "# en_biobert: evaluation report",
        "",
        f"Base model: `{base_model}`. Budget: {budget}.",
        "",
        "The figures differ from the paper's because the base model (BioBERT v1.1: BERT-base, 12 layers, cased, "
        "pretrained 1M steps on PubMed) and the compute budget differ; the comparison that matters here is the "
        "pretrained base against the general base, trained and evaluated identically.",
        "",
        "| task | corpus | metric | " + " | ".join([label for _, label in VARIANTS] + extra)
        + " | BioBERT (paper) | scispaCy (published) |",
        "| --- | --- | --- | " + " | ".join("---:" for _ in list(VARIANTS) + extra) + " | ---: | ---: |",
    ]
    for task, corpus, metric, stem, where, paper, scispacy in ROWS:
        scores = {label: read_score(metrics, variant, stem, where) for variant, label in VARIANTS}
        key = SINGLE_TASK.get(corpus, "")
        if single is not None:
            scores[SINGLE_TASK_LABEL] = single.get(key, NONE)
        if hf is not None:
            scores[HF_LABEL] = hf[key][0] if key in hf else (None if key else NONE)
        for label, value in scores.items():
            columns[label][row_key(task, corpus, metric)] = value
        label = f"{corpus} (fold {gad_fold})" if corpus == "GAD" else corpus
        values = [cell(value) for value in scores.values()] + [cell(paper), cell(scispacy)]
        lines.append(f"| {task} | {label} | {metric} | " + " | ".join(values) + " |")
    if hf is not None:
        updates = ", ".join(f"{key} {steps}" for key, (_, steps) in hf.items())
        lines += [
            "",
            "Plain HF fine-tune: one model a corpus from the same pretrained base, `AutoModelForTokenClassification` "
            "(first-wordpiece labels, argmax decoding) for NER and `AutoModelForSequenceClassification` ([CLS]) for "
            f"GAD, AdamW with linear warm-up and decay at the workflow's `ner_rel_lr`; updates of 32: {updates}.",
        ]
    if elsewhere:
        lines += [
            "",
            "Not shown against this budget: `compare`'s results from another budget, " + ", ".join(elsewhere)
            + "; they stay under their own budget in the table of every budget run. `spacy project run compare` "
            "with this budget's `--vars` scores this one's.",
        ]
    save_budget(metrics, base_model, budget, gad_fold, columns)
    lines += budget_table(metrics)
    pretrain = metrics / "pretrain.json"
    if pretrain.exists():
        summary = srsly.read_json(pretrain)
        lines += ["", "## Domain-adaptive pretraining", "", "```json", srsly.json_dumps(summary, indent=2), "```"]
    comparison = metrics / "joint_vs_separate.md"
    if single is not None and comparison.exists():
        lines += ["", comparison.read_text(encoding="utf8").strip()]
    plot = plot_curves(training, metrics / "training_curves.png")
    if plot is not None:
        lines += ["", "## Training curves", "", f"![training curves]({plot.name})"]
    (metrics / "report.md").write_text("\n".join(lines) + "\n", encoding="utf8")
    print(f"✔ Report written to {metrics / 'report.md'}")


if __name__ == "__main__":
    typer.run(main)
