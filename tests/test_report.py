"""scripts/report.py: the report's table, with and without `spacy project run compare`'s single-task scores."""
import subprocess
import sys
from pathlib import Path
from typing import Dict

import srsly

REPORT = Path(__file__).resolve().parent.parent / "scripts" / "report.py"


def write_metrics(metrics: Path) -> None:
    """Evaluation results of the pretrained base only, as `spacy-biobert evaluate --output` writes them."""
    (metrics / "biomedical").mkdir(parents=True)
    srsly.write_json(metrics / "biomedical" / "ner_ncbi.json", {"scores": {"ents_f": 0.6}})
    srsly.write_json(metrics / "biomedical" / "rel_gad.json", {"scores": {"rel_f": 0.75}})


def write_compare(metrics: Path, budget: str, separate: Dict[str, float]) -> None:
    """`compare-joint-separate`'s JSON, as it records the budget it ran at."""
    summary = {"budget": budget, "joint": separate, "separate": separate, "words_per_s": {}}
    srsly.write_json(metrics / "joint_vs_separate.json", summary)


def run_report(tmp_path: Path, *options: str, budget: str = "a few steps") -> str:
    metrics = tmp_path / "metrics"
    command = [sys.executable, str(REPORT), "--metrics", str(metrics), "--training", str(tmp_path / "training")]
    command += ["--base-model", "tiny", "--budget", budget, *options]
    subprocess.run(command, check=True, capture_output=True)
    return (metrics / "report.md").read_text(encoding="utf8")


def test_report_without_compare(tmp_path: Path) -> None:
    write_metrics(tmp_path / "metrics")
    report = run_report(tmp_path)
    assert "| NER | NCBI-disease | entity F1 | 60.00 | not run | 89.71 | — |" in report
    assert "single-task" not in report


def test_report_single_task_column(tmp_path: Path) -> None:
    metrics = tmp_path / "metrics"
    write_metrics(metrics)
    write_compare(metrics, "a few steps", {"NCBI-disease": 68.5, "BC5CDR": 71.25, "BC2GM": 55.0, "GAD": 77.0})
    report = run_report(tmp_path)
    assert "| ours: single-task (`compare`) |" in report
    assert "| NER | NCBI-disease | entity F1 | 60.00 | not run | 68.50 | 89.71 | — |" in report
    assert "| RE | GAD (fold 1) | F1 | 75.00 | not run | 77.00 | 81.61 | — |" in report
    assert "| NER | BC5CDR-chem | entity F1 | not run | not run | — | 93.47 | — |" in report


def test_report_hf_column_and_gad_fold(tmp_path: Path) -> None:
    metrics = tmp_path / "metrics"
    write_metrics(metrics)
    hf = metrics / "hf"
    (hf / "NCBI-disease").mkdir(parents=True)
    (hf / "GAD").mkdir()
    srsly.write_json(hf / "NCBI-disease" / "hf.json", {"budget": "a few steps", "steps": 170, "test": {"f": 0.655}})
    srsly.write_json(hf / "GAD" / "hf_fold1.json", {"budget": "a few steps", "f": 0.9, "steps": 150})
    srsly.write_json(hf / "GAD" / "hf_fold3.json", {"budget": "a few steps", "f": 0.72, "steps": 151})
    report = run_report(tmp_path, "--gad-fold", "3")
    assert "| plain HF fine-tune (`compare`) |" in report and "single-task" not in report
    assert "| NER | NCBI-disease | entity F1 | 60.00 | not run | 65.50 | 89.71 | — |" in report
    assert "| NER | BC2GM | entity F1 | not run | not run | not run | 84.72 | — |" in report
    assert "| NER | BC5CDR-chem | entity F1 | not run | not run | — | 93.47 | — |" in report
    assert "| RE | GAD (fold 3) | F1 | 75.00 | not run | 72.00 | 81.61 | — |" in report
    assert "updates of 32: NCBI-disease 170, GAD 151." in report


def test_report_keeps_every_budget(tmp_path: Path) -> None:
    metrics = tmp_path / "metrics"
    write_metrics(metrics)
    first = run_report(tmp_path)
    assert "## Every budget run in this project" not in first
    srsly.write_json(metrics / "biomedical" / "ner_ncbi.json", {"scores": {"ents_f": 0.7}})
    write_compare(metrics, "many steps", {"NCBI-disease": 71.5, "BC5CDR": 72.0, "BC2GM": 60.0, "GAD": 77.0})
    report = run_report(tmp_path, budget="many steps")
    table = report.split("## Every budget run in this project", 1)[1]
    header = next(line for line in table.splitlines() if line.startswith("| task |"))
    assert header.index("a few steps (GAD fold 1)") < header.index("many steps (GAD fold 1)")
    assert "ours: single-task (`compare`), a few steps" in header
    assert "| NER | NCBI-disease | entity F1 | 60.00 | not run | 70.00 | 71.50 | 89.71 | — |" in table
    assert "| NER | BC5CDR-chem | entity F1 | not run | not run | not run | — | 93.47 | — |" in table
    assert "| RE | GAD | F1 | 75.00 | not run | 75.00 | 77.00 | 81.61 | — |" in table
    run_report(tmp_path)
    assert len(list((metrics / "budgets").glob("*.json"))) == 2


def test_report_shows_compare_only_under_its_budget(tmp_path: Path) -> None:
    """`compare` ran at the small budget, then the workflow at a larger one: its scores stay in the small budget's
    column and are not shown against the larger budget's en_biobert."""
    metrics = tmp_path / "metrics"
    write_metrics(metrics)
    write_compare(metrics, "a few steps", {"NCBI-disease": 68.5, "BC5CDR": 71.25, "BC2GM": 55.0, "GAD": 77.0})
    (metrics / "joint_vs_separate.md").write_text("## Joint vs separate fine-tuning of NER and RE\n")
    (metrics / "hf" / "NCBI-disease").mkdir(parents=True)
    srsly.write_json(metrics / "hf" / "NCBI-disease" / "hf.json", {"budget": "a few steps", "steps": 170, "test": {"f": 0.655}})
    run_report(tmp_path)
    srsly.write_json(metrics / "biomedical" / "ner_ncbi.json", {"scores": {"ents_f": 0.7}})
    report = run_report(tmp_path, budget="many steps")
    main_table = report.split("## Every budget run in this project", 1)[0]
    assert "| NER | NCBI-disease | entity F1 | 70.00 | not run | 89.71 | — |" in main_table
    assert "single-task (`compare`)" not in main_table and "plain HF fine-tune (`compare`)" not in main_table
    assert "## Joint vs separate" not in report
    assert "`joint_vs_separate.json` (a few steps)" in main_table and "`hf/NCBI-disease/hf.json` (a few steps)" in main_table
    table = report.split("## Every budget run in this project", 1)[1]
    header = next(line for line in table.splitlines() if line.startswith("| task |"))
    assert header.count("(`compare`), a few steps") == 2 and header.count("(`compare`), many steps") == 2
    assert "| NER | NCBI-disease | entity F1 | 60.00 | 68.50 | 65.50 | 70.00 | not run | not run | 89.71 | — |" in table


def test_report_leaves_out_compare_results_without_budget(tmp_path: Path) -> None:
    """A result from before `compare` recorded its budget belongs to no known budget: noted, not shown."""
    metrics = tmp_path / "metrics"
    write_metrics(metrics)
    separate = {"NCBI-disease": 68.5, "BC5CDR": 71.25, "BC2GM": 55.0, "GAD": 77.0}
    srsly.write_json(metrics / "joint_vs_separate.json", {"joint": separate, "separate": separate, "words_per_s": {}})
    report = run_report(tmp_path)
    assert "single-task (`compare`)" not in report
    assert "`joint_vs_separate.json` (budget not recorded)" in report
