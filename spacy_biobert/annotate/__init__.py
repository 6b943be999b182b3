"""Corpus-scale annotation with any spaCy pipeline (`spacy-biobert annotate`).

Reads JSONL, plain text, PubTator or PubMed XML; writes JSONL, PubTator or BioC JSON; resumable and
lossless through atomically renamed shards and a manifest (which a resume checks against the inputs and
the model), one run at a time per OUTPUT (a lock); runs locally or on a Ray cluster.
"""
from .runner import ENGINES, annotate
from .settings import AnnotateSettings
from .shards import RunSummary

__all__ = ["ENGINES", "AnnotateSettings", "RunSummary", "annotate"]
