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
from ..evaluation.length_order import examples_in_length_order

CorpusReader = Callable[[Language], Iterable[Example]]


@registry.readers("spacy_biobert.MultiCorpus.v1")
def create_multi_corpus(
    corpora: Dict[str, Any], repeats: Dict[str, int] = SimpleFrozenDict(), sort_by_length: bool = False
) -> CorpusReader:
    """Chain the named corpora (config: a `[corpora.train.corpora.<name>]` block each) into one.

    corpora: the readers, by name; read in name order. Typed `Any` because confection validates readers
        nested in a dict before resolving them.
    repeats: copies of a corpus per epoch (default 1), to balance a small corpus against large ones: a
        component whose corpus makes up a small share of every batch otherwise sees few examples a step.
    sort_by_length: all examples shortest first instead of corpus by corpus, for a dev corpus: spaCy's
        evaluation batches them in this order, and batches of similar lengths pad less (same scores).
    """
    for name, value in repeats.items():
        if name not in corpora or not isinstance(value, int) or value < 1:
            raise ValueError(Errors.E024.format(name=name, value=value, choices=", ".join(sorted(corpora))))

    def read(nlp: Language) -> Iterator[Example]:
        if sort_by_length:
            yield from examples_in_length_order(list(read_in_order(nlp)))
        else:
            yield from read_in_order(nlp)

    def read_in_order(nlp: Language) -> Iterator[Example]:
        for name in sorted(corpora):
            copies = repeats.get(name, 1)
            examples = list(corpora[name](nlp)) if copies > 1 else corpora[name](nlp)
            for _ in range(copies):
                yield from examples

    return read
