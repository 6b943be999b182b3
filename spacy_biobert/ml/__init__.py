"""thinc architectures registered with versioned names: the token classifier (NER), the relation classifier,
the QA network, the shared encoder with length-sorted prediction, the transformer's span getter, the wordpiece
pooling layer and the heads' initialisers."""
