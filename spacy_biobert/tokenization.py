"""scispaCy's biomedical tokenizer as a registered spaCy tokenizer.

`[nlp.tokenizer] @tokenizers = "spacy_biobert.SciSpacyTokenizer.v1"` builds scispaCy's
`combined_rule_tokenizer`: spaCy's English rules with biomedical prefixes, suffixes and infixes (hyphens
inside words and parenthesised parts of names kept, units split from numbers) and scispaCy's list of
abbreviations that keep their period. Registered through an entry point (`spacy_tokenizers`), so a pipeline
that uses it loads without `--code`; its rules are saved by `to_disk` as any spaCy tokenizer's are.
The figures behind this default are in bench/RESULTS.md (`bench/tokenizer_boundaries.py`).
"""
import warnings
from typing import Callable

from spacy.language import Language
from spacy.tokenizer import Tokenizer
from spacy.util import registry


@registry.tokenizers("spacy_biobert.SciSpacyTokenizer.v1")
def create_scispacy_tokenizer() -> Callable[[Language], Tokenizer]:
    """The tokenizer factory spaCy calls with the new `nlp` object."""
    from scispacy.custom_tokenizer import combined_rule_tokenizer

    def make_tokenizer(nlp: Language) -> Tokenizer:
        # scispaCy reads `token_match` off the pipeline's current tokenizer, which spaCy only sets after this
        # factory returns: give it spaCy's default one to read from.
        nlp.tokenizer = registry.tokenizers.get("spacy.Tokenizer.v1")()(nlp)
        with warnings.catch_warnings():
            # scispaCy's character classes contain "[[" sequences that Python's `re` flags as a future change.
            warnings.filterwarnings("ignore", category=FutureWarning, message="Possible set union")
            return combined_rule_tokenizer(nlp)

    return make_tokenizer
