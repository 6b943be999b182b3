"""Package metadata, kept import-free so setup.cfg can read the version."""

__title__ = "spacy-biobert"
__version__ = "0.1.0"
