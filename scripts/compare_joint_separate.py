"""Joint training (NER and RE share one transformer) against separate training (one transformer each).

Scores both set-ups with the same evaluation code the workflow uses, and times NER + RE inference over
the NCBI-disease test sentences: the joint pipeline runs one transformer pass; the separate set-up is one
pipeline too, the NER components on their transformer and `biobert_rel` with its own copy of the other
(spaCy's `replace_listeners`), so it runs two. Writes a markdown section that `scripts/report.py` includes
in metrics/report.md, and the scores as JSON beside it (its single-task column), both with the workflow's
budget, so that the report shows them only under the budget they were trained at.
"""
import time
from pathlib import Path
from typing import Dict, List, Tuple

import spacy
import srsly
import typer
from spacy.language import Language
from spacy.tokens import Doc

from spacy_biobert.evaluation import ner as ner_eval
from spacy_biobert.evaluation import rel as rel_eval
from spacy_biobert.evaluation.settings import NERSettings
from spacy_biobert.readers.ner import read_iob_sentences

NER_SETS: List[Tuple[str, str]] = [("ner_ncbi", "NCBI-disease"), ("ner_bc5cdr", "BC5CDR"), ("ner_bc2gm", "BC2GM")]


def scores(ner_model: Path, rel_model: Path, assets: Path, gad_fold: int) -> Dict[str, float]:
    """Entity F1 per NER corpus (test split) and GAD relation F1, in percent."""
    result = {}
    for key, corpus in NER_SETS:
        evaluated = ner_eval.evaluate(str(ner_model), assets / "ner" / corpus / "test.tsv", NERSettings(spans_key=key))
        result[corpus] = 100 * evaluated["scores"]["ents_f"]
    evaluated = rel_eval.evaluate(str(rel_model), assets / "re" / "GAD" / str(gad_fold) / "test.tsv")
    result["GAD"] = 100 * evaluated["scores"]["rel_f"]
    return result


def separate_pipeline(ner_model: Path, rel_model: Path) -> Language:
    """The NER pipeline plus the separately trained `biobert_rel`, which takes its transformer along (placed
    before the NER pipeline's `doc_cleaner`, where the joint pipeline has it)."""
    nlp = spacy.load(ner_model)
    rel_nlp = spacy.load(rel_model, vocab=nlp.vocab)
    rel_nlp.replace_listeners("transformer", "biobert_rel", ["model.tok2vec"])
    before = "doc_cleaner" if "doc_cleaner" in nlp.pipe_names else None
    nlp.add_pipe("biobert_rel", source=rel_nlp, before=before)
    return nlp


def words_per_second(nlp: Language, words: List[List[str]]) -> float:
    """NER + RE throughput of one pipeline over pre-tokenised sentences."""
    docs = [Doc(nlp.vocab, words=sentence) for sentence in words]
    start = time.perf_counter()
    for _ in nlp.pipe(docs, batch_size=64):
        pass
    return sum(len(sentence) for sentence in words) / (time.perf_counter() - start)


def main(
    joint: Path = typer.Argument(..., help="The jointly trained NER + RE pipeline."),
    separate_ner: Path = typer.Argument(..., help="The NER components trained on their own transformer."),
    separate_rel: Path = typer.Argument(..., help="The relation extractor trained on its own transformer."),
    assets: Path = typer.Argument(..., help="The assets folder with ner/ and re/."),
    budget: str = typer.Option(..., help="The workflow's budget in words (project.yml's `budget`), recorded with the scores."),
    gad_fold: int = typer.Option(1, help="GAD fold whose test split scores RE."),
    n_sentences: int = typer.Option(500, help="NCBI-disease test sentences to time inference on."),
    output: Path = typer.Option(Path("metrics/joint_vs_separate.md"), help="Markdown file to write."),
) -> None:
    joint_scores = scores(joint, joint, assets, gad_fold)
    separate_scores = scores(separate_ner, separate_rel, assets, gad_fold)
    words = [w for w, _ in read_iob_sentences(assets / "ner" / "NCBI-disease" / "test.tsv")][:n_sentences]
    joint_speed = words_per_second(spacy.load(joint), words)
    separate_speed = words_per_second(separate_pipeline(separate_ner, separate_rel), words)
    lines = [
        "## Joint vs separate fine-tuning of NER and RE",
        "",
        f"Budget: {budget}.",
        "",
        "| set-up | " + " | ".join(joint_scores) + " | NER+RE words/s |",
        "| --- | " + " | ".join("---:" for _ in joint_scores) + " | ---: |",
        "| joint (one transformer) | " + " | ".join(f"{v:.2f}" for v in joint_scores.values()) + f" | {joint_speed:,.0f} |",
        "| separate (one each, `replace_listeners`) | " + " | ".join(f"{v:.2f}" for v in separate_scores.values()) + f" | {separate_speed:,.0f} |",
        "| joint − separate | " + " | ".join(f"{joint_scores[k] - separate_scores[k]:+.2f}" for k in joint_scores)
        + f" | {joint_speed / separate_speed:.2f}x |",
        "",
        f"Inference over {len(words)} NCBI-disease test sentences on this machine; F1 in percent on the test splits.",
        "`en_biobert` ships the joint set-up: one transformer pass serves NER and RE. The README says why.",
    ]
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("\n".join(lines) + "\n", encoding="utf8")
    summary = {"budget": budget, "joint": joint_scores, "separate": separate_scores, "words_per_s": {"joint": joint_speed, "separate": separate_speed}}
    srsly.write_json(output.with_suffix(".json"), summary)
    print("\n".join(lines))


if __name__ == "__main__":
    typer.run(main)
