// vlgym episode viewer. Recorded text (answers, prompts, page text) is only ever set with textContent:
// nothing a model or a page wrote can become markup or script.
"use strict";

const state = { runs: [], rows: [], shown: [], current: null, compare: null, step: 0 };
const $ = (id) => document.getElementById(id);

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function frameUrl(runId, episode, frame) {
  return "/frame?run=" + encodeURIComponent(runId) + "&episode=" + encodeURIComponent(episode)
    + "&file=" + encodeURIComponent(frame);
}

function shortEnv(envId) { return (envId || "?").replace(/^vlgym\//, ""); }

function fmt(value) {
  return typeof value === "number" ? (Number.isInteger(value) ? String(value) : value.toFixed(3)) : String(value);
}

async function getJson(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(url + ": " + response.status);
  return response.json();
}

async function loadRuns() {
  const data = await getJson("/api/runs");
  state.runs = data.runs;
  $("sources").textContent = data.sources.map((s, i) => (data.sources.length > 1 ? "ABCD"[i] + ": " : "") + s)
    .join("   ");
  state.rows = [];
  for (const run of data.runs) {
    for (const episode of run.episodes) state.rows.push({ run, episode });
  }
  fillSelect($("filter-run"), data.runs.map((r) => [r.id, runLabel(r)]));
  fillSelect($("filter-env"), [...new Set(state.rows.map((r) => r.episode.env_id))].map((e) => [e, shortEnv(e)]));
  fillSelect($("compare"), data.runs.map((r) => [r.id, runLabel(r)]));
  applyFilters();
}

function runLabel(run) {
  return (state.runs.some((r) => r.source > 0) ? "ABCD"[run.source] + ": " : "") + run.name;
}

function fillSelect(select, options) {
  const keep = select.value;
  while (select.options.length > 1) select.remove(1);
  for (const [value, label] of options) select.append(el("option", { value }, label));
  select.value = keep;
}

function matches(row) {
  const run = $("filter-run").value, env = $("filter-env").value, outcome = $("filter-outcome").value;
  const seed = $("filter-seed").value.trim(), invalid = $("filter-invalid").checked;
  const e = row.episode;
  if (run && row.run.id !== run) return false;
  if (env && e.env_id !== env) return false;
  if (outcome === "success" && !e.success) return false;
  if (outcome === "failure" && e.success) return false;
  if (seed && String(e.seed) !== seed) return false;
  if (invalid && !(e.invalid_actions > 0)) return false;
  return true;
}

function applyFilters() {
  state.shown = state.rows.filter(matches);
  const body = $("episodes").tBodies[0];
  body.replaceChildren();
  for (const row of state.shown) {
    const e = row.episode;
    const tr = el("tr", { "data-run": row.run.id, "data-episode": e.episode });
    const cells = [runLabel(row.run), e.episode.replace("episode_", ""), shortEnv(e.env_id), e.seed, e.outcome,
      fmt(e["return"]), e.length, e.invalid_actions];
    cells.forEach((value, i) => tr.append(el("td", i === 4 ? { class: "outcome-" + e.outcome } : {}, value)));
    if (isCurrent(row)) tr.classList.add("selected");
    tr.addEventListener("click", () => openEpisode(row));
    body.append(tr);
  }
  $("count").textContent = state.shown.length + " of " + state.rows.length + " episodes";
}

function isCurrent(row) {
  return state.current && state.current.run.id === row.run.id && state.current.episode === row.episode.episode;
}

async function openEpisode(row) {
  const data = await getJson("/api/episode?run=" + encodeURIComponent(row.run.id) + "&episode="
    + encodeURIComponent(row.episode.episode));
  state.current = { run: row.run, episode: row.episode.episode, data };
  state.step = 0;
  if (!$("compare").value) {  // two folders given: compare with the other folder's first run by default
    const other = state.runs.find((r) => r.source !== row.run.source);
    if (other) $("compare").value = other.id;
  }
  await loadCompare();
  for (const tr of $("episodes").tBodies[0].rows) {
    tr.classList.toggle("selected", tr.dataset.run === row.run.id && tr.dataset.episode === row.episode.episode);
  }
  $("empty").hidden = true;
  $("episode").hidden = false;
  render();
}

async function loadCompare() {
  state.compare = null;
  const runId = $("compare").value;
  if (!state.current || !runId) return;
  const run = state.runs.find((r) => r.id === runId);
  const mine = state.current.data;
  const twin = run && run.episodes.find((e) => e.seed === mine.seed && e.env_id === mine.env_id
    && !(run.id === state.current.run.id && e.episode === state.current.episode));
  if (!twin) { state.compare = { run, missing: true }; return; }
  const data = await getJson("/api/episode?run=" + encodeURIComponent(run.id) + "&episode="
    + encodeURIComponent(twin.episode));
  state.compare = { run, episode: twin.episode, data };
}

function render() {
  const current = state.current;
  const length = current.data.steps.length;
  $("position").textContent = length ? "step " + (state.step + 1) + " / " + length : "no steps";
  const panes = $("panes");
  panes.replaceChildren(pane(current, state.step, "main"));
  if (state.compare) {
    panes.append(state.compare.missing ? missingPane(state.compare.run, current.data.seed)
      : pane(state.compare, Math.min(state.step, state.compare.data.steps.length - 1), "compare"));
  }
}

function missingPane(run, seed) {
  const box = el("div", { class: "pane", id: "pane-compare" });
  box.append(el("h2", {}, run ? runLabel(run) : "?"), el("div", { class: "meta" }, "no episode with seed " + seed));
  return box;
}

function pane(view, index, name) {
  const data = view.data, step = data.steps[index] || {};
  const box = el("div", { class: "pane", id: "pane-" + name });
  box.append(el("h2", {}, runLabel(view.run) + " / " + view.episode));
  box.append(el("div", { class: "meta" }, shortEnv(data.env_id) + " · seed " + data.seed + " · " + data.outcome
    + " · return " + fmt(data["return"]) + " · " + data.length + " steps"));
  if (step.frame) box.append(el("img", { class: "frame", alt: "frame", src: frameUrl(view.run.id, view.episode, step.frame) }));
  const facts = el("dl", { class: "facts" });
  const valid = step.action_valid !== false;
  const rows = [["reward", fmt(step.reward)], ["parsed action", step.parsed_action ?? "none"],
    ["parse reason", step.parse_reason || ""], ["success", String(step.success)], ["score", fmt(step.score)]];
  const badge = el("span", { class: "badge " + (valid ? "valid" : "invalid"), id: name + "-valid" },
    valid ? "valid" : "invalid");
  facts.append(el("dt", {}, "answer"), el("dd"));
  facts.lastChild.append(badge);
  for (const [key, value] of rows) facts.append(el("dt", {}, key), el("dd", { "data-field": key }, value));
  box.append(el("h3", {}, "answer"), answerBlock(step, name), facts);
  if (step.text) box.append(el("h3", {}, "text observation"), el("pre", { id: name + "-text" }, step.text));
  if (step.instruction) box.append(el("h3", {}, "instruction"), el("pre", {}, step.instruction));
  if (step.prompt) {
    const details = el("details");
    details.append(el("summary", {}, "full prompt"), el("pre", { id: name + "-prompt" }, step.prompt));
    box.append(details);
  }
  box.append(el("h3", {}, "all frames"), strip(view, index));
  return box;
}

function answerBlock(step, name) {
  const pre = el("pre", { class: "answer", id: name + "-answer" });
  const segments = step.segments && step.segments.length ? step.segments : [["plain", step.answer ?? step.action ?? ""]];
  for (const [kind, text] of segments) {
    pre.append(kind === "plain" ? document.createTextNode(text) : el("span", { class: kind }, text));
  }
  return pre;
}

function strip(view, index) {
  const box = el("div", { class: "strip" });
  view.data.steps.forEach((step, i) => {
    const img = el("img", { src: frameUrl(view.run.id, view.episode, step.frame), alt: "step " + (i + 1),
      title: "step " + (i + 1) + (step.action_valid === false ? " (invalid answer)" : "") });
    if (i === index) img.classList.add("current");
    if (step.action_valid === false) img.classList.add("bad");
    img.addEventListener("click", () => { state.step = i; render(); });
    box.append(img);
  });
  return box;
}

function moveStep(delta, absolute) {
  if (!state.current) return;
  const last = state.current.data.steps.length - 1;
  const target = absolute !== undefined ? absolute : state.step + delta;
  state.step = Math.max(0, Math.min(last, target));
  render();
}

function moveEpisode(delta) {
  if (!state.shown.length) return;
  const at = state.shown.findIndex(isCurrent);
  const next = at < 0 ? 0 : Math.max(0, Math.min(state.shown.length - 1, at + delta));
  openEpisode(state.shown[next]);
}

document.addEventListener("keydown", (event) => {
  if (event.target.matches("input, select, textarea")) return;
  const keys = { ArrowRight: () => moveStep(1), ArrowLeft: () => moveStep(-1), ArrowDown: () => moveEpisode(1),
    ArrowUp: () => moveEpisode(-1), Home: () => moveStep(0, 0), End: () => moveStep(0, Infinity),
    l: () => moveStep(1), h: () => moveStep(-1), j: () => moveEpisode(1), k: () => moveEpisode(-1) };
  if (keys[event.key]) { event.preventDefault(); keys[event.key](); }
});

window.addEventListener("DOMContentLoaded", () => {
  for (const id of ["filter-run", "filter-env", "filter-outcome", "filter-invalid"]) {
    $(id).addEventListener("change", applyFilters);
  }
  $("filter-seed").addEventListener("input", applyFilters);
  $("prev").addEventListener("click", () => moveStep(-1));
  $("next").addEventListener("click", () => moveStep(1));
  $("compare").addEventListener("change", async () => { await loadCompare(); if (state.current) render(); });
  loadRuns().then(() => document.body.setAttribute("data-ready", "1"));
});
