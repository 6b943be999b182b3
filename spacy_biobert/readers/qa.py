"""Placeholder: being written."""


def create_squad_reader(*args, **kwargs):
    raise NotImplementedError


def create_bioasq_reader(*args, **kwargs):
    raise NotImplementedError
