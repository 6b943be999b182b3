"""Entity linking against a user-supplied knowledge base, on scispaCy's TF-IDF + nmslib candidate generator.

`sources` reads a KB source (scispaCy JSONL, CTD/MEDIC-style TSV, PubTator annotations) into scispaCy
`Entity` records; `index` builds, saves and loads the linker's index. The pipeline component is
`spacy_biobert.pipeline.linker` (`biobert_linker`); the command is `spacy-biobert kb build`.
"""
