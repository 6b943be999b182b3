"""Placeholder: being written."""


def make_biobert_ner(*args, **kwargs):
    raise NotImplementedError


def make_ner_scorer(*args, **kwargs):
    raise NotImplementedError
