"""The linker's index: scispaCy's TF-IDF character-3-gram vectors of every alias and an nmslib HNSW index.

scispaCy's own builder (`create_tfidf_ann_index`) needs scipy < 1.11 (it saves float16 sparse vectors) and
fixes `min_df = 10`, which leaves no 3-gram for a KB with fewer than 10 aliases. This builder fits the same
`TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 3))` with a `min_df` that suits the KB's size, saves
float32 vectors, and writes scispaCy's file layout (`LinkerPaths.from_directory`) plus the KB itself
(`kb.jsonl`), so scispaCy's loaders and `CandidateGenerator` read it unchanged.
"""
import json
import os
from pathlib import Path
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Union

from scispacy.linking_utils import Entity, KnowledgeBase

from ..errors import CorpusError, Errors

KB_FILE = "kb.jsonl"
META_FILE = "kb_meta.json"
LARGE_KB_ALIASES = 100_000
LARGE_KB_MIN_DF = 10


class LinkerIndex(NamedTuple):
    """A loaded index: the KB, its aliases in index order, the fitted vectorizer and the nmslib index."""

    kb: KnowledgeBase
    aliases: List[str]
    vectorizer: Any
    ann_index: Any
    meta: Dict[str, Any]

    def candidate_generator(self) -> Any:
        """scispaCy's `CandidateGenerator` over this index."""
        from scispacy.candidate_generation import CandidateGenerator

        return CandidateGenerator(self.ann_index, self.vectorizer, self.aliases, self.kb)


def auto_min_df(n_aliases: int) -> int:
    """scispaCy's `min_df = 10` for KBs of UMLS or MeSH size, 1 (keep every 3-gram) for smaller ones."""
    return LARGE_KB_MIN_DF if n_aliases >= LARGE_KB_ALIASES else 1


def build_index(
    entities: Sequence[Entity],
    output: Union[str, Path],
    *,
    min_df: Optional[int] = None,
    m: int = 100,
    ef_construction: int = 400,
    n_threads: Optional[int] = None,
) -> Dict[str, Any]:
    """Fit the vectorizer, build the HNSW index and write them with the KB to `output`; returns the meta."""
    import joblib
    import nmslib
    import numpy
    import scipy.sparse
    from scispacy.candidate_generation import LinkerPaths
    from sklearn.feature_extraction.text import TfidfVectorizer

    output = Path(output)
    kb = KnowledgeBase(list(entities))
    aliases = sorted(kb.alias_to_cuis)
    if not aliases:
        raise CorpusError(Errors.E705.format(detail="it has no concept with a name or alias"))
    min_df = auto_min_df(len(aliases)) if min_df is None else min(min_df, len(aliases))
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 3), min_df=min_df, dtype=numpy.float32)
    try:
        vectors = vectorizer.fit_transform(aliases)
    except ValueError as err:  # no 3-gram left after pruning
        raise CorpusError(Errors.E705.format(detail=f"{err}; lower --min-df")) from None
    # An alias without any kept 3-gram has an all-zero vector, which nmslib cannot index (scispaCy drops them too).
    keep = numpy.asarray(vectors.getnnz(axis=1) > 0)
    dropped = [alias for alias, kept in zip(aliases, keep) if not kept]
    aliases = [alias for alias, kept in zip(aliases, keep) if kept]
    vectors = vectors[keep]
    if not aliases:
        raise CorpusError(Errors.E705.format(detail="no alias has a character 3-gram that was kept; lower --min-df"))
    ann_index = nmslib.init(method="hnsw", space="cosinesimil_sparse", data_type=nmslib.DataType.SPARSE_VECTOR)
    ann_index.addDataPointBatch(vectors)
    params = {"M": m, "efConstruction": ef_construction, "post": 0, "indexThreadQty": n_threads or os.cpu_count() or 1}
    ann_index.createIndex(params, print_progress=False)

    output.mkdir(parents=True, exist_ok=True)
    paths = LinkerPaths.from_directory(output)
    ann_index.saveIndex(paths.ann_index)
    joblib.dump(vectorizer, paths.tfidf_vectorizer)
    scipy.sparse.save_npz(paths.tfidf_vectors, vectors.astype(numpy.float32))
    Path(paths.concept_aliases_list).write_text(json.dumps(aliases), encoding="utf8")
    with (output / KB_FILE).open("w", encoding="utf8") as stream:
        for entity in kb.cui_to_entity.values():
            stream.write(json.dumps(entity._asdict(), ensure_ascii=False) + "\n")
    meta = {
        "concepts": len(kb.cui_to_entity),
        "aliases": len(aliases),
        "dropped_aliases": dropped[:20],
        "n_dropped_aliases": len(dropped),
        "min_df": min_df,
        "M": m,
        "efConstruction": ef_construction,
        "features": len(vectorizer.vocabulary_),
    }
    (output / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf8")
    return meta


def is_index(path: Union[str, Path]) -> bool:
    """Whether `path` holds a linker index that `build_index` wrote."""
    from scispacy.candidate_generation import LinkerPaths

    path = Path(path)
    return path.is_dir() and (path / KB_FILE).exists() and LinkerPaths.from_directory(path).is_locally_cached()


def load_index(path: Union[str, Path], *, ef_search: int = 200) -> LinkerIndex:
    """Load an index written by `build_index` (or `spacy-biobert kb build`) with scispaCy's loaders."""
    from scispacy.candidate_generation import LinkerPaths

    path = Path(path)
    if not is_index(path):
        raise CorpusError(Errors.E706.format(path=path))
    aliases, vectorizer, ann_index = LinkerPaths.from_directory(path).load(ef_search=ef_search)
    kb = KnowledgeBase(str(path / KB_FILE))
    meta_path = path / META_FILE
    meta = json.loads(meta_path.read_text(encoding="utf8")) if meta_path.exists() else {}
    return LinkerIndex(kb, aliases, vectorizer, ann_index, meta)


def copy_index(source: Union[str, Path], output: Union[str, Path]) -> None:
    """Copy the files of an index folder into `output` (a pipeline's component folder)."""
    import shutil
    from scispacy.candidate_generation import LinkerPaths

    source, output = Path(source), Path(output)
    output.mkdir(parents=True, exist_ok=True)
    for name in [Path(p).name for p in LinkerPaths.from_directory(source)] + [KB_FILE, META_FILE]:
        if (source / name).exists() and (source / name).resolve() != (output / name).resolve():
            shutil.copyfile(source / name, output / name)
