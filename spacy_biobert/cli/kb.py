"""`spacy-biobert kb build SOURCE OUT`: a knowledge base turned into the entity linker's index."""
from pathlib import Path
from typing import Optional

import typer
from wasabi import msg

from ..errors import CorpusError, Errors
from ._app import app, fail

kb_app = typer.Typer(help="Knowledge bases for entity linking (`biobert_linker`).", no_args_is_help=True)
app.add_typer(kb_app, name="kb")


@kb_app.command("build")
def kb_build_cli(
    source: Path = typer.Argument(..., help="scispaCy KB JSONL, CTD/MEDIC-style TSV, or a PubTator file with concept ids."),
    output: Path = typer.Argument(..., help="Folder to write the index to (give it as `[initialize.components.linker] kb`)."),
    fmt: str = typer.Option("auto", "--format", "-f", help="jsonl, tsv, pubtator, or auto (from the file name)."),
    synonyms_column: Optional[int] = typer.Option(
        None, "--synonyms-column", help="TSV: 0-based column of `|`-separated synonyms (default 2; CTD's MEDIC: 7)."),
    strip_prefix: Optional[str] = typer.Option(None, "--strip-prefix", help="TSV: prefix to strip from ids, e.g. 'MESH:'."),
    min_df: Optional[int] = typer.Option(
        None, "--min-df", help="Least number of aliases a character 3-gram must occur in (default: 10 for 100,000+ aliases, else 1)."),
    m: int = typer.Option(100, "--m", help="nmslib HNSW `M` (links per node; higher: better recall, slower build)."),
    ef_construction: int = typer.Option(400, "--ef-construction", help="nmslib HNSW `efConstruction`."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an index already in OUT."),
) -> None:
    """Build the entity linker's TF-IDF + nmslib index from a knowledge-base source. Works offline."""
    from ..linking.index import build_index
    from ..linking.sources import read_kb_source

    if output.exists() and any(output.iterdir()) and not overwrite:
        fail(Errors.E701.format(path=output))
    try:
        entities = read_kb_source(source, fmt, synonyms_column=synonyms_column, strip_prefix=strip_prefix)
        meta = build_index(entities, output, min_df=min_df, m=m, ef_construction=ef_construction)
    except CorpusError as err:
        fail(str(err))
    msg.good(f"Index of {meta['concepts']:,} concepts, {meta['aliases']:,} aliases written to {output}")
    if meta["n_dropped_aliases"]:
        msg.warn(f"{meta['n_dropped_aliases']} aliases have no kept character 3-gram and cannot be linked "
                 f"(e.g. {meta['dropped_aliases'][:3]}); lower --min-df to keep them.")
