"""The spaCy components: `biobert_ner`, `biobert_rel`, `biobert_qa` (on the shared training step of `base`),
and the scispaCy-based `biobert_abbreviations`, `biobert_linker` and `pysbd_sentencizer`."""
