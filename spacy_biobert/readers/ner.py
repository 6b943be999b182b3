"""Placeholder: being written."""


def create_iob_tsv_reader(*args, **kwargs):
    raise NotImplementedError


def create_biobert_ner_reader(*args, **kwargs):
    raise NotImplementedError
