"""One training corpus made of several, so one `spacy train` fine-tunes NER, RE (and more) together.

Each part keeps the annotation marks its own reader sets (see `spacy_biobert.annotations`), so every
component learns only from the examples annotated for it. spaCy's training loop shuffles the examples
of every epoch, which interleaves the corpora.
"""
from typing import Any, Callable, Dict, Iterable, Iterator

from spacy.language import Language
from spacy.training import Example
from spacy.util import SimpleFrozenDict, registry

from ..errors import Errors

CorpusReader = Callable[[Language], Iterable[Example]]


@registry.readers("spacy_biobert.MultiCorpus.v1")
def create_multi_corpus(corpora: Dict[str, Any], repeats: Dict[str, int] = SimpleFrozenDict()) -> CorpusReader:
    """Chain the named corpora (config: a `[corpora.train.corpora.<name>]` block each) into one.

    corpora: the readers, by name; read in name order. Typed `Any` because confection validates readers
        nested in a dict before resolving them.
    repeats: copies of a corpus per epoch (default 1), to balance a small corpus against large ones: a
        component whose corpus makes up a small share of every batch otherwise sees few examples a step.
    """
    for name, value in repeats.items():
        if name not in corpora or not isinstance(value, int) or value < 1:
            raise ValueError(Errors.E024.format(name=name, value=value, choices=", ".join(sorted(corpora))))

    def read(nlp: Language) -> Iterator[Example]:
        for name in sorted(corpora):
            copies = repeats.get(name, 1)
            examples = list(corpora[name](nlp)) if copies > 1 else corpora[name](nlp)
            for _ in range(copies):
                yield from examples

    return read
