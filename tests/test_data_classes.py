"""The stored layout of relations, questions and answers, and their encode/decode round trip."""
import spacy
from spacy.tokens import Doc, DocBin, Span

from spacy_biobert.data_classes import (
    ANSWERS_KEY,
    QUESTION_IDS_KEY,
    QUESTION_TYPES_KEY,
    QUESTIONS_KEY,
    RELATIONS_KEY,
    YESNO_KEY,
    Answer,
    QAData,
    Relation,
    add_answers,
    get_answers,
    get_extension,
    get_relations,
    install_qa_extensions,
    install_relation_extension,
    set_qa_data,
    set_relations,
)


def _through_doc_bin(doc: Doc) -> Doc:
    doc_bin = DocBin(store_user_data=True, docs=[doc])
    return list(DocBin().from_bytes(doc_bin.to_bytes()).get_docs(doc.vocab))[0]


def test_relations_layout_and_round_trip():
    nlp = spacy.blank("en")
    doc = nlp("BRCA1 mutations cause breast cancer .")
    gene, disease = Span(doc, 0, 1, label="GENE"), Span(doc, 3, 5, label="DISEASE")
    set_relations(doc, [Relation(gene, disease, "ASSOCIATED", 0.75)])
    # The layout pipelines and DocBins saved by earlier versions hold: it must not change.
    assert doc.user_data[RELATIONS_KEY] == [
        {"head": [0, 1, "GENE"], "tail": [3, 5, "DISEASE"], "label": "ASSOCIATED", "score": 0.75}
    ]
    for restored in (doc, _through_doc_bin(doc), Doc(nlp.vocab).from_bytes(doc.to_bytes())):
        (relation,) = get_relations(restored)
        assert (relation.head.text, relation.head.label_, relation.tail.text, relation.tail.label_) == (
            "BRCA1", "GENE", "breast cancer", "DISEASE"
        )
        assert (relation.label, relation.score) == ("ASSOCIATED", 0.75)
    install_relation_extension()
    assert doc._.relations == get_relations(doc)
    assert get_relations(nlp("no relations")) == []


def test_qa_layout_and_round_trip():
    nlp = spacy.blank("en")
    doc = nlp("Imatinib inhibits BCR-ABL kinase .")
    question = "What does imatinib inhibit?"
    set_qa_data(
        doc, [question], answers={question: [(18, 25, 1.0)]}, ids={question: "q1"}, types={question: "factoid"}
    )
    add_answers(doc, "Is it a drug?", [Answer(doc[0:1], 0.5)], 0.9)
    add_answers(doc, "What kind of drug?", [Answer(doc[4:5], 0.25, 23, 25)], None)
    assert doc.user_data[QUESTIONS_KEY] == [question]
    assert doc.user_data[ANSWERS_KEY] == {question: [[18, 25, 1.0]], "Is it a drug?": [[0, 8, 0.5]],
                                          "What kind of drug?": [[23, 25, 0.25]]}
    assert doc.user_data[QUESTION_IDS_KEY] == {question: "q1"}
    assert doc.user_data[QUESTION_TYPES_KEY] == {question: "factoid"}
    assert doc.user_data[YESNO_KEY] == {"Is it a drug?": 0.9}
    for restored in (doc, _through_doc_bin(doc)):
        data = QAData.from_doc(restored)
        assert data == QAData(
            [question],
            {question: [(18, 25, 1.0)], "Is it a drug?": [(0, 8, 0.5)], "What kind of drug?": [(23, 25, 0.25)]},
            {question: "q1"},
            {question: "factoid"},
            {"Is it a drug?": 0.9},
        )
        answers = get_answers(restored)
        assert [(a.span.text, a.score) for a in answers[question]] == [("BCR-ABL", 1.0)]
        partial = answers["What kind of drug?"][0]
        assert (partial.span.text, partial.text, partial.offsets) == ("ABL", "BL", (23, 25))
        assert isinstance(answers[question][0], Answer)
    assert QAData.from_doc(nlp("nothing stored")) == QAData([], {}, {}, {}, {})


def test_set_qa_data_writes_only_what_is_given():
    doc = spacy.blank("en")("context")
    set_qa_data(doc, ["why?"])
    assert set(doc.user_data) == {QUESTIONS_KEY}
    install_qa_extensions()
    doc._.questions = "how?"
    assert doc._.questions == ["how?"] and doc._.answers == {}


def test_get_extension_of_an_uninstalled_extension():
    doc = spacy.blank("en")("text")
    assert get_extension(doc, "not_installed_by_anyone") is None
    assert get_extension(doc[0:1], "not_installed_by_anyone") is None
