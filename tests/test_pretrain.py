"""Domain-adaptive pretraining: PubMed XML parser, corpus stream, packing, masking, the training run,
resume after a kill, and DistributedDataParallel under torchrun."""
import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy
import pytest
import torch

from spacy_biobert.errors import CorpusError
from spacy_biobert.pretraining import PretrainingSettings, pretrain
from spacy_biobert.pretraining.corpus import expand_corpus_paths, iter_corpus, iter_heldout, iter_shard
from spacy_biobert.pretraining.masking import IGNORE_INDEX, MaskingCollator
from spacy_biobert.pretraining.packing import PackedSequence, pack_texts
from spacy_biobert.pretraining.trainer import METRICS_FILE, linear_schedule, read_checkpoint_step, warmup_steps
from spacy_biobert.pubmed import iter_pubmed_articles

PUBMED_XML = """<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2024//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_240101.dtd">
<PubmedArticleSet>
  <PubmedArticle>
    <MedlineCitation Status="MEDLINE" Owner="NLM">
      <PMID Version="1">10001</PMID>
      <Article PubModel="Print">
        <ArticleTitle>BRCA1 mutations and <i>breast</i> cancer risk.</ArticleTitle>
        <Abstract>
          <AbstractText Label="BACKGROUND" NlmCategory="BACKGROUND">BRCA1 is a tumor
            suppressor gene.</AbstractText>
          <AbstractText Label="RESULTS" NlmCategory="RESULTS">Mutations raise the risk.</AbstractText>
        </Abstract>
      </Article>
      <CommentsCorrectionsList>
        <CommentsCorrections RefType="Cites"><PMID Version="1">99999</PMID></CommentsCorrections>
      </CommentsCorrectionsList>
    </MedlineCitation>
    <PubmedData><ArticleIdList><ArticleId IdType="pubmed">10001</ArticleId></ArticleIdList></PubmedData>
  </PubmedArticle>
  <PubmedArticle>
    <MedlineCitation Status="MEDLINE" Owner="NLM">
      <PMID Version="1">10002</PMID>
      <Article PubModel="Print">
        <ArticleTitle>Tamoxifen lowers risk.</ArticleTitle>
      </Article>
    </MedlineCitation>
  </PubmedArticle>
  <DeleteCitation><PMID Version="1">5</PMID></DeleteCitation>
  <PubmedArticle>
    <MedlineCitation Status="MEDLINE" Owner="NLM">
      <PMID Version="1">10003</PMID>
      <Article PubModel="Print">
        <ArticleTitle>Imatinib inhibits a kinase.</ArticleTitle>
        <Abstract><AbstractText>Imatinib is a drug.</AbstractText></Abstract>
      </Article>
    </MedlineCitation>
  </PubmedArticle>
</PubmedArticleSet>
"""

SENTENCES = [
    "brca1 mutations raise breast cancer risk .",
    "tamoxifen lowers the risk of breast cancer .",
    "imatinib inhibits a kinase in tumor cells .",
    "the gene is associated with disease in patients .",
    "a protein mutation causes the disease .",
    "this drug is a treatment for patients with cancer .",
]


def write_text_corpus(path: Path, repeats: int = 40) -> Path:
    path.write_text("\n".join(SENTENCES * repeats) + "\n", encoding="utf8")
    return path


@pytest.fixture(scope="module")
def tokenizer(tiny_bert):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_bert))


@pytest.mark.parametrize("suffix", [".xml", ".xml.gz"])
def test_pubmed_articles(tmp_path, suffix):
    path = tmp_path / f"pubmed24n0001{suffix}"
    data = PUBMED_XML.encode("utf8")
    path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
    articles = list(iter_pubmed_articles(path))
    assert [a["id"] for a in articles] == ["10001", "10002", "10003"]
    first = articles[0]
    assert first["title"] == "BRCA1 mutations and breast cancer risk."
    assert first["abstract"] == "BRCA1 is a tumor suppressor gene. Mutations raise the risk."
    assert first["text"] == first["title"] + " " + first["abstract"]
    assert articles[1]["abstract"] == ""
    assert articles[1]["text"] == "Tamoxifen lowers risk."


def test_pubmed_malformed_names_file_and_line(tmp_path):
    path = tmp_path / "broken.xml"
    lines = PUBMED_XML.splitlines()
    index = next(i for i, line in enumerate(lines) if "Mutations raise" in line)
    lines[index] = lines[index].replace("</AbstractText>", "</Abstract>")
    path.write_text("\n".join(lines), encoding="utf8")
    with pytest.raises(CorpusError, match=rf"E401.*broken\.xml, line {index + 1}\b"):
        list(iter_pubmed_articles(path))


def test_pubmed_wrong_root(tmp_path):
    path = tmp_path / "bioc.xml"
    path.write_text("<collection><document/></collection>", encoding="utf8")
    with pytest.raises(CorpusError, match="E402"):
        list(iter_pubmed_articles(path))


def test_corpus_formats(tmp_path):
    (tmp_path / "a.txt").write_text("first sentence .\n\n second sentence . \n", encoding="utf8")
    records = [{"text": "a jsonl document ."}, {"text": "  "}, {"text": "another one ."}]
    (tmp_path / "b.jsonl").write_text("\n".join(json.dumps(r) for r in records), encoding="utf8")
    with gzip.open(tmp_path / "c.xml.gz", "wt", encoding="utf8") as stream:
        stream.write(PUBMED_XML)
    (tmp_path / "notes.md").write_text("not a corpus", encoding="utf8")
    files = expand_corpus_paths([tmp_path])
    assert [f.name for f in files] == ["a.txt", "b.jsonl", "c.xml.gz"]
    texts = list(iter_corpus(files))
    assert texts[:4] == ["first sentence .", "second sentence .", "a jsonl document .", "another one ."]
    assert len(texts) == 7 and texts[-1] == "Imatinib inhibits a kinase. Imatinib is a drug."


def test_corpus_bad_jsonl_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "fine"}\n{"title": "no text"}\n', encoding="utf8")
    with pytest.raises(CorpusError, match=r"E002.*bad\.jsonl, line 2"):
        list(iter_corpus([path]))


def test_corpus_missing_file(tmp_path):
    with pytest.raises(CorpusError, match="E001"):
        expand_corpus_paths([tmp_path / "nowhere.txt"])


def test_heldout_and_shards_partition_the_corpus(tmp_path):
    path = tmp_path / "lines.txt"
    path.write_text("\n".join(f"line {i}" for i in range(103)) + "\n", encoding="utf8")
    heldout = list(iter_heldout([path], heldout=4, heldout_every=10))
    assert heldout == ["line 0", "line 10", "line 20", "line 30"]
    shards = [list(iter_shard([path], rank, 3, heldout=4, heldout_every=10)) for rank in range(3)]
    assert sorted(len(s) for s in shards) == [33, 33, 33]
    everything = set(heldout).union(*map(set, shards))
    assert len(everything) == 103 and sum(map(len, shards)) + len(heldout) == 103


def test_packing_keeps_sentences_whole(tokenizer):
    texts = SENTENCES * 3 + [" ".join(["cancer"] * 40)]
    sequences = list(pack_texts(texts, tokenizer, max_seq_length=32))
    assert all(len(seq.ids) <= 30 and len(seq.ids) == len(seq.word_starts) for seq in sequences)
    encoded = [tokenizer(text, add_special_tokens=False)["input_ids"] for text in texts]
    assert [i for seq in sequences for i in seq.ids] == [i for ids in encoded for i in ids]
    assert len(sequences) < len(texts) / 2
    boundaries = set(numpy.cumsum([len(ids) for ids in encoded[:-1]]))
    assert set(numpy.cumsum([len(seq.ids) for seq in sequences[:-2]])) <= boundaries
    assert [len(seq.ids) for seq in sequences[-2:]] == [30, 10]
    assert all(seq.word_starts[0] for seq in sequences)


def test_packing_split_texts_fills_every_row(tokenizer):
    texts = SENTENCES * 3 + [" ".join(["cancer"] * 40)]
    whole = list(pack_texts(texts, tokenizer, max_seq_length=32))
    split = list(pack_texts(texts, tokenizer, max_seq_length=32, split_texts=True))
    assert [i for seq in split for i in seq.ids] == [i for seq in whole for i in seq.ids]
    assert all(len(seq.ids) == 30 for seq in split[:-1]) and 0 < len(split[-1].ids) <= 30
    assert len(split) < len(whole)
    assert all(seq.word_starts[0] and len(seq.word_starts) == len(seq.ids) for seq in split)
    starts = [flag for seq in whole for flag in seq.word_starts]
    row_starts = set(numpy.cumsum([len(seq.ids) for seq in split[:-1]]))
    flat = [flag for seq in split for flag in seq.word_starts]
    assert [flag for i, flag in enumerate(flat) if i not in row_starts] == [
        flag for i, flag in enumerate(starts) if i not in row_starts]


def test_word_starts_mark_wordpieces(tokenizer):
    (seq,) = pack_texts(["xyz gene"], tokenizer, max_seq_length=32)
    assert tokenizer.convert_ids_to_tokens(seq.ids) == ["x", "##y", "##z", "gene"]
    assert seq.word_starts == [True, False, False, True]


def test_masking_statistics(tokenizer):
    collator = MaskingCollator(tokenizer)
    ids = tokenizer("the gene and the protein of the cell", add_special_tokens=False)["input_ids"] * 12
    sequences = [PackedSequence(list(ids), [True] * len(ids)) for _ in range(400)]
    batch = collator(sequences, numpy.random.default_rng(0))
    labels, inputs = batch["labels"], batch["input_ids"]
    assert inputs.shape == (400, len(ids) + 2)
    assert (inputs[:, 0] == tokenizer.cls_token_id).all() and (inputs[:, -1] == tokenizer.sep_token_id).all()
    assert (labels[:, 0] == IGNORE_INDEX).all() and (labels[:, -1] == IGNORE_INDEX).all()
    targets = labels != IGNORE_INDEX
    assert (targets.sum(dim=1) == round(0.15 * len(ids))).all()
    assert (labels[targets] == torch.tensor(ids).repeat(400, 1)[targets[:, 1:-1]]).all()
    n = int(targets.sum())
    masked = float((inputs[targets] == tokenizer.mask_token_id).sum()) / n
    kept = float((inputs[targets] == labels[targets]).sum()) / n
    assert 0.77 < masked < 0.83
    assert 0.08 < kept < 0.13
    assert 0.07 < 1 - masked - kept < 0.13
    assert (inputs[~targets] == torch.cat(
        [torch.full((400, 1), tokenizer.cls_token_id), torch.tensor(ids).repeat(400, 1),
         torch.full((400, 1), tokenizer.sep_token_id)], dim=1)[~targets]).all()


def test_whole_word_masking_masks_every_piece(tokenizer):
    collator = MaskingCollator(tokenizer, whole_word_masking=True)
    (seq,) = pack_texts(["xyzw gene qrst protein abcd cell " * 4], tokenizer, max_seq_length=128)
    batch = collator([seq] * 300, numpy.random.default_rng(1))
    targets = (batch["labels"] != IGNORE_INDEX)[:, 1 : len(seq.ids) + 1].numpy()
    words = numpy.cumsum(seq.word_starts) - 1
    for row in targets:
        for word in range(words[-1] + 1):
            pieces = row[words == word]
            assert pieces.all() or not pieces.any()
    assert targets.any(axis=1).all()
    assert abs(targets.mean() - 0.15) < 0.05


@pytest.mark.parametrize("warmup,steps", [(0.1, 10), (0.05, 5), (25, 25), (1, 1)])
def test_warmup_share_or_steps(warmup, steps):
    assert warmup_steps(warmup, 100) == steps


def test_schedule_rises_decays_and_freezes():
    factor = linear_schedule(warmup=4, total=10, frozen=2)
    assert [factor(step) for step in range(10)] == [0.0, 0.0, 0.75, 1.0, 1.0, 5 / 6, 4 / 6, 3 / 6, 2 / 6, 1 / 6]
    assert linear_schedule(warmup=4, total=10)(0) == 0.25


def _settings(tiny_bert, corpus, output, **kwargs) -> PretrainingSettings:
    values = dict(corpus=[str(corpus)], base=str(tiny_bert), output=str(output), max_steps=30, max_seq_length=32,
                  batch_size=8, lr=3e-3, warmup=3, save_every=10, heldout=12, heldout_every=5,
                  shuffle_buffer=50, precision="fp32")
    values.update(kwargs)
    return PretrainingSettings(**values)


def test_pretrain_learns_and_output_loads(tiny_bert, tmp_path):
    corpus = write_text_corpus(tmp_path / "corpus.txt")
    output = tmp_path / "adapted"
    metrics = pretrain(_settings(tiny_bert, corpus, output, whole_word_masking=True))
    assert metrics["fresh_head"] is True
    assert metrics["heldout"]["after"]["loss"] < metrics["heldout"]["before"]["loss"] - 0.5
    assert metrics["heldout"]["after"]["perplexity"] > 1.0
    assert json.loads((output / METRICS_FILE).read_text())["steps"] == 30
    assert read_checkpoint_step(output) == 30
    log = [json.loads(line) for line in (output / "pretraining_log.jsonl").read_text().splitlines()]
    assert [record["step"] for record in log] == list(range(1, 31))
    assert numpy.mean([r["loss"] for r in log[-5:]]) < numpy.mean([r["loss"] for r in log[:5]])

    import spacy
    from transformers import AutoModel, AutoModelForMaskedLM

    model = AutoModel.from_pretrained(str(output))
    assert model.config.hidden_size == 32
    assert AutoModelForMaskedLM.from_pretrained(str(output)).config.vocab_size == model.config.vocab_size
    nlp = spacy.blank("en")
    nlp.add_pipe("transformer", config={"model": {"name": str(output)}})
    nlp.initialize()
    doc = nlp("BRCA1 mutations raise breast cancer risk.")
    assert doc._.trf_data.tensors[0].shape[-1] == 32


def test_export_steps_write_points_of_one_run(tiny_bert, tmp_path):
    """`export_steps` writes loadable models with their held-out loss along the run and changes nothing else: the
    final model equals that of a run without exports."""
    from transformers import AutoModel

    corpus = write_text_corpus(tmp_path / "corpus.txt")
    metrics = pretrain(_settings(tiny_bert, corpus, tmp_path / "plain", save_every=0))
    pretrain(_settings(tiny_bert, corpus, tmp_path / "curve", save_every=0, export_steps=[10, 20]))
    losses = []
    for step in (10, 20):
        folder = tmp_path / "curve" / f"step-{step}"
        record = json.loads((folder / METRICS_FILE).read_text())
        assert record["step"] == step
        losses.append(record["heldout"]["loss"])
        assert AutoModel.from_pretrained(str(folder)).config.hidden_size == 32
    assert metrics["heldout"]["before"]["loss"] > losses[0] > metrics["heldout"]["after"]["loss"] - 1.0
    final = AutoModel.from_pretrained(str(tmp_path / "curve")).state_dict()
    for name, weight in AutoModel.from_pretrained(str(tmp_path / "plain")).state_dict().items():
        assert torch.equal(weight, final[name]), name
    with pytest.raises(ValueError, match="E410"):
        pretrain(_settings(tiny_bert, corpus, tmp_path / "bad", export_steps=[30]))


def test_frozen_encoder_trains_only_the_head(tiny_bert, tmp_path):
    from transformers import AutoModel

    corpus = write_text_corpus(tmp_path / "corpus.txt", repeats=5)
    output = tmp_path / "head-only"
    metrics = pretrain(_settings(tiny_bert, corpus, output, max_steps=8, freeze_encoder_steps=8))
    assert metrics["heldout"]["after"]["loss"] < metrics["heldout"]["before"]["loss"]
    base = AutoModel.from_pretrained(str(tiny_bert)).state_dict()
    adapted = AutoModel.from_pretrained(str(output)).state_dict()
    assert base.keys() == adapted.keys()
    assert all(torch.equal(base[key], adapted[key]) for key in base)


def test_pretrain_bad_settings(tiny_bert, tmp_path):
    corpus = write_text_corpus(tmp_path / "corpus.txt", repeats=1)
    with pytest.raises(ValueError, match="E407"):
        pretrain(_settings(tiny_bert, corpus, tmp_path / "out", precision="fp8"))
    with pytest.raises(ValueError, match="E408"):
        pretrain(_settings(tiny_bert, corpus, tmp_path / "out", precision="fp16"))
    with pytest.raises(ValueError, match="E409"):
        pretrain(_settings(tiny_bert, corpus, tmp_path / "out", max_seq_length=4096))


def test_resume_refuses_other_settings(tiny_bert, tmp_path, monkeypatch):
    corpus = write_text_corpus(tmp_path / "corpus.txt")
    output = tmp_path / "run"
    pretrain(_settings(tiny_bert, corpus, output, max_steps=4, save_every=2))
    for change in ({"batch_size": 4}, {"split_texts": False}, {"lr": 1e-3}, {"seed": 1}):
        with pytest.raises(ValueError, match="E411") as error:
            pretrain(_settings(tiny_bert, corpus, output, max_steps=6, resume=True, **change))
        assert next(iter(change)) in str(error.value)
    assert read_checkpoint_step(output) == 4
    monkeypatch.chdir(tmp_path)
    metrics = pretrain(_settings(tiny_bert, Path("corpus.txt"), Path("run"), max_steps=6, resume=True,
                                 precision="auto", save_every=0))
    assert metrics["resumed_from_step"] == 4 and metrics["train"]["steps_this_run"] == 2


def _cli(tiny_bert, corpus, output, max_steps, *extra) -> list:
    return [
        sys.executable, "-m", "spacy_biobert", "pretrain", str(corpus), "--base", str(tiny_bert),
        "--output", str(output), "--max-steps", str(max_steps), "--max-seq-length", "32", "--batch-size", "4",
        "--lr", "1e-3", "--warmup", "2", "--heldout", "6", "--heldout-every", "5", "--precision", "fp32",
        *extra,
    ]


@pytest.mark.slow
def test_resume_after_kill(tiny_bert, tmp_path):
    corpus = write_text_corpus(tmp_path / "corpus.txt")
    output = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(_cli(tiny_bert, corpus, output, 100000, "--save-every", "3"), env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while (read_checkpoint_step(output) or 0) < 6:
            assert process.poll() is None, "the run ended before it could be killed"
            assert time.time() < deadline, "no checkpoint within 2 minutes"
            time.sleep(0.5)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    killed_at = read_checkpoint_step(output)
    assert killed_at >= 6 and not (output / METRICS_FILE).exists()
    subprocess.run(_cli(tiny_bert, corpus, output, killed_at + 4, "--resume", "--save-every", "3"), env=env,
                   check=True, capture_output=True)
    metrics = json.loads((output / METRICS_FILE).read_text())
    assert metrics["resumed_from_step"] == killed_at
    assert metrics["steps"] == killed_at + 4 and metrics["train"]["steps_this_run"] == 4
    assert metrics["heldout"]["before"]["loss"] > metrics["heldout"]["after"]["loss"]
    assert read_checkpoint_step(output) == killed_at + 4


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_torchrun_two_ranks_agree(tiny_bert, tmp_path):
    corpus = write_text_corpus(tmp_path / "corpus.txt")
    output = tmp_path / "ddp"
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
               str(_free_port()), "-m"] + _cli(tiny_bert, corpus, output, 6, "--save-every", "3")[2:]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((output / METRICS_FILE).read_text())
    assert metrics["world_size"] == 2
    first, second = metrics["rank_checksums"]
    assert first == second
    assert metrics["heldout"]["after"]["loss"] < metrics["heldout"]["before"]["loss"]


@pytest.mark.parametrize(
    "name,pretraining,annotate",
    [
        ("a.txt", "text", "text"),
        ("a.TXT.gz", "text", "text"),
        ("a.jsonl.gz", "jsonl", "jsonl"),
        ("a.xml.gz", "pubmed", "pubmed"),
        ("README", "text", None),  # a name without suffix is text to pretraining, unknown to annotate
        ("a.gz", "text", None),
        ("a.pubtator", None, "pubtator"),
        ("a.csv", None, None),
    ],
)
def test_one_format_rule_for_pretraining_and_annotate(name, pretraining, annotate):
    from spacy_biobert.annotate.inputs import file_format
    from spacy_biobert.pretraining.corpus import corpus_format

    assert corpus_format(Path(name)) == pretraining
    assert file_format(Path(name)) == annotate
