// The page of `spacy-biobert serve`: posts the text to /annotate (and the question to /ask), then renders
// the entities as displaCy does (a coloured mark per entity, its label inside, its score on hover), the
// relations as a list, and the answers highlighted in the text. `/?text=...&question=...&top_k=...`
// fills the form and submits it on load. Everything is built with DOM calls: no HTML from the server.
"use strict";

const $ = (id) => document.getElementById(id);
let colors = {};

function setStatus(message, isError) {
  $("status").textContent = message;
  $("status").className = isError ? "error" : "";
}

async function postJSON(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({ detail: response.statusText }));
  if (!response.ok) {
    throw new Error(`${path}: ${response.status} ${data.detail || response.statusText}`);
  }
  return data;
}

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props || {});
  for (const child of children) {
    node.append(child);
  }
  return node;
}

function formatScore(score) {
  return score === undefined || score === null ? "" : Number(score).toFixed(3);
}

// text.slice(start, end), with the parts inside answers wrapped in a highlight (the best rank wins).
function appendText(parent, text, start, end, answers) {
  const cuts = new Set([start, end]);
  for (const a of answers) {
    if (a.start > start && a.start < end) cuts.add(a.start);
    if (a.end > start && a.end < end) cuts.add(a.end);
  }
  const points = [...cuts].sort((x, y) => x - y);
  for (let i = 0; i + 1 < points.length; i++) {
    const [from, to] = [points[i], points[i + 1]];
    const piece = text.slice(from, to);
    const rank = answers.findIndex((a) => a.start <= from && a.end >= to);
    if (rank < 0) {
      parent.append(piece);
    } else {
      const a = answers[rank];
      parent.append(el("span", {
        className: `answer rank-${rank + 1}`,
        title: `answer ${rank + 1}, score ${formatScore(a.score)}`,
      }, piece));
    }
  }
}

function renderEntities(record, answers) {
  const box = $("entities");
  box.replaceChildren();
  const text = record.text;
  let offset = 0;
  for (const ent of record.entities) {
    appendText(box, text, offset, ent.start, answers);
    const mark = el("mark", {
      className: "entity",
      title: ent.score === undefined ? ent.label : `${ent.label} · score ${formatScore(ent.score)}`,
    });
    mark.dataset.label = ent.label;
    if (ent.score !== undefined) mark.dataset.score = ent.score;
    mark.style.background = colors[ent.label] || "#ddd";
    appendText(mark, text, ent.start, ent.end, answers);
    mark.append(el("span", { className: "label" }, ent.label));
    box.append(mark);
    offset = ent.end;
  }
  appendText(box, text, offset, text.length, answers);
  const labels = [...new Set(record.entities.map((e) => e.label))];
  $("legend").replaceChildren(...labels.map((label) => {
    const chip = el("span", {}, label);
    chip.style.background = colors[label] || "#ddd";
    return chip;
  }));
}

function renderRelations(record) {
  const items = record.relations.map((rel) => {
    const head = record.entities[rel.head];
    const tail = record.entities[rel.tail];
    return el("li", { className: "relation" },
      el("b", {}, head.text), ` (${head.label}) — ${rel.label} → `,
      el("b", {}, tail.text), ` (${tail.label}) `,
      el("span", { className: "score" }, formatScore(rel.score)));
  });
  $("relations").replaceChildren(...(items.length ? items : [el("li", { className: "none" }, "none found")]));
}

function renderAnswers(answers, question) {
  $("answers-title").hidden = !question;
  $("answers").hidden = !question;
  const items = answers.map((a, i) => el("li", { className: `answer-item rank-${i + 1}` },
    el("b", {}, a.text), " ", el("span", { className: "score" }, formatScore(a.score))));
  $("answers").replaceChildren(...(items.length ? items : [el("li", { className: "none" }, "no answer")]));
}

async function run(text, question, topK) {
  document.body.dataset.state = "busy";
  setStatus("Annotating…", false);
  try {
    const record = await postJSON("/annotate", { text });
    let answers = [];
    if (question) {
      answers = (await postJSON("/ask", { text, question, top_k: topK })).answers;
    }
    renderEntities(record, answers);
    renderRelations(record);
    renderAnswers(answers, question);
    $("result").hidden = false;
    setStatus(`${record.entities.length} entities, ${record.relations.length} relations` +
      (question ? `, ${answers.length} answers` : ""), false);
    document.body.dataset.state = "done";
  } catch (err) {
    setStatus(err.message, true);
    document.body.dataset.state = "error";
  }
}

async function loadInfo() {
  try {
    const info = await (await fetch("/info")).json();
    colors = info.colors || {};
    const components = Object.keys(info.components).join(", ");
    $("model").textContent = `${info.model} · ${components}`;
    $("question").disabled = !info.question_answering;
    if (!info.question_answering) $("question").placeholder = "this model has no biobert_qa component";
  } catch (err) {
    setStatus(`/info: ${err.message}`, true);
  }
}

function submitForm(event) {
  if (event) event.preventDefault();
  const text = $("text").value;
  const question = $("question").disabled ? "" : $("question").value.trim();
  const topK = Math.max(1, parseInt($("top_k").value, 10) || 1);
  if (!text.trim()) {
    setStatus("Enter a text to annotate.", true);
    return;
  }
  return run(text, question, topK);
}

async function main() {
  $("form").addEventListener("submit", submitForm);
  await loadInfo();
  const params = new URLSearchParams(window.location.search);
  if (params.has("text")) {
    $("text").value = params.get("text");
    if (!$("question").disabled) $("question").value = params.get("question") || "";
    if (params.has("top_k")) $("top_k").value = params.get("top_k");
    await submitForm();
  }
}

main();
