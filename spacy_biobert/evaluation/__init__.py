"""`spacy-biobert evaluate`: a trained pipeline scored on a test set with the official-equivalent metrics,
one module a task (`ner`, `rel` with k-fold cross-validation, `qa`) and each task's settings in `settings`."""
