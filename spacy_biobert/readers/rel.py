"""Placeholder: being written."""


def create_re_tsv_reader(*args, **kwargs):
    raise NotImplementedError


def create_rel_jsonl_reader(*args, **kwargs):
    raise NotImplementedError
