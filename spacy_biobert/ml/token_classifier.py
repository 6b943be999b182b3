"""BioBERT's NER network: the transformer's token vectors into a softmax over BIO tags."""
from typing import Callable, List, Optional

from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Dropout, Model, Ops, Softmax_v2, chain, glorot_uniform_init, with_array
from thinc.types import Floats2d, FloatsXd, Shape


@registry.architectures("spacy_biobert.TokenClassifier.v1")
def build_token_classifier(
    tok2vec: Model[List[Doc], List[Floats2d]],
    nO: Optional[int] = None,
    dropout: float = 0.1,
    init_W: Optional[Callable[[Ops, Shape], FloatsXd]] = None,
) -> Model[List[Doc], List[Floats2d]]:
    """A token-level softmax classifier, one row of tag probabilities a token.

    tok2vec: token vectors, typically `spacy-transformers.TransformerListener.v1` with first-wordpiece
        pooling (`spacy_biobert.reduce_first_safe.v1`), as BioBERT's `run_ner.py` labels words.
    nO: the number of tags; inferred from the component's labels at initialize when unset.
    dropout: dropout on the token vectors before the output layer (BioBERT uses 0.1).
    init_W: initializer of the output weights (a thinc `@initializers` entry); Glorot-uniform when unset.
        A random start, like the head of BERT's token classifier, lets the transformer receive a gradient
        from the first step: with spaCy's usual zero start, at BioBERT's learning rate the dev F1 of a
        disease NER corpus was still 0 after a whole epoch (bench/RESULTS.md).
    """
    width = tok2vec.get_dim("nO") if tok2vec.has_dim("nO") else None
    output_layer = Softmax_v2(nO, width, init_W=init_W or glorot_uniform_init)
    model = chain(tok2vec, with_array(chain(Dropout(dropout), output_layer)))
    model.set_ref("tok2vec", tok2vec)
    model.set_ref("output_layer", output_layer)
    return model
