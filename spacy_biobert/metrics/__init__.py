"""Official-equivalent metrics as thin functions with worked tests: conlleval's entity P/R/F1 (`entities`),
`re_eval.py`'s relation P/R/F1 (`relations`), BioASQ factoid/list/yes-no and SQuAD scores (`qa`)."""
