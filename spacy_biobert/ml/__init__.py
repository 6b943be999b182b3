"""thinc architectures registered with versioned names: the token classifier (NER), the relation classifier,
the QA network, the wordpiece pooling layer and the heads' initialisers."""
