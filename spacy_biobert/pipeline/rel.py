"""Placeholder: being written."""


def make_biobert_rel(*args, **kwargs):
    raise NotImplementedError


def make_rel_scorer(*args, **kwargs):
    raise NotImplementedError
