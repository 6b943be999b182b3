"""scispaCy inside our pipelines: the registered tokenizer, pySBD sentences and abbreviation entities."""
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span, SpanGroup

SCISPACY_TOKENIZER = {"nlp": {"tokenizer": {"@tokenizers": "spacy_biobert.SciSpacyTokenizer.v1"}}}
TEXT = ("Families with hereditary nonpolyposis colorectal cancer (HNPCC) were studied. "
        "Most HNPCC tumours carry IL-2-deficient cells. HNPCC is common.")
LONG_FORM = "hereditary nonpolyposis colorectal cancer"


@Language.component("test_long_form_ner")
def long_form_ner(doc: Doc) -> Doc:
    """A stand-in NER: tags the long form only, with a score, in `doc.ents` and a span group."""
    if not Span.has_extension("score"):
        Span.set_extension("score", default=None)
    start = doc.text.find(LONG_FORM)
    spans = []
    if start >= 0:
        span = doc.char_span(start, start + len(LONG_FORM), label="Disease")
        span._.score = 0.8
        spans.append(span)
    doc.ents = spans
    doc.spans["ner"] = SpanGroup(doc, name="ner", spans=spans, attrs={"scores": [0.8] * len(spans)})
    return doc


def abbreviation_pipeline(make_serializable: bool = False) -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("test_long_form_ner")
    nlp.add_pipe("abbreviation_detector", config={"make_serializable": make_serializable})
    nlp.add_pipe("biobert_abbreviations")
    return nlp


def test_scispacy_tokenizer_keeps_biomedical_words() -> None:
    nlp = spacy.blank("en", config=SCISPACY_TOKENIZER)
    words = [t.text for t in nlp("IL-2-deficient mice got 5mg/kg.")]
    assert words == ["IL-2-deficient", "mice", "got", "5mg/kg", "."]
    assert [t.text for t in spacy.blank("en")("IL-2-deficient")] != ["IL-2-deficient"]


def test_scispacy_tokenizer_round_trip(tmp_path: Path) -> None:
    nlp = spacy.blank("en", config=SCISPACY_TOKENIZER)
    nlp.add_pipe("pysbd_sentencizer")
    nlp.to_disk(tmp_path / "pipeline")
    expected = [t.text for t in nlp(TEXT)]
    reloaded = spacy.load(tmp_path / "pipeline")
    assert reloaded.config["nlp"]["tokenizer"]["@tokenizers"] == "spacy_biobert.SciSpacyTokenizer.v1"
    assert [t.text for t in reloaded(TEXT)] == expected
    assert len(list(reloaded(TEXT).sents)) == 3


def test_saved_pipeline_loads_without_imports(tmp_path: Path) -> None:
    """Entry points make the tokenizer and every scispaCy-based component load in a fresh interpreter."""
    nlp = spacy.blank("en", config=SCISPACY_TOKENIZER)
    for factory in ("pysbd_sentencizer", "abbreviation_detector", "biobert_abbreviations", "biobert_linker"):
        nlp.add_pipe(factory)
    nlp.to_disk(tmp_path / "pipeline")
    code = (f"import spacy; nlp = spacy.load({str(tmp_path / 'pipeline')!r}); "
            f"doc = nlp({TEXT!r}); print(len(doc._.abbreviations), len(list(doc.sents)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["3", "3"]


@pytest.mark.parametrize("make_serializable", [False, True])
def test_short_forms_take_the_long_form_label_and_score(make_serializable: bool) -> None:
    doc = abbreviation_pipeline(make_serializable)(TEXT)
    ents = [(e.text, e.label_, e._.score) for e in doc.ents]
    assert ents == [(LONG_FORM, "Disease", 0.8)] + [("HNPCC", "Disease", 0.8)] * 3
    group = doc.spans["ner"]
    assert [s.text for s in group] == [LONG_FORM, "HNPCC", "HNPCC", "HNPCC"]
    assert group.attrs["scores"] == [0.8] * 4


def test_short_form_the_ner_found_is_kept() -> None:
    nlp = abbreviation_pipeline()

    @Language.component("test_tag_first_short_form")
    def tag_first_short_form(doc: Doc) -> Doc:
        start = doc.text.find("HNPCC")
        span = doc.char_span(start, start + 5, label="Gene")
        doc.ents = list(doc.ents) + [span]
        return doc

    nlp.add_pipe("test_tag_first_short_form", after="test_long_form_ner")
    labels = [(e.text, e.label_) for e in nlp(TEXT).ents]
    assert labels == [(LONG_FORM, "Disease"), ("HNPCC", "Gene"), ("HNPCC", "Disease"), ("HNPCC", "Disease")]


def test_no_long_form_entity_no_new_entities() -> None:
    doc = abbreviation_pipeline()("Children with Tay-Sachs disease (TSD) were seen. TSD is rare.")
    assert len(doc._.abbreviations) == 2
    assert list(doc.ents) == []


def test_relation_candidates_include_short_forms() -> None:
    """biobert_rel takes its mentions from doc.ents and the NER span groups: both hold the short forms."""
    nlp = abbreviation_pipeline()
    nlp.add_pipe("pysbd_sentencizer", first=True)
    doc = nlp(TEXT + " HNPCC and colorectal cancer (CRC) co-occur.")
    rel = spacy.blank("en").add_pipe("biobert_rel", config={"spans_keys": ["ner"]})
    mentions = rel.mentions(doc)
    assert [m.text for m in mentions] == [LONG_FORM, "HNPCC", "HNPCC", "HNPCC", "HNPCC"]
    pairs = rel.find_candidates(doc, mentions)
    assert len(pairs) == 2  # the long form and its short form share the first sentence


def test_serializable_abbreviations_cross_processes() -> None:
    """With the detector's `make_serializable` (as en_biobert sets it), docs survive `n_process=2`."""
    nlp = abbreviation_pipeline(make_serializable=True)
    docs = list(nlp.pipe([TEXT, TEXT], n_process=2))
    assert [[e.text for e in doc.ents] for doc in docs] == [[LONG_FORM, "HNPCC", "HNPCC", "HNPCC"]] * 2
