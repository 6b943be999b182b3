"""`biobert_abbreviations`: a short form defined in the document becomes an entity where its long form is one.

scispaCy's `abbreviation_detector` (Schwartz & Hearst 2003) finds definitions such as "hereditary nonpolyposis
colorectal cancer (HNPCC)" and every later "HNPCC" in `doc._.abbreviations`, each with `Span._.long_form`.
It labels nothing. This component, placed after it and after the NER components, looks for the entity that
ends where a long form ends (the NER's "hereditary nonpolyposis colorectal cancer", or "colorectal cancer"
inside a longer long form) and gives every occurrence of the short form that overlaps no entity the same
label and `Span._.score`, and `Span._.kb_ents` when a linker ran before (after it, `biobert_linker` links
short forms by their long form's text). The new entities join `doc.ents` and every span group of
`doc.spans` that holds the long form's entity (with its score in `attrs["scores"]`), so `biobert_rel`,
`annotate` and the scorers treat them as any other entity. It reads both of the detector's output forms;
`en_biobert` sets the detector's `make_serializable = true`, whose plain dicts survive `nlp.pipe(...,
n_process=N)` (spans in `doc._.abbreviations` cannot be sent between processes).
"""
import warnings
from typing import Dict, List, Tuple

import numpy
from spacy.language import Language
from spacy.tokens import Doc, Span


@Language.factory(
    "biobert_abbreviations",
    assigns=["doc.ents", "doc.spans", "span._.score"],
    requires=["doc._.abbreviations", "doc.ents"],
    default_config={},
)
def make_abbreviation_entities(nlp: Language, name: str) -> "AbbreviationEntities":
    """Create the component (it has no settings)."""
    return AbbreviationEntities(name)


class AbbreviationEntities:
    """Short forms of entity long forms become entities of the same label, score and concept ids."""

    def __init__(self, name: str = "biobert_abbreviations") -> None:
        self.name = name
        if not Span.has_extension("score"):
            Span.set_extension("score", default=None)
        # scispaCy's detector runs an empty Matcher on every doc without a definition: spaCy's W036 says so.
        warnings.filterwarnings("ignore", message=r"\[W036\]", module=r"scispacy\.abbreviation")

    def __call__(self, doc: Doc) -> Doc:
        if not Doc.has_extension("abbreviations") or not doc._.abbreviations or not doc.ents:
            return doc
        ents = list(doc.ents)
        by_end: Dict[int, Span] = {}
        for ent in ents:
            by_end.setdefault(ent.end, ent)
        taken = numpy.zeros((len(doc),), dtype=bool)
        for ent in ents:
            taken[ent.start:ent.end] = True
        added: List[Tuple[Span, Span]] = []
        for short_start, short_end, long_end in _short_forms(doc):
            source = by_end.get(long_end)
            if source is None or taken[short_start:short_end].any():
                continue
            taken[short_start:short_end] = True
            added.append((Span(doc, short_start, short_end, label=source.label), source))
        if not added:
            return doc
        for span, source in added:
            span._.score = source._.score
            if Span.has_extension("kb_ents") and source._.kb_ents:
                span._.kb_ents = list(source._.kb_ents)
        doc.ents = sorted(ents + [span for span, _ in added], key=lambda span: span.start)
        _add_to_span_groups(doc, added)
        return doc


def _short_forms(doc: Doc) -> List[Tuple[int, int, int]]:
    """(short form start, end, long form end) token offsets of `doc._.abbreviations`, in either of the forms
    scispaCy writes: spans with `Span._.long_form`, or the dicts of `make_serializable = true`."""
    found = []
    for short in doc._.abbreviations:
        if isinstance(short, dict):
            found.append((short["short_start"], short["short_end"], short["long_end"]))
        elif isinstance(short, Span) and isinstance(short._.long_form, Span):
            found.append((short.start, short.end, short._.long_form.end))
    return found


def _add_to_span_groups(doc: Doc, added: List[Tuple[Span, Span]]) -> None:
    """Append each new span to the span groups that hold its source entity, keeping `attrs["scores"]` aligned."""
    for key in list(doc.spans):
        group = doc.spans[key]
        members = {(span.start, span.end, span.label) for span in group}
        new = [span for span, source in added if (source.start, source.end, source.label) in members]
        if not new:
            continue
        scores = group.attrs.get("scores")
        for span in new:
            group.append(span)
            if isinstance(scores, list):
                scores.append(span._.score)
