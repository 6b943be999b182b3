"""Components of the tiny pipelines the serve tests run; also the `--code` file of the real-server test."""
import threading

from spacy.language import Language
from spacy.tokens import Doc, Span

from spacy_biobert.data_classes import RELATIONS_KEY, encode_relation, install_relation_extension

install_relation_extension()
if not Span.has_extension("score"):
    Span.set_extension("score", default=None)


@Language.component("serve_test_relate")
def serve_test_relate(doc: Doc) -> Doc:
    """Score each entity by its length, relate the first two, and raise on texts containing BOOM."""
    if "BOOM" in doc.text:
        raise RuntimeError("exploded on purpose")
    ents = list(doc.ents)
    for ent in ents:
        ent._.score = 0.5 + len(ent.text) / 100
    if len(ents) >= 2:
        doc.user_data[RELATIONS_KEY] = [encode_relation(ents[0], ents[1], "ASSOCIATED", 0.75)]
    return doc


STARTED = threading.Event()
RELEASE = threading.Event()


@Language.component("serve_test_wait")
def serve_test_wait(doc: Doc) -> Doc:
    """Block texts containing WAIT (setting STARTED) until RELEASE is set: the pipeline thread stays busy meanwhile."""
    if "WAIT" in doc.text:
        STARTED.set()
        RELEASE.wait()
    return doc
