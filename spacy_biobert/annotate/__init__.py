"""Corpus-scale annotation with any spaCy pipeline (`spacy-biobert annotate`).

Reads JSONL, plain text, PubTator or PubMed XML; writes JSONL, PubTator or BioC JSON; resumable and
lossless through atomically renamed shards and a manifest; runs locally or on a Ray cluster.
"""
from .runner import ENGINES, annotate
from .shards import RunSummary

__all__ = ["ENGINES", "RunSummary", "annotate"]
