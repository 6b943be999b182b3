"""Placeholder: being written."""


def build_relation_classifier(*args, **kwargs):
    raise NotImplementedError
