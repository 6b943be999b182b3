"""Loading a trained pipeline given on the command line (MODEL of `evaluate` and `annotate`).

`spacy.load` answers a wrong MODEL with a deep traceback ending in spaCy's E050/E053. Here the usual
mistakes are told apart first, each with its own coded error saying what was found and what to give
instead: a path that does not exist (and no installed package of that name), a folder that is not a
spaCy pipeline (no `config.cfg`), and a Hugging Face model folder (a base model, not a pipeline).
"""
from pathlib import Path
from typing import Any, Dict, Union

import spacy
from spacy.language import Language
from spacy.util import is_package

from .errors import Errors, PipelineError
from .precision import set_precision

HF_CONFIG = "config.json"
SPACY_CONFIG = "config.cfg"


def load_trained_pipeline(model: Union[str, Path], *, precision: str = "fp32", **kwargs: Any) -> Language:
    """`spacy.load(model, **kwargs)`, with a `PipelineError` naming the problem where MODEL is no pipeline,
    its encoders set to `precision` (`spacy_biobert.precision`)."""
    check_pipeline(model)
    try:
        nlp = spacy.load(model, **kwargs)
    except OSError as err:
        raise PipelineError(Errors.E028.format(model=model, detail=" ".join(str(err).split()))) from err
    set_precision(nlp, precision)
    return nlp


def check_pipeline(model: Union[str, Path]) -> None:
    """Raise a `PipelineError` where MODEL is clearly no pipeline, before any work is started on it."""
    path = Path(model)
    if path.is_dir():
        if not (path / SPACY_CONFIG).is_file():
            if (path / HF_CONFIG).is_file():
                raise PipelineError(Errors.E027.format(path=path))
            raise PipelineError(Errors.E026.format(path=path, found=_listing(path)))
    elif not path.exists() and not is_package(str(model)):
        raise PipelineError(Errors.E025.format(model=model))


def component_factories(nlp: Language) -> Dict[str, str]:
    """Component name -> factory name, for checking that a pipeline has the component a task needs."""
    return {name: nlp.get_pipe_meta(name).factory for name in nlp.pipe_names}


def _listing(path: Path, limit: int = 5) -> str:
    names = sorted(p.name for p in path.iterdir())
    if not names:
        return "an empty folder"
    more = f", ... ({len(names)} entries)" if len(names) > limit else ""
    return "only " + ", ".join(names[:limit]) + more
