// master.js: the song's Master tab.
//
// The page is server-rendered (figures, spectra, tables, review: htmx refetches each part when
// its event arrives). This island does what HTML cannot: it sends the master form as the JSON
// the API takes (`POST /api/masters/`, 202 with the job), follows the job's `job.progress`
// frames to its end, registers an uploaded file as a reference track (`POST /api/references/`
// once the upload flow has stored it) and removes one (`DELETE`).
//
// States, for people and tests: #master-progress[data-state] idle|running|done|failed|cancelled;
// #master-form[data-state] idle|sending|error; upload rows gain data-reference once registered.
import { live } from "studio/live";
import { initUploads } from "studio/upload";

const csrf = () => document.body.dataset.csrf;

async function api(method, url, body) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  if (response.status !== 204) {
    try { data = await response.json(); } catch (err) { data = null; }
  }
  return { ok: response.ok, status: response.status, data };
}

// Refetch one live part now (the event that would refetch it may come later, or not to us).
function refresh(selector) {
  const el = document.querySelector(selector);
  if (el && window.htmx) window.htmx.ajax("GET", el.getAttribute("hx-get"), { target: el, swap: "outerHTML" });
}

function number(input) {
  if (!input || input.value.trim() === "") return null;
  const v = Number(input.value.replace(",", "."));
  return Number.isFinite(v) ? v : NaN;
}

export function initMaster(root = document.getElementById("master-page")) {
  if (!root || root.dataset.init) return;
  root.dataset.init = "1";
  const song = Number(root.dataset.song);
  const form = document.getElementById("master-form");
  const progress = document.getElementById("master-progress");
  const jobCard = document.getElementById("master-job");
  const cancelBtn = document.getElementById("master-cancel");
  const mixes = new Set((root.dataset.mixes || "").split(",").filter(Boolean).map(Number));
  const bar = document.getElementById("master-bar");
  const text = document.getElementById("master-text");
  const submit = document.getElementById("master-submit");
  const errorEl = document.getElementById("mf-error");
  let job = Number(progress?.dataset.job) || null;
  let best = 0;

  // --- the form -------------------------------------------------------------------------
  const preset = document.getElementById("mf-preset");
  const target = document.getElementById("mf-target");
  const ceiling = document.getElementById("mf-ceiling");
  const presetNote = document.getElementById("mf-preset-note");
  const intensity = document.getElementById("mf-intensity");
  const intensityOut = document.getElementById("mf-intensity-out");

  function presetOption() { return preset && preset.value ? preset.selectedOptions[0] : null; }
  function showPreset() {
    const opt = presetOption();
    if (!presetNote) return;
    presetNote.textContent = opt ? `Source: ${opt.title}` : "Your own target and ceiling.";
  }
  if (preset) {
    preset.addEventListener("change", () => {
      const opt = presetOption();
      if (opt) {
        target.value = opt.dataset.lufs || "";
        ceiling.value = opt.dataset.ceiling || "";
      }
      showPreset();
    });
    showPreset();
  }
  if (intensity) {
    const show = () => {
      intensityOut.textContent = `${intensity.value} %`;
      intensity.setAttribute("aria-valuetext", `${intensity.value} percent`);
    };
    intensity.addEventListener("input", show);
    show();
  }
  // A stage's parameters are usable only while the stage is on.
  for (const stage of root.querySelectorAll(".stage")) {
    const box = stage.querySelector("input[type=checkbox]");
    const sync = () => stage.querySelectorAll(".stage-params input").forEach((i) => { i.disabled = !box.checked; });
    box.addEventListener("change", sync);
    sync();
  }

  /** The request body: a preset's own figures are not sent (the server takes them from the
   * preset, and the report says so); a blank target lets the references decide. */
  function body() {
    const f = new FormData(form);
    const opt = presetOption();
    const out = { mix: Number(f.get("mix")), references: f.getAll("references").map(Number) };
    if (opt) out.preset = opt.value;
    const t = number(target);
    const c = number(ceiling);
    if (t !== null && !(opt && String(t) === String(Number(opt.dataset.lufs)) && opt.dataset.lufs !== "")) out.target_lufs = t;
    if (c !== null && !(opt && String(c) === String(Number(opt.dataset.ceiling)))) out.ceiling_dbtp = c;
    out.intensity = Number(f.get("intensity"));
    out.bit_depth = f.get("bit_depth");
    const stages = {};
    const other = JSON.parse(document.getElementById("mf-eq-other")?.textContent || "[]");
    if (f.get("eq_on")) {
      const bands = [...other];
      const low = number(document.getElementById("mf-low"));
      const high = number(document.getElementById("mf-high"));
      if (low) bands.push({ kind: "lowshelf", freq: 100, gain_db: low, q: 0.707 });
      if (high) bands.push({ kind: "highshelf", freq: 10000, gain_db: high, q: 0.707 });
      stages.eq = bands;
    } else stages.eq = [];
    stages.compressor = f.get("compressor_on")
      ? { threshold_db: number(document.getElementById("mf-threshold")), ratio: number(document.getElementById("mf-ratio")) }
      : null;
    stages.saturation = f.get("saturation_on") ? { drive_db: number(document.getElementById("mf-drive")) } : null;
    stages.width = f.get("width_on") ? number(document.getElementById("mf-width")) : null;
    out.stages = stages;
    return out;
  }

  function showError(detail, fields) {
    form.dataset.state = "error";
    const lines = [detail || "The master could not start."];
    for (const [path, msgs] of Object.entries(fields || {})) {
      if (detail && detail.includes(path)) continue;
      lines.push(`${path}: ${[].concat(msgs).join(", ")}`);
    }
    errorEl.textContent = lines.join(" ");
  }

  if (form) {
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      errorEl.textContent = "";
      form.dataset.state = "sending";
      submit.disabled = true;
      try {
        const res = await api("POST", "/api/masters/", body());
        if (res.status === 202) {
          form.dataset.state = "idle";
          const j = (res.data && res.data.job) || {};
          mine = true;
          follow(Number(j.id), j.progress || 0);
          return;
        }
        showError(res.data && res.data.detail, res.data && res.data.fields);
      } catch (err) {
        showError("The connection failed: try again.");
      }
      submit.disabled = false;
    });
  }

  // --- the job --------------------------------------------------------------------------
  function setProgress(state, value, words) {
    if (!progress) return;
    jobCard.hidden = false;
    if (cancelBtn) cancelBtn.hidden = state !== "running";
    progress.dataset.state = state;
    if (value != null) {
      best = Math.max(best, Math.max(0, Math.min(1, value)));
      bar.value = best;
    }
    text.textContent = words;
  }

  function follow(id, value) {
    if (!id) return;
    job = id;
    best = 0;
    progress.dataset.job = String(id);
    setProgress("running", value, `Mastering… ${Math.floor(value * 100)}%`);
    if (submit) submit.disabled = true;
    // Subscribed already; read the job once in case it moved before we listened.
    api("GET", `/api/jobs/${id}/`).then((res) => {
      if (!res.ok || job !== id) return;
      if (res.data.state === "done") finished(id);
      else if (res.data.state === "failed") failed(id, res.data.error);
      else if (res.data.state === "cancelled") cancelled(id);
      else setProgress("running", res.data.progress || 0, `Mastering… ${Math.floor((res.data.progress || 0) * 100)}%`);
    });
  }

  let mine = false; // this page asked for the job: it opens the new master when done
  async function finished(id) {
    if (job !== id) return;
    job = null;
    if (submit) submit.disabled = false;
    if (!mine) { setProgress("done", 1, "Mastered: the new master is in the list."); return; }
    setProgress("done", 1, "Mastered. Opening the new master…");
    // The newest master of the song is the one this job made.
    const res = await api("GET", `/api/masters/?song=${song}`);
    const list = res.ok ? (res.data.results || res.data || []) : [];
    const made = list.find((m) => m.job === id) || list.sort((a, b) => b.number - a.number)[0];
    if (made) window.location.assign(`?m=${made.id}`);
    else { refresh("#masters"); refresh("#master-detail"); }
  }
  function failed(id, error) {
    if (job !== id) return;
    job = null;
    setProgress("failed", null, `The master failed: ${error || "see the job"}`);
    if (submit) submit.disabled = false;
  }
  function cancelled(id) {
    if (job !== id) return;
    job = null;
    setProgress("cancelled", null, "The master was cancelled.");
    if (submit) submit.disabled = false;
  }

  live.on("job.progress", (frame) => {
    const p = frame.payload || {};
    if (job == null || Number(p.job) !== job) return;
    setProgress("running", p.progress, `Mastering… ${Math.floor((p.progress || 0) * 100)}%`);
  });
  live.on("job.queued", (frame) => {
    const j = (frame.payload || {}).job || {};
    // Someone started a master of one of this song's mixes: everyone sees its progress.
    if (j.kind === "master" && job == null && mixes.has(Number(j.mix))) follow(Number(j.id), j.progress || 0);
  });
  if (cancelBtn) {
    cancelBtn.addEventListener("click", async () => {
      if (!job) return;
      cancelBtn.disabled = true;
      const res = await api("POST", `/api/jobs/${job}/cancel/`, {});
      cancelBtn.disabled = false;
      if (!res.ok) text.textContent = `Not cancelled: ${(res.data && res.data.detail) || res.status}`;
    });
  }
  live.on("job.finished", (frame) => {
    const j = (frame.payload || {}).job || {};
    if (job != null && Number(j.id) === job) finished(job);
  });
  live.on("job.failed", (frame) => {
    const j = (frame.payload || {}).job || {};
    if (job != null && Number(j.id) === job) failed(job, j.error || (frame.payload || {}).error);
  });
  live.on("job.cancelled", (frame) => {
    const j = (frame.payload || {}).job || {};
    if (job != null && Number(j.id) === job) cancelled(job);
  });
  if (job) follow(job, Number(bar?.value) || 0);

  // --- reference tracks -----------------------------------------------------------------
  // The upload flow stores the file and analyses it; once stored (the row has its asset),
  // it becomes a reference of this song.
  const rows = document.getElementById("upload-rows");
  const registered = new Set();
  async function register(li) {
    const asset = Number(li.dataset.asset);
    if (!asset || registered.has(asset)) return;
    registered.add(asset);
    const title = document.getElementById("upload-label")?.value.trim() || "";
    const res = await api("POST", "/api/references/", { song, asset, title });
    if (res.status === 201 || (res.status === 409 && res.data && res.data.code === "reference_exists")) {
      li.dataset.reference = String((res.data && res.data.id) || "");
      const status = li.querySelector(".status");
      if (status && res.status === 201) status.textContent = `${status.textContent} Added as a reference track.`;
      if (res.status === 201) addChoice(res.data);
      refresh("#references");
    } else {
      li.dataset.reference = "error";
      const status = li.querySelector(".status");
      if (status) status.textContent = `Not added as a reference: ${(res.data && res.data.detail) || res.status}`;
    }
  }
  if (rows) {
    new MutationObserver(() => {
      for (const li of rows.querySelectorAll(".upload-row[data-asset]")) {
        if (li.dataset.asset && !li.dataset.reference) register(li);
      }
    }).observe(rows, { subtree: true, attributes: true, attributeFilter: ["data-asset"], childList: true });
  }

  // A new reference is a choice in the form, checked: it was added to be matched.
  function addChoice(ref) {
    const box = document.getElementById("mf-references");
    if (!box || !ref || box.querySelector(`input[value="${ref.id}"]`)) return;
    document.getElementById("mf-no-refs")?.remove();
    const label = document.createElement("label");
    label.className = "check";
    const input = document.createElement("input");
    input.type = "checkbox";
    input.name = "references";
    input.value = String(ref.id);
    input.checked = true;
    label.append(input, document.createTextNode(` ${ref.title || `Reference ${ref.id}`}`));
    box.append(label);
  }
  live.on("reference.added", (frame) => {
    const ref = (frame.payload || {}).reference || {};
    if (Number(ref.song) === song) addChoice(ref);
  });
  live.on("reference.removed", (frame) => {
    const ref = (frame.payload || {}).reference || {};
    document.querySelector(`#mf-references input[value="${ref.id}"]`)?.closest("label")?.remove();
  });

  document.addEventListener("click", async (e) => {
    const button = e.target.closest("[data-remove-reference]");
    if (!button) return;
    const id = button.dataset.removeReference;
    button.disabled = true;
    const res = await api("DELETE", `/api/references/${id}/`);
    if (res.ok) {
      document.querySelector(`#mf-references input[value="${id}"]`)?.closest("label")?.remove();
      refresh("#references");
    } else {
      button.disabled = false;
      const flash = document.getElementById("flash");
      if (flash) flash.textContent = (res.data && res.data.detail) || `Not removed (${res.status}).`;
    }
  });

  initUploads();
  window.studioMaster = { get job() { return job; }, body };
}
