// release.js: the release page's island.
//
// The page is server-rendered; htmx refetches each part when its event arrives
// (release.tracks_changed, release.delivered, ...). This island does what HTML cannot:
// - drag and drop of the sequence (the "Move to" select does the same without a mouse):
//   POST /api/release-tracks/{id}/move/ {position}, then the list refetches;
// - the deliver button: POST /api/releases/{id}/deliver/ (202 with the job), then the
//   job's `job.progress` frames drive the bar until job.finished / failed / cancelled;
//   everyone with the page open sees a delivery someone else started (job.queued);
// - "hear the transition": the last 5 s of a track, its neighbour's gap in silence, then the
//   first 5 s of the next, through two <audio> elements scheduled one after the other, with
//   the trims and fades as they will be on the disc.
//
// States, for people and tests: #deliver-progress[data-state] idle|running|done|failed|cancelled;
// .hear[data-state] idle|playing-a|gap|playing-b|done.
import { live } from "studio/live";

const csrf = () => document.body.dataset.csrf;
const HEAR_S = 5;

async function api(method, url, body) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await response.json(); } catch (err) { data = null; }
  return { ok: response.ok, status: response.status, data };
}

function refresh(selector) {
  const el = document.querySelector(selector);
  if (el && window.htmx) window.htmx.ajax("GET", el.getAttribute("hx-get"), { target: el, swap: "outerHTML" });
}

// --- drag and drop ------------------------------------------------------------------------
function initDrag(root) {
  let dragged = null;
  root.addEventListener("dragstart", (e) => {
    const li = e.target.closest && e.target.closest(".seq-track[draggable]");
    if (!li) return;
    dragged = li;
    li.dataset.dragging = "1";
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", li.dataset.track);
  });
  root.addEventListener("dragend", () => {
    if (dragged) delete dragged.dataset.dragging;
    root.querySelectorAll(".drop-before").forEach((el) => el.classList.remove("drop-before"));
    dragged = null;
  });
  root.addEventListener("dragover", (e) => {
    const li = e.target.closest && e.target.closest(".seq-track");
    if (!dragged || !li) return;
    e.preventDefault();
    root.querySelectorAll(".drop-before").forEach((el) => el.classList.remove("drop-before"));
    if (li !== dragged) li.classList.add("drop-before");
  });
  root.addEventListener("drop", async (e) => {
    const li = e.target.closest && e.target.closest(".seq-track");
    if (!dragged || !li || li === dragged) return;
    e.preventDefault();
    const from = Number(dragged.dataset.position);
    let to = Number(li.dataset.position);
    if (from < to) to -= 1; // dropped before `li`: the list closes up behind the dragged one
    const id = dragged.dataset.track;
    li.parentNode.insertBefore(dragged, li);
    const res = await api("POST", `/api/release-tracks/${id}/move/`, { position: Math.max(1, to) });
    if (!res.ok) console.warn("move refused", res.status);
    refresh("#tracks");
    refresh("#release-missing");
  });
}

// --- deliver -------------------------------------------------------------------------------
function initDeliver(releaseId) {
  const progress = document.getElementById("deliver-progress");
  const bar = document.getElementById("deliver-bar");
  const text = document.getElementById("deliver-text");
  const button = document.getElementById("deliver-button");
  const errorEl = document.getElementById("deliver-error");
  let job = Number(progress?.dataset.job) || null;
  let best = 0;

  function set(state, value, words) {
    if (!progress) return;
    progress.hidden = false;
    progress.dataset.state = state;
    if (value != null) {
      best = Math.max(best, Math.max(0, Math.min(1, value)));
      bar.value = best;
    }
    text.textContent = words;
    if (button) button.disabled = state === "running";
  }
  function follow(id, value) {
    job = id;
    best = 0;
    progress.dataset.job = String(id);
    set("running", value || 0, `Delivering… ${Math.floor((value || 0) * 100)}%`);
    api("GET", `/api/jobs/${id}/`).then((res) => {
      if (!res.ok || job !== id) return;
      const s = res.data.state;
      if (s === "done") over("done", "Delivered: the files are listed below.");
      else if (s === "failed") over("failed", `Delivery failed: ${res.data.error}`);
      else if (s === "cancelled") over("cancelled", "Delivery cancelled.");
      else set("running", res.data.progress || 0, `Delivering… ${Math.floor((res.data.progress || 0) * 100)}%`);
    });
  }
  function over(state, words) {
    job = null;
    set(state, state === "done" ? 1 : null, words);
    refresh("#deliveries");
  }
  if (button) {
    button.addEventListener("click", async () => {
      errorEl.textContent = "";
      button.disabled = true;
      const res = await api("POST", `/api/releases/${releaseId}/deliver/`);
      if (res.status === 202) { follow(Number(res.data.job.id), res.data.job.progress); return; }
      button.disabled = false;
      const missing = (res.data && res.data.fields && res.data.fields.missing) || [];
      errorEl.textContent = [res.data ? res.data.detail : "The delivery could not start.", ...missing.slice(1)].join(" ");
    });
  }
  live.on("job.queued", (frame) => {
    const j = (frame.payload || {}).job || {};
    if (j.kind === "deliver" && job == null) {
      // whose release? this release's delivering job, if it is that one
      api("GET", `/api/releases/${releaseId}/`).then((res) => {
        if (res.ok && job == null && Number(res.data.delivering_job) === Number(j.id)) follow(Number(j.id), j.progress || 0);
      });
    }
  });
  live.on("job.progress", (frame) => {
    const p = frame.payload || {};
    if (job != null && Number(p.job) === job) set("running", p.progress, `Delivering… ${Math.floor((p.progress || 0) * 100)}%`);
  });
  live.on("job.finished", (frame) => {
    const j = (frame.payload || {}).job || {};
    if (job != null && Number(j.id) === job) over("done", "Delivered: the files are listed below.");
  });
  live.on("job.failed", (frame) => {
    const j = (frame.payload || {}).job || {};
    if (job != null && Number(j.id) === job) over("failed", `Delivery failed: ${j.error || ""}`);
  });
  live.on("job.cancelled", (frame) => {
    const j = (frame.payload || {}).job || {};
    if (job != null && Number(j.id) === job) over("cancelled", "Delivery cancelled.");
  });
  if (job) follow(job, Number(bar?.value) || 0);
}

// --- hear the transition -------------------------------------------------------------------
let playing = null;

function stopPlaying() {
  if (!playing) return;
  for (const t of playing.timers) clearTimeout(t);
  for (const a of playing.audios) { a.pause(); a.removeAttribute("src"); a.load(); }
  playing.button.dataset.state = "idle";
  playing.button.setAttribute("aria-pressed", "false");
  playing = null;
}

function seeked(audio, at) {
  return new Promise((resolve) => {
    const done = () => { audio.removeEventListener("seeked", done); resolve(); };
    audio.addEventListener("seeked", done);
    audio.currentTime = at;
  });
}

function ready(audio) {
  return new Promise((resolve, reject) => {
    if (audio.readyState >= 1) { resolve(); return; }
    audio.addEventListener("loadedmetadata", () => resolve(), { once: true });
    audio.addEventListener("error", () => reject(new Error("audio failed")), { once: true });
  });
}

/** Volume ramps of the fades the disc will have, on the elements' volume (no Web Audio). */
function fadeTimer(audio, from, to, seconds, timers) {
  if (!(seconds > 0)) return;
  const steps = Math.max(1, Math.round(seconds * 20));
  for (let i = 0; i <= steps; i++) {
    timers.push(setTimeout(() => { audio.volume = Math.max(0, Math.min(1, from + (to - from) * (i / steps))); }, (i * seconds * 1000) / steps));
  }
}

async function hear(button) {
  if (playing && playing.button === button) { stopPlaying(); return; }
  stopPlaying();
  const d = button.dataset;
  const a = new Audio(d.aUrl);
  const b = new Audio(d.bUrl);
  a.preload = b.preload = "auto";
  const timers = [];
  playing = { button, audios: [a, b], timers };
  button.setAttribute("aria-pressed", "true");
  const aEnd = Number(d.aEnd);
  const aStart = Math.max(0, aEnd - HEAR_S);
  const gap = Number(d.gap) || 0;
  const bStart = Number(d.bStart) || 0;
  try {
    await Promise.all([ready(a), ready(b)]);
    await Promise.all([seeked(a, aStart), seeked(b, bStart)]);
  } catch (err) {
    button.dataset.state = "idle";
    playing = null;
    return;
  }
  if (!playing || playing.button !== button) return;
  const aLen = aEnd - aStart;
  const aFade = Math.min(Number(d.aFade) || 0, aLen);
  a.volume = 1;
  b.volume = (Number(d.bFade) || 0) > 0 ? 0 : 1;
  button.dataset.state = "playing-a";
  await a.play();
  if (aFade > 0) timers.push(setTimeout(() => fadeTimer(a, 1, 0, aFade, timers), (aLen - aFade) * 1000));
  timers.push(setTimeout(() => {
    a.pause();
    button.dataset.state = "gap";
    timers.push(setTimeout(async () => {
      if (!playing || playing.button !== button) return;
      button.dataset.state = "playing-b";
      await b.play();
      fadeTimer(b, 0, 1, Math.min(Number(d.bFade) || 0, HEAR_S), timers);
      timers.push(setTimeout(() => {
        b.pause();
        button.dataset.state = "done";
        button.setAttribute("aria-pressed", "false");
        playing = null;
      }, HEAR_S * 1000));
    }, gap * 1000));
  }, aLen * 1000));
}

export function initRelease(root = document.getElementById("release-page")) {
  if (!root || root.dataset.init) return;
  root.dataset.init = "1";
  if (root.dataset.editable === "true") initDrag(root);
  initDeliver(Number(root.dataset.release));
  root.addEventListener("click", (e) => {
    const button = e.target.closest && e.target.closest("button.hear");
    if (button) hear(button);
  });
  // A refetched sequence loses the element that was playing: stop it with the old list.
  document.body.addEventListener("htmx:beforeSwap", (e) => {
    if (playing && e.detail.target && e.detail.target.contains(playing.button)) stopPlaying();
  });
}
