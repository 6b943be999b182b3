"""One training corpus made of several, so one `spacy train` fine-tunes NER, RE (and more) together.

Each part keeps the annotation marks its own reader sets (see `spacy_biobert.annotations`), so every
component learns only from the examples annotated for it. spaCy's training loop shuffles the examples
of every epoch, which interleaves the corpora.
"""
from typing import Any, Callable, Dict, Iterable, Iterator

from spacy.language import Language
from spacy.training import Example
from spacy.util import registry

CorpusReader = Callable[[Language], Iterable[Example]]


@registry.readers("spacy_biobert.MultiCorpus.v1")
def create_multi_corpus(corpora: Dict[str, Any]) -> CorpusReader:
    """Chain the named corpora (config: a `[corpora.train.corpora.<name>]` block each) into one.

    The values are typed `Any` because confection validates readers nested in a dict before resolving them.
    """

    def read(nlp: Language) -> Iterator[Example]:
        for name in sorted(corpora):
            yield from corpora[name](nlp)

    return read
