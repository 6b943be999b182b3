"""`biobert_linker`: scispaCy's `EntityLinker` against a user-supplied knowledge base, from a spaCy config.

scispaCy's own `scispacy_linker` factory only loads its S3-hosted KBs by name. This component wraps the
same `EntityLinker` (TF-IDF character 3-grams + nmslib nearest neighbours, candidates above `threshold`,
best first) around an index that `spacy-biobert kb build` wrote, given at initialisation:

    [components.linker]
    factory = "biobert_linker"

    [initialize.components.linker]
    kb = ${paths.kb}      # a folder written by `spacy-biobert kb build`; null: the linker stays off

It links every span of `doc.ents` and sets `Span._.kb_ents`: `(concept_id, score)` pairs, best first
(empty when nothing reaches `threshold`). With `resolve_abbreviations`, an entity that is a short form
scispaCy's `abbreviation_detector` found ("HNPCC") is linked by its long form's text (scispaCy's linker
reads `Span._.long_form`, which spaCy keys by character offsets, so the entity span sees it). Without a KB
the component passes docs through unchanged, so one pipeline config serves both. `to_disk` stores the
index inside the pipeline folder, so `spacy package` ships it.
"""
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Optional, Union

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.util import ensure_path

from ..linking.index import LinkerIndex, copy_index, is_index, load_index

DEFAULT_CONFIG: Dict[str, Any] = {
    "k": 30,
    "threshold": 0.7,
    "max_entities_per_mention": 5,
    "resolve_abbreviations": True,
    "ef_search": 200,
}


@Language.factory(
    "biobert_linker",
    assigns=["span._.kb_ents"],
    requires=["doc.ents"],
    default_config=DEFAULT_CONFIG,
)
def make_linker(
    nlp: Language,
    name: str,
    k: int,
    threshold: float,
    max_entities_per_mention: int,
    resolve_abbreviations: bool,
    ef_search: int,
) -> "KnowledgeBaseLinker":
    """Create the linker; its KB comes from `initialize(kb=...)` or from a saved pipeline.

    k: nearest aliases looked up per mention (scispaCy's `k`).
    threshold: the lowest cosine similarity a candidate needs to be kept.
    max_entities_per_mention: how many `(concept_id, score)` pairs `Span._.kb_ents` keeps.
    resolve_abbreviations: link a short form by its long form's text (needs `abbreviation_detector`).
    ef_search: nmslib's query-time `efSearch` (higher: slower, slightly more accurate).
    """
    return KnowledgeBaseLinker(
        name,
        k=k,
        threshold=threshold,
        max_entities_per_mention=max_entities_per_mention,
        resolve_abbreviations=resolve_abbreviations,
        ef_search=ef_search,
    )


class KnowledgeBaseLinker:
    """scispaCy's `EntityLinker` over an index built by `spacy-biobert kb build`."""

    def __init__(
        self,
        name: str = "biobert_linker",
        *,
        k: int = 30,
        threshold: float = 0.7,
        max_entities_per_mention: int = 5,
        resolve_abbreviations: bool = True,
        ef_search: int = 200,
    ) -> None:
        if not Span.has_extension("kb_ents"):
            Span.set_extension("kb_ents", default=[])
        self.name = name
        self.cfg = {
            "k": k,
            "threshold": threshold,
            "max_entities_per_mention": max_entities_per_mention,
            "resolve_abbreviations": resolve_abbreviations,
            "ef_search": ef_search,
        }
        self.index: Optional[LinkerIndex] = None
        self.index_path: Optional[Path] = None
        self.linker: Any = None

    @property
    def has_kb(self) -> bool:
        """Whether a knowledge base is loaded (without one, docs pass through unchanged)."""
        return self.linker is not None

    def initialize(
        self, get_examples: Optional[Callable[[], Iterable[Example]]] = None, *, nlp: Optional[Language] = None,
        kb: Optional[Union[str, Path]] = None,
    ) -> None:
        """Load the index folder `kb` (from `spacy-biobert kb build`); None or "" leaves the linker off."""
        if kb:
            self.load_kb(kb)

    def load_kb(self, path: Union[str, Path]) -> None:
        """Load an index folder and build scispaCy's `EntityLinker` on it."""
        from scispacy.linking import EntityLinker

        self.index = load_index(path, ef_search=self.cfg["ef_search"])
        self.index_path = Path(path)
        self.linker = EntityLinker(
            candidate_generator=self.index.candidate_generator(),
            resolve_abbreviations=self.cfg["resolve_abbreviations"],
            k=self.cfg["k"],
            threshold=self.cfg["threshold"],
            filter_for_definitions=False,
            max_entities_per_mention=self.cfg["max_entities_per_mention"],
        )

    def __call__(self, doc: Doc) -> Doc:
        if self.linker is None or not doc.ents:
            return doc
        return self.linker(doc)

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterable[Doc]:
        for doc in stream:
            yield self(doc)

    def to_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()) -> None:
        path = ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        if self.index_path is not None:
            copy_index(self.index_path, path)

    def from_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()) -> "KnowledgeBaseLinker":
        path = ensure_path(path)
        if is_index(path):
            self.load_kb(path)
        return self

