"""The server's limits and batching: `spacy-biobert serve`'s options, with their defaults."""
from dataclasses import dataclass


@dataclass(frozen=True)
class ServeSettings:
    """Limits on what one request may send, and how concurrent requests are batched."""

    max_text_chars: int = 100_000  # longest text or question, in characters (capped by nlp.max_length)
    max_texts: int = 64  # most texts in one request
    max_top_k: int = 20  # most answers per text from /ask
    batch_size: int = 64  # most texts of concurrent requests in one nlp.pipe call
    max_wait_ms: float = 5.0  # how long a batch waits for more requests once the first arrived
