"""`annotate_items` with `sort_buffer`: the pipeline sees each buffer of documents sorted by length, and the
records come out the same as unsorted, in input order, with every failure in its place (issue 13)."""
import itertools
import json
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from spacy.language import Language
from spacy.tokens import Doc
from typer.testing import CliRunner

from spacy_biobert.annotate import AnnotateSettings, annotate
from spacy_biobert.annotate.annotator import annotate_items
from spacy_biobert.annotate.documents import InputDoc, InputFailure, Item
from spacy_biobert.cli import app

from .util import ruler_pipeline

MAX_LENGTH = 60
# Mixed lengths, an empty text, a text over MAX_LENGTH, a text the pipeline raises on and an unreadable input.
ITEMS: List[Item] = [
    InputDoc("d0", "BRCA1 mutations raise breast cancer risk in carriers.", "in:1"),
    InputDoc("d1", "BRCA1.", "in:2"),
    InputDoc("d2", "", "in:3"),
    InputDoc("d3", "Tamoxifen " * 10, "in:4"),
    InputDoc("d4", "This one goes BOOM.", "in:5"),
    InputFailure("d5", "in:6", "unreadable on purpose"),
    InputDoc("d6", "tamoxifen and breast cancer", "in:7"),
    InputDoc("d7", "x", "in:8"),
    InputDoc("d8", "Nothing to see here, nothing at all.", "in:9"),
    InputDoc("d9", "breast cancer", "in:10"),
]
LENGTHS: List[int] = []


@Language.component("sorting_test_boom")
def sorting_test_boom(doc: Doc) -> Doc:
    if "BOOM" in doc.text:
        raise RuntimeError("exploded on purpose")
    return doc


@Language.component("sorting_test_lengths")
def sorting_test_lengths(doc: Doc) -> Doc:
    LENGTHS.append(len(doc.text))
    return doc


def run(items: List[Item], **kwargs: Any) -> List[Tuple[Any, Dict[str, Any]]]:
    """`(context, record)` pairs of `annotate_items` on a ruler + boom pipeline; contexts are input positions."""
    nlp = ruler_pipeline("sorting_test_boom")
    nlp.max_length = MAX_LENGTH
    return list(annotate_items(nlp, ((item, i) for i, item in enumerate(items)), **kwargs))


@pytest.mark.parametrize(
    "sort_buffer,batch_size,n_process", [(1000, 2, 1), (3, 2, 1), (2, 1, 1), (len(ITEMS), 4, 1), (4, 2, 2)]
)
def test_sorted_records_same_as_unsorted(sort_buffer: int, batch_size: int, n_process: int) -> None:
    """Every item once, in input order, with the records of the unsorted run: dropped-batch retries (BOOM
    shares a batch), a component failure, a text over max_length, an empty text and an input failure."""
    expected = run(ITEMS, batch_size=batch_size, sort_buffer=1)
    assert [context for context, _ in expected] == list(range(len(ITEMS)))
    assert [record["id"] for _, record in expected] == [item.id for item in ITEMS]
    errors = {record["id"]: record["error"] for _, record in expected if "error" in record}
    assert set(errors) == {"d3", "d4", "d5"}
    assert errors["d3"].startswith("[E512]") and "exploded on purpose" in errors["d4"]
    assert errors["d5"] == "unreadable on purpose"
    assert expected[1][1]["entities"][0]["text"] == "BRCA1"
    assert run(ITEMS, batch_size=batch_size, n_process=n_process, sort_buffer=sort_buffer) == expected


@pytest.mark.parametrize(
    "sort_buffer,expected",
    [(1, [30, 5, 20, 0, 12, 40, 8, 1]), (3, [5, 20, 30, 0, 12, 1, 8, 40]), (100, [0, 1, 5, 8, 12, 20, 30, 40])],
)
def test_pipeline_sees_each_buffer_sorted_by_length(sort_buffer: int, expected: List[int]) -> None:
    """The documents reach the pipeline shortest first within each buffer of `sort_buffer` items (the input failure,
    5th, counts in its buffer but skips the pipeline)."""
    items: List[Item] = [InputDoc(f"d{i}", "a" * n, f"in:{i}") for i, n in enumerate([30, 5, 20, 0, 12, 40, 8, 1])]
    items.insert(4, InputFailure("bad", "in:bad", "unreadable"))
    nlp = ruler_pipeline("sorting_test_lengths")
    LENGTHS.clear()
    out = list(annotate_items(nlp, ((item, item.id) for item in items), batch_size=2, sort_buffer=sort_buffer))
    assert LENGTHS == expected
    assert [context for context, _ in out] == [item.id for item in items]


def test_reads_ahead_one_buffer_at_most() -> None:
    """Lazy: from an endless input, the first records come after reading one buffer (5 items), no more."""
    read: List[int] = []

    def endless() -> Iterator[Tuple[Item, int]]:
        for i in itertools.count():
            read.append(i)
            yield InputDoc(str(i), "BRCA1 " * (i % 7), f"in:{i}"), i

    records = annotate_items(ruler_pipeline(), endless(), batch_size=2, sort_buffer=5)
    assert [context for context, _ in itertools.islice(records, 3)] == [0, 1, 2]
    assert len(read) == 5


def write_jsonl(path: Path, texts: List[str]) -> Path:
    path.write_text("".join(json.dumps({"id": f"doc{i}", "text": t}) + "\n" for i, t in enumerate(texts)),
                    encoding="utf8")
    return path


def test_annotate_output_files_identical(model_dir: Path, tmp_path: Path) -> None:
    """`annotate()` and `spacy-biobert annotate --sort-buffer N` write the same files as unsorted runs."""
    texts = [item.text for item in ITEMS if isinstance(item, InputDoc)] * 3
    inp = write_jsonl(tmp_path / "in.jsonl", texts)
    with inp.open("a", encoding="utf8") as file_:
        file_.write("not json\n")

    def outputs(name: str) -> Tuple[bytes, bytes]:
        return (tmp_path / name).read_bytes(), (tmp_path / f"{name}.errors.jsonl").read_bytes()

    nlp = ruler_pipeline("sorting_test_boom")
    for sort_buffer in (1, 3, 1000):
        settings = AnnotateSettings(shard_size=4, batch_size=2, max_length=MAX_LENGTH, sort_buffer=sort_buffer,
                                    progress=False)
        summary = annotate(nlp, inp, tmp_path / f"api{sort_buffer}.jsonl", settings)
        assert (summary.documents, summary.errors) == (21, 7)
        assert outputs(f"api{sort_buffer}.jsonl") == outputs("api1.jsonl")
    for sort_buffer in ("1", "3", "1000"):
        args = ["annotate", str(model_dir), str(inp), str(tmp_path / f"cli{sort_buffer}.jsonl"), "--shard-size", "4",
                "--batch-size", "2", "--max-length", str(MAX_LENGTH), "--sort-buffer", sort_buffer, "--no-progress"]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        assert outputs(f"cli{sort_buffer}.jsonl") == outputs("cli1.jsonl")
    assert len(outputs("cli1.jsonl")[0].splitlines()) == 24
