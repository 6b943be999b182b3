"""A stable held-out share of a corpus without a dev split (GAD, BioASQ's training questions).

A record belongs to the held-out share when the md5 hash of its key (a question id, a sentence) falls below
`dev_fraction`: the same records every run, on every machine, whatever the file order, and identical
records (duplicate sentences) always on the same side, so nothing held out is also trained on.
"""
import hashlib

from ..errors import Errors

SPLITS = ("all", "train", "dev")


def check_split(split: str, dev_fraction: float, reader: str) -> None:
    """Raise a readable error for an unknown split or a share outside [0, 1)."""
    if split not in SPLITS:
        raise ValueError(Errors.E019.format(split=split, reader=reader, choices=", ".join(SPLITS)))
    if not 0.0 <= dev_fraction < 1.0 or (split == "dev" and dev_fraction == 0.0):
        raise ValueError(Errors.E012.format(dev_fraction=dev_fraction, split=split, reader=reader))


def in_split(key: str, split: str, dev_fraction: float) -> bool:
    """Whether the record with this key belongs to `split` ("all", "train": outside the share, "dev": inside)."""
    if split == "all":
        return True
    digest = int(hashlib.md5(key.encode("utf8")).hexdigest()[:8], 16)
    return (digest / 0xFFFFFFFF < dev_fraction) == (split == "dev")
