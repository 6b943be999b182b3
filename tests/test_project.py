"""The `spacy project run all` workflow end to end on a tiny configuration: tiny random base, tiny corpora
written here in the mirror's layout, a few steps per training; the packaged pipeline loads with spacy.load."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import pytest
import srsly

from .util import make_tiny_bert

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_NAME = "biobert_workflow_test"

NER_SENTENCES: List[List[Tuple[str, str]]] = [
    [("brca1", "B-GENE"), ("mutations", "O"), ("cause", "O"), ("breast", "B-Disease"), ("cancer", "I-Disease"), (".", "O")],
    [("tamoxifen", "B-Chemical"), ("lowers", "O"), ("the", "O"), ("risk", "O"), ("of", "O"), ("cancer", "B-Disease"), (".", "O")],
    [("the", "O"), ("protein", "O"), ("is", "O"), ("associated", "O"), ("with", "O"), ("tumor", "B-Disease"), (".", "O")],
]
GAD_ROWS = [
    ("@GENE$ mutations cause @DISEASE$ .", "1"),
    ("@GENE$ is not associated with @DISEASE$ .", "0"),
    ("the @GENE$ gene raises @DISEASE$ risk .", "1"),
    ("@DISEASE$ patients and @GENE$ cells .", "0"),
]
CONTEXT = "Imatinib inhibits the kinase. BRCA1 mutations raise breast cancer risk."
QUESTIONS = [
    ("q1", "What does imatinib inhibit?", "the kinase"),
    ("q2", "Which gene raises breast cancer risk?", "BRCA1"),
]
TRAINING_QUESTIONS = {
    "4B": [("t1", "Which drug inhibits the kinase?", "Imatinib"), ("t2", "What do mutations raise?", "breast cancer risk")],
    "5B": [("t3", "Which mutations raise risk?", "BRCA1 mutations"), ("t4", "What is inhibited?", "the kinase")],
}


def write_mirror(root: Path) -> None:
    """Every asset path of project.yml, filled with tiny data of the right format."""
    labels_of = {"NCBI-disease": {"Disease"}, "BC5CDR": {"Chemical", "Disease"}, "BC2GM": {"GENE"}}
    for asset in srsly.read_yaml(ROOT / "project.yml")["assets"]:
        rel = Path(asset["dest"]).relative_to("assets")
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if rel.parts[0] == "ner":
            keep = labels_of.get(rel.parts[1], {"Disease"})
            blocks = ["\n".join(f"{w}\t{t if t == 'O' or t[2:] in keep else 'O'}" for w, t in s) for s in NER_SENTENCES]
            path.write_text("\n\n".join(blocks * 3) + "\n", encoding="utf8")
        elif rel.parts[0] == "ner-biobert-format":
            blocks = ["\n".join(f"{w}\t{t[0]}" for w, t in s) for s in NER_SENTENCES]
            path.write_text("\n\n".join(blocks) + "\n", encoding="utf8")
        elif rel.parts[0] == "re":
            rows = [f"{s}\t{label}" for s, label in GAD_ROWS * 3]
            if rel.name == "test.tsv":
                rows = ["index\tsentence\tlabel"] + [f"{i}\t{row}" for i, row in enumerate(rows)]
            path.write_text("\n".join(rows) + "\n", encoding="utf8")
        elif rel.parts[0] == "corpus":
            path.write_text("\n".join(s for s, _ in GAD_ROWS * 10) + "\n", encoding="utf8")
        elif rel.name.startswith("BioASQ-test-factoid"):
            qas = [{"id": f"{qid}_000", "question": question} for qid, question, _ in QUESTIONS]
            srsly.write_json(path, {"data": [{"paragraphs": [{"context": CONTEXT, "qas": qas}]}]})
        else:
            year = rel.name.split("_")[0]
            questions = [
                {"id": qid, "type": "factoid", "body": question, "exact_answer": [[answer]], "snippets": [{"text": CONTEXT}]}
                for qid, question, answer in TRAINING_QUESTIONS.get(year, QUESTIONS)
            ]
            srsly.write_json(path, {"questions": questions})


@pytest.mark.slow
def test_workflow_all_on_tiny_config(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    for name in ("project.yml", "configs", "scripts"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copyfile)(source, project / name)
    write_mirror(tmp_path / "mirror")
    base = make_tiny_bert(tmp_path / "tiny_bert")
    variables = {
        "base_model": str(base), "data_dir": str(tmp_path / "mirror"), "verify_checksums": "false",
        "pretrain_steps": 2, "pretrain_batch_size": 4, "ner_rel_steps": 4, "ner_rel_warmup": 1,
        "eval_frequency": 2, "qa_steps": 2, "qa_warmup": 1, "package_name": PACKAGE_NAME,
    }
    overrides = [arg for key, value in variables.items() for arg in (f"--vars.{key}", str(value))]
    command = [sys.executable, "-m", "spacy", "project", "run", "all", str(project), *overrides]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    try:
        result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
        report = (project / "metrics" / "report.md").read_text(encoding="utf8")
        assert "| NER | NCBI-disease |" in report and "not run" not in report
        code = (
            f"import spacy, json; nlp = spacy.load('en_{PACKAGE_NAME}'); "
            "doc = nlp('BRCA1 mutations raise breast cancer risk, and tamoxifen lowers it.'); "
            "print(json.dumps({'pipes': nlp.pipe_names, 'ents': len(doc.ents), "
            "'relations': isinstance(doc._.relations, list), 'answers': len(doc._.ask('What raises risk?')), "
            "'kb': nlp.get_pipe('linker').has_kb}))"
        )
        loaded = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        assert loaded.returncode == 0, loaded.stderr[-4000:]
        summary = json.loads(loaded.stdout.strip().splitlines()[-1])
        assert summary["pipes"][-2:] == ["biobert_qa", "doc_cleaner"] and summary["relations"] and summary["answers"] >= 1
        assert summary["kb"] is False
        # With a knowledge base, en_biobert's linker links what the NER finds.
        kb_source = tmp_path / "kb.tsv"
        kb_source.write_text("Breast Neoplasms\tD001943\tbreast cancer|breast tumor\n", encoding="utf8")
        built = subprocess.run([sys.executable, "-m", "spacy_biobert", "kb", "build", str(kb_source), str(tmp_path / "kb")],
                               env=env, capture_output=True, text=True)
        assert built.returncode == 0, built.stderr[-3000:]
        assemble = [sys.executable, "-m", "spacy", "assemble", "configs/en_biobert.cfg", str(tmp_path / "linked"),
                    "--paths.ner_rel", "training/biomedical/ner_rel/model-best", "--paths.qa",
                    "training/biomedical/qa/model-best", "--paths.kb", str(tmp_path / "kb")]
        assembled = subprocess.run(assemble, cwd=project, env=env, capture_output=True, text=True)
        assert assembled.returncode == 0, assembled.stdout[-3000:] + assembled.stderr[-3000:]
        code = (f"import spacy; nlp = spacy.load({str(tmp_path / 'linked')!r}); linker = nlp.get_pipe('linker'); "
                "doc = linker(nlp.make_doc('breast cancer')); doc.ents = [doc.char_span(0, 13, label='Disease')]; "
                "print(linker.has_kb, linker(doc).ents[0]._.kb_ents[0][0])")
        linked = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        assert linked.returncode == 0 and linked.stdout.split()[-2:] == ["True", "D001943"], linked.stderr[-3000:]
        rerun = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
        assert rerun.returncode == 0 and "Running command" not in rerun.stdout, rerun.stdout[-3000:]
        # `compare` trains the single-task models and plain HF fine-tunes and rewrites the report with their
        # columns and its table, although `report`'s own inputs are unchanged since `all`.
        compare = [sys.executable, "-m", "spacy", "project", "run", "compare", str(project), *overrides]
        compared = subprocess.run(compare, cwd=project, env=env, capture_output=True, text=True)
        assert compared.returncode == 0, compared.stdout[-3000:] + compared.stderr[-3000:]
        report = (project / "metrics" / "report.md").read_text(encoding="utf8")
        assert "ours: single-task (`compare`)" in report and "## Joint vs separate" in report
        hf_row = next(line for line in report.splitlines() if line.startswith("| NER | BC2GM |"))
        assert "plain HF fine-tune (`compare`)" in report and "not run" not in hf_row, hf_row
        # all_gpu's steps re-run the CPU steps with the GPU budget; `report` shows the forwarded variables.
        gpu_report = [sys.executable, "-m", "spacy", "project", "run", "report-gpu", str(project), *overrides]
        gpu_report += ["--vars.gpu_pretrain_steps", "7"]
        nested = subprocess.run(gpu_report, cwd=project, env=env, capture_output=True, text=True)
        assert nested.returncode == 0, nested.stdout[-3000:] + nested.stderr[-3000:]
        header = (project / "metrics" / "report.md").read_text(encoding="utf8")
        assert "pretraining 7 steps" in header and "gpu_id 0" in header and str(base) in header
        # `compare` ran at the CPU budget: its columns are not shown against the GPU budget's.
        gpu_table = header.split("## Every budget run in this project", 1)[0]
        assert "(`compare`) |" not in gpu_table and "`joint_vs_separate.json` (pretraining 2 steps" in gpu_table
    finally:
        subprocess.run([sys.executable, "-m", "pip", "uninstall", "-y", f"en_{PACKAGE_NAME}"], capture_output=True)
