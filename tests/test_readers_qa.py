import json
import warnings
from pathlib import Path

import pytest
import spacy
from spacy.util import load_config, registry

from spacy_biobert.annotations import QUESTIONS, is_annotated
from spacy_biobert.data_classes import ANSWERS_KEY, QUESTION_IDS_KEY, get_questions
from spacy_biobert.readers.qa import BioASQCorpus, read_bioasq, read_squad

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "qa.cfg"

SQUAD = {
    "version": "1.1",
    "data": [
        {
            "title": "t",
            "paragraphs": [
                {
                    "context": "Imatinib inhibits the BCR-ABL tyrosine kinase.",
                    "qas": [
                        {"id": "q1", "question": "What does imatinib inhibit?", "answers": [
                            {"text": "BCR-ABL tyrosine kinase", "answer_start": 22},
                            {"text": "BCR-ABL tyrosine kinase", "answer_start": 22},
                        ]},
                        {"id": "q2_000", "question": "Which drug inhibits BCR-ABL?"},
                    ],
                }
            ],
        }
    ],
}

BIOASQ = {
    "questions": [
        {
            "id": "f1", "type": "factoid", "body": "Which gene raises breast cancer risk?",
            "exact_answer": [["BRCA1", "breast cancer 1"]],
            "snippets": [
                {"text": "Mutations of brca1 raise breast cancer risk."},
                {"text": "Mutations of brca1 raise breast cancer risk."},
                {"text": "BRCA1, also breast cancer 1, is a tumour suppressor."},
                {"text": "BRCA10 is not an answer."},
            ],
        },
        {
            "id": "l1", "type": "list", "body": "Which drugs inhibit kinases?",
            "exact_answer": [["imatinib"], ["dasatinib"]],
            "snippets": [{"text": "Imatinib and dasatinib are kinase inhibitors."}],
        },
        {
            "id": "u1", "type": "factoid", "body": "What is unanswerable?",
            "exact_answer": [["nothing"]],
            "snippets": [{"text": "No answer here."}],
        },
        {"id": "y1", "type": "yesno", "body": "Is this a yes/no question?", "exact_answer": "yes", "snippets": []},
    ]
}


def write_json(path: Path, data) -> Path:
    path.write_text(json.dumps(data, indent=1), encoding="utf8")
    return path


def test_squad_reader(tmp_path):
    path = write_json(tmp_path / "squad.json", SQUAD)
    nlp = spacy.blank("en")
    reader = registry.resolve({"r": {"@readers": "spacy_biobert.SquadReader.v1", "path": str(path)}})["r"]
    examples = list(reader(nlp))
    assert len(examples) == 2
    first = examples[0]
    assert first.reference.text == SQUAD["data"][0]["paragraphs"][0]["context"]
    assert get_questions(first.predicted) == ["What does imatinib inhibit?"]
    assert ANSWERS_KEY not in first.predicted.user_data
    gold = first.reference.user_data[ANSWERS_KEY]["What does imatinib inhibit?"]
    assert [first.reference.text[s:e] for s, e, _ in gold] == ["BCR-ABL tyrosine kinase"]
    # Contexts of one question are grouped by the question's text (no `question_id` field in the file).
    assert first.reference.user_data[QUESTION_IDS_KEY] == {"What does imatinib inhibit?": "what does imatinib inhibit?"}
    assert is_annotated(first.reference, QUESTIONS)
    assert examples[1].reference.user_data[ANSWERS_KEY] == {"Which drug inhibits BCR-ABL?": []}
    assert len(list(reader.__class__(reader.get_records, limit=1)(nlp))) == 1


def test_squad_reader_invalid_json_names_file_line_and_column(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{\n  "data": [\n    {"paragraphs": [}\n  ]\n}\n', encoding="utf8")
    with pytest.raises(ValueError, match=r"E003.*broken\.json.*line 3, column 21"):
        list(read_squad(path))


def test_squad_reader_bad_structure_and_bad_offset(tmp_path):
    data = json.loads(json.dumps(SQUAD))
    del data["data"][0]["paragraphs"][0]["context"]
    path = write_json(tmp_path / "nocontext.json", data)
    with pytest.raises(ValueError, match=r"E015.*nocontext\.json: data\[0\]\.paragraphs\[0\].*`context`"):
        list(read_squad(path))
    data = json.loads(json.dumps(SQUAD))
    data["data"][0]["paragraphs"][0]["qas"][0]["answers"][0]["answer_start"] = 3
    path = write_json(tmp_path / "offset.json", data)
    with pytest.raises(ValueError, match=r"E016.*offset\.json, question q1"):
        list(read_squad(path))
    with pytest.raises(ValueError, match="E001"):
        list(read_squad(tmp_path / "missing.json"))


def test_bioasq_reader_examples_and_unanswerable(tmp_path):
    path = write_json(tmp_path / "golden.json", BIOASQ)
    corpus = BioASQCorpus([path])
    nlp = spacy.blank("en")
    with pytest.warns(UserWarning, match=r"W001\] 1 of 3 BioASQ questions"):
        examples = list(corpus(nlp))
    assert corpus.unanswerable == ["u1"]
    assert corpus.n_questions == 3
    # f1: the duplicate snippet counts once, "BRCA10" is no match; l1: one snippet, two answers.
    found = []
    for eg in examples:
        (question,) = get_questions(eg.reference)
        spans = eg.reference.user_data[ANSWERS_KEY][question]
        found.append((eg.reference.user_data[QUESTION_IDS_KEY][question], [eg.reference.text[s:e] for s, e, _ in spans]))
    assert found == [
        ("f1", ["brca1"]),
        ("f1", ["BRCA1", "breast cancer 1"]),
        ("l1", ["Imatinib", "dasatinib"]),
    ]


def test_bioasq_reader_exclude_by_id_text_and_squad_ids(tmp_path):
    path = write_json(tmp_path / "golden.json", BIOASQ)
    by_id = write_json(tmp_path / "test_golden.json", {"questions": [{"id": "f1", "body": "other"}]})
    by_text = write_json(tmp_path / "test2.json", {"questions": [{"id": "zz", "body": "which drugs  INHIBIT kinases?"}]})
    squad_ids = write_json(tmp_path / "squad_test.json", {"data": [{"paragraphs": [
        {"context": "c", "qas": [{"id": "u1_003", "question_id": "u1", "question": "q"}]}]}]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert [qid for qid, _, _ in read_bioasq(path, excluded=None)] == ["f1", "l1", "u1"]
        corpus = BioASQCorpus([path], exclude=[by_id, by_text, squad_ids])
        assert list(corpus.records()) == []
        assert corpus.n_questions == 0
    bad = write_json(tmp_path / "neither.json", [1, 2])
    with pytest.raises(ValueError, match="E017"):
        BioASQCorpus([path], exclude=[bad])


def test_bioasq_reader_splits_are_disjoint(tmp_path):
    questions = [
        {"id": f"id{i}", "type": "factoid", "body": f"question {i}?", "exact_answer": [["kinase"]],
         "snippets": [{"text": f"kinase number {i}"}]}
        for i in range(40)
    ]
    path = write_json(tmp_path / "many.json", {"questions": questions})
    ids = {}
    for split in ("all", "train", "dev"):
        corpus = BioASQCorpus([path], split=split, dev_fraction=0.25)
        ids[split] = {record.id for record in corpus.records()}
    assert ids["train"] and ids["dev"]
    assert not ids["train"] & ids["dev"]
    assert ids["train"] | ids["dev"] == ids["all"]


def test_bioasq_reader_bad_options_and_structure(tmp_path):
    with pytest.raises(ValueError, match="E018"):
        BioASQCorpus([tmp_path / "x.json"], question_types=["opinion"])
    with pytest.raises(ValueError, match="E019"):
        BioASQCorpus([tmp_path / "x.json"], split="test")
    path = write_json(tmp_path / "nobody.json", {"questions": [{"id": "a", "type": "factoid"}]})
    with pytest.raises(ValueError, match=r"E015.*nobody\.json: questions\[0\].*`body`"):
        list(BioASQCorpus([path]).records())


def test_default_training_set_has_no_6b_question(shared_data):
    """The training corpus of configs/qa.cfg leaves out every question of 6B (the evaluation year)."""
    bioasq = shared_data / "qa" / "BioASQ"
    config = load_config(CONFIG, overrides={"paths.bioasq": str(bioasq)}, interpolate=True)
    train = registry.resolve({"train": config["corpora"]["train"]})["train"]
    dev = registry.resolve({"dev": config["corpora"]["dev"]})["dev"]
    test_ids = {q["id"] for q in json.loads((bioasq / "6B_golden.json").read_text(encoding="utf8"))["questions"]}
    test_texts = {" ".join(q["body"].casefold().split())
                  for q in json.loads((bioasq / "6B_golden.json").read_text(encoding="utf8"))["questions"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train_records = list(train.records())
        dev_records = list(dev.records())
    assert len(train_records) > 1000
    for record in train_records + dev_records:
        assert record.id.split("_")[0] not in test_ids
        assert " ".join(record.question.casefold().split()) not in test_texts
    assert not {r.id.split("_")[0] for r in train_records} & {r.id.split("_")[0] for r in dev_records}


def test_shared_qa_corpus_counts(shared_data):
    bioasq = shared_data / "qa" / "BioASQ"
    factoid = list(read_bioasq(bioasq / "6B_golden.json", question_types=["factoid"]))
    assert len(factoid) == 161
    assert len(list(read_squad(bioasq / "BioASQ-test-factoid-6b-1.json"))) == 121
    files = sorted((shared_data / "qa").glob("**/*.json"))
    assert len(files) == 13
    for path in files:
        if "questions" in json.loads(path.read_text(encoding="utf8")):
            assert list(read_bioasq(path, question_types=["factoid", "list", "yesno", "summary"]))
        else:
            assert list(read_squad(path))
