"""spacy-biobert: BioBERT's biomedical NER, relation extraction and question answering as spaCy components.

Components, architectures, readers and scorers are registered through entry points (see setup.cfg), so
importing this package is never required for `spacy train` or `spacy.load`.
"""
from .about import __version__
from .data_classes import Answer, Relation

__all__ = ["__version__", "Answer", "Relation"]
