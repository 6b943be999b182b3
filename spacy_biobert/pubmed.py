"""Streaming reader of PubMed baseline and update XML files (`.xml` or `.xml.gz`).

A baseline file holds ~30,000 `<PubmedArticle>` records; the whole baseline ~36M. The reader parses
incrementally and clears every finished record, so memory stays flat whatever the file size.
"""
import gzip
import re
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path
from typing import IO, Dict, Iterator, Optional, Union

from .errors import CorpusError, Errors

_SPACE = re.compile(r"\s+")


def iter_pubmed_articles(path: Union[str, Path]) -> Iterator[Dict[str, str]]:
    """Yield `{"id", "title", "abstract", "text"}` for each `<PubmedArticle>` of a PubMed XML file.

    `id` is the PMID of the `MedlineCitation`; `abstract` joins the `AbstractText` sections (structured
    abstracts have several) with a space; `text` is the title followed by the abstract. Inline markup
    (`<i>`, `<sup>`) keeps its text, whitespace is normalised. Records without an abstract yield an empty
    `abstract`. Malformed XML raises a `CorpusError` naming the file and line.
    """
    path = Path(path)
    with _open(path) as stream:
        context = ET.iterparse(stream, events=("start", "end"))
        root: Optional[ET.Element] = None
        depth = 0
        try:
            for event, elem in context:
                if event == "start":
                    if root is None:
                        root = elem
                        if elem.tag != "PubmedArticleSet":
                            raise CorpusError(Errors.E402.format(path=path, found=elem.tag))
                    depth += 1
                    continue
                depth -= 1
                if depth != 1:
                    continue
                if elem.tag == "PubmedArticle":
                    yield _article(elem)
                root.clear()
        except ET.ParseError as err:
            line = err.position[0] if err.position else 0
            raise CorpusError(Errors.E401.format(path=path, line=line, detail=str(err))) from err
        except (OSError, EOFError, zlib.error) as err:
            raise CorpusError(Errors.E403.format(path=path, detail=str(err))) from err


def _open(path: Path) -> IO[bytes]:
    """Binary stream of the file, decompressed on the fly when it ends in `.gz`."""
    if not path.is_file():
        raise CorpusError(Errors.E001.format(path=path))
    return gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")


def _article(elem: ET.Element) -> Dict[str, str]:
    """The fields of one finished `<PubmedArticle>` element."""
    citation = elem.find("MedlineCitation")
    pmid = citation.findtext("PMID", default="") if citation is not None else ""
    article = citation.find("Article") if citation is not None else None
    title = _text(article.find("ArticleTitle")) if article is not None else ""
    sections = article.findall("Abstract/AbstractText") if article is not None else []
    abstract = " ".join(part for part in (_text(section) for section in sections) if part)
    text = f"{title} {abstract}".strip()
    return {"id": pmid.strip(), "title": title, "abstract": abstract, "text": text}


def _text(elem: Optional[ET.Element]) -> str:
    """All text inside an element, inline markup included, with whitespace collapsed."""
    if elem is None:
        return ""
    return _SPACE.sub(" ", "".join(elem.itertext())).strip()
