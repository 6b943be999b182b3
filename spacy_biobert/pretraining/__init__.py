"""Domain-adaptive pretraining: continued masked-LM training of a BERT-style encoder on biomedical text."""
from .trainer import PretrainingSettings, pretrain

__all__ = ["PretrainingSettings", "pretrain"]
