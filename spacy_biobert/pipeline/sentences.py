"""scispaCy's pySBD sentence splitter (`pysbd_sentencizer`), loadable without importing scispaCy first.

scispaCy registers it with `@Language.component` when its module is imported and declares no entry point;
this factory, named in our `spacy_factories` entry points, imports it so that a pipeline that lists
`pysbd_sentencizer` loads with plain `spacy.load`. Relation candidates are pairs within one sentence,
and pySBD cuts fewer gold mentions than spaCy's rule-based `sentencizer` (bench/RESULTS.md).
"""
from typing import Callable

from spacy.language import Language
from spacy.tokens import Doc
from scispacy.custom_sentence_segmenter import pysbd_sentencizer


def make_pysbd_sentencizer(nlp: Language, name: str) -> Callable[[Doc], Doc]:
    """scispaCy's component function: sentence starts from pySBD's character spans."""
    return pysbd_sentencizer
