"""Corpus readers registered as `@readers`, so `spacy train` reads the corpora directly: NER TSV, relation
TSV/JSONL, SQuAD/BioASQ JSON, PubTator, several corpora as one (`multi`); `text` opens files for all of them."""
