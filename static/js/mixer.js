// mixer.js: the song's mixer (channel strips, clip timeline with automation, master) over its
// draft mix spec. This module owns the spec, its saving and the live updates; the parts it
// draws are in mixer/: strips.js (faders, effects, sends, routing, buses), timeline.js (clips),
// automation.js (volume and pan lanes), controls.js and util.js (shared pieces).
//
// The spec is the truth: it is read from GET /api/mixes/<id>/spec/ and every change made here
// replaces it with a debounced PUT (the server checks it whole; a 400 names each bad field by
// its JSON path, shown next to the control that holds that path, in words). Other members'
// changes arrive as `mix.spec_changed`: unless it is our own save, we refetch and redraw.
// "Preview from here" renders 20 s from the playhead (POST .../preview/, audio/wav) and plays
// it; "Render" starts the job, follows `job.progress` frames, and on `mix.rendered` opens the
// new version in the player against the previous one.
//
// Page states (for people and tests): #mixer[data-state] loading|ready|readonly|rendering|
// rendered, [data-save] saved|pending|saving|error, [data-revision]; #preview-state[data-state]
// idle|rendering|playing|done|error; #render-progress[data-state] idle|running|done|failed.
import { live } from "studio/live";
import { makeAutomation } from "./mixer/automation.js";
import { makeStrips } from "./mixer/strips.js";
import { makeTimeline } from "./mixer/timeline.js";
import { watchSections } from "./sections.js";
import { api, clock, csrf, el, merge, round, words } from "./mixer/util.js";

const SAVE_DELAY_MS = 400;

export function initMixer(root = document.getElementById("mixer")) {
  if (!root || root.dataset.init) return null;
  root.dataset.init = "1";
  const data = JSON.parse(document.getElementById("mixer-data").textContent);
  const $ = (id) => document.getElementById(id);
  const saveEl = $("save-state");
  const errorEl = $("mixer-error");
  const statusEl = $("mixer-status");
  const previewBtn = $("preview-btn");
  const previewStop = $("preview-stop");
  const previewAudio = $("preview-audio");
  const previewState = $("preview-state");
  const renderBtn = $("render-btn");
  const progressEl = $("render-progress");
  const barEl = $("render-bar");
  const renderText = $("render-text");
  const zoomEl = $("zoom");

  // The state every part reads (m.spec, m.editable, m.zoom...) and the few things they call.
  const m = {
    data, root, sources: new Map(data.sources.map((s) => [s.name, s])),
    spec: null, editable: false, selected: null, playhead: 0, fitted: false,
    zoom: Number(zoomEl?.value || 16), zoomEl, timeEl: $("playhead-time"),
    stripsEl: $("strips"), busAddEl: $("bus-add"), timelineEl: $("timeline"), innerEl: $("timeline-inner"),
    editorEl: $("clip-editor"), autoEditorEl: $("auto-editor"), clipAddEl: $("clip-add"),
    change, say, drawTimeline: (opts) => timeline.draw(opts),
    // A drag in progress (m.gesture): a redraw would take the element from under the pointer,
    // so others' changes wait for its end.
    gesture: false,
    gestureEnd() {
      m.gesture = false;
      if (remoteRevision > revision && !dirty && !saving) setTimeout(() => { if (!m.gesture && !dirty && !saving) load(); }, 0);
    },
    stopPreviewIfPlaying: () => { if (previewAudio && !previewAudio.paused) stopPreview(); },
    rate: () => (m.spec && m.spec.sample_rate) || 48000,
    sourceFrames(name) {
      const s = m.sources.get(name);
      return s ? Math.round(s.frames * m.rate() / s.sample_rate) : null;
    },
    clipSourceLength(c) {
      if (c.length != null) return c.length;
      const n = m.sourceFrames(c.source);
      return n == null ? 0 : Math.max(0, n - (c.source_in || 0));
    },
    clipTimelineLength(c) {
      const n = m.clipSourceLength(c);
      return (c.stretch ?? 1) === 1 ? n : Math.round(n * c.stretch);
    },
    programmeSeconds() {
      if (!m.spec) return 0;
      if (m.spec.length != null) return m.spec.length / m.rate();
      let end = 0;
      for (const t of m.spec.tracks) for (const c of t.clips) end = Math.max(end, c.start + m.clipTimelineLength(c));
      return end / m.rate();
    },
    sourceLabel: (name) => m.sources.get(name)?.label || name,
  };
  m.auto = makeAutomation(m);
  const strips = makeStrips(m);
  const timeline = makeTimeline(m);
  // The song sheet's sections, drawn under the ruler once the tempo and first downbeat are set.
  m.sections = [];
  watchSections(root.dataset.song, (list) => {
    m.sections = list;
    root.dataset.sections = String(list.length);
    if (m.spec && !m.gesture) timeline.draw({ editor: false });
  });

  let base = null; // the spec as the server last had it (at `revision`): what we changed is spec vs base
  let revision = 0;
  let saveTimer = null;
  let saving = null; // the promise of the PUT in flight
  let dirty = false;
  let remoteRevision = 0; // the newest revision others saved while we were saving
  let renderJob = data.render_job;
  let renderedHere = false;
  let previewStart = 0;
  let previewUrl = null;
  const mine = new Set(); // revisions our own saves produced

  const setState = (s) => { root.dataset.state = s; };
  function setSave(state, text) {
    root.dataset.save = state;
    if (saveEl) { saveEl.dataset.state = state; saveEl.textContent = text; }
  }
  // A polite sentence for what a gesture did that the control itself does not show.
  function say(text) { if (statusEl) statusEl.textContent = text; }

  // JSON path -> words: "tracks[0].fx[1].ratio" -> "bass, effect 2 (Compressor), ratio".
  function humanPath(path) {
    const parts = [];
    const re = /([a-z_]+)(?:\[(\d+)\])?/gi;
    let found;
    let node = m.spec;
    while ((found = re.exec(path))) {
      const [, key, index] = found;
      const i = index == null ? null : Number(index);
      const child = node && typeof node === "object" ? node[key] : undefined;
      const item = i == null ? child : Array.isArray(child) ? child[i] : undefined;
      if (key === "tracks" || key === "buses") parts.push(item?.id ? `“${item.id}”` : `${key === "tracks" ? "track" : "bus"} ${i + 1}`);
      else if (key === "fx") parts.push(`effect ${i + 1}${item?.type ? ` (${item.type})` : ""}`);
      else if (key === "clips") parts.push(`clip ${i + 1}`);
      else if (key === "sends") parts.push(`send ${i + 1}${item?.bus ? ` to “${item.bus}”` : ""}`);
      else if (key === "gain_db" && i != null) parts.push(`volume point ${i + 1}`);
      else if (key === "pan" && i != null) parts.push(`pan point ${i + 1}`);
      else if (key === "master") parts.push("master");
      else if (key === "spec") parts.push("the mix");
      else parts.push(words(key).toLowerCase());
      node = item;
    }
    return parts.join(", ");
  }

  // --- saving --------------------------------------------------------------------------------
  function change(mutate, { redraw = false } = {}) {
    if (!m.editable || !m.spec) return;
    mutate(m.spec);
    dirty = true;
    setSave("pending", "Saving…");
    if (redraw) drawAll();
    else timeline.draw({ editor: false }); // the controls in hand already show the value
    clearTimeout(saveTimer);
    saveTimer = setTimeout(() => { save(); }, SAVE_DELAY_MS);
  }

  async function save() {
    clearTimeout(saveTimer);
    if (saving) { await saving; if (!dirty) return; }
    if (!dirty) return;
    dirty = false;
    setSave("saving", "Saving…");
    const body = JSON.parse(JSON.stringify(m.spec));
    saving = (async () => {
      try {
        const { response, data: reply } = await api("PUT", `/api/mixes/${data.mix}/spec/`, body, { "If-Match": `"r${revision}"` });
        if (response.ok) {
          revision = reply.spec_revision;
          base = structuredClone(reply.spec); // never the object we edit
          mine.add(revision);
          root.dataset.revision = String(revision);
          if (!dirty) {
            m.spec = reply.spec;
            clearErrors();
            setSave("saved", "All changes saved");
          }
          return;
        }
        if (response.status === 412) {
          // Someone saved meanwhile: put our changes onto theirs and save again.
          const fresh = await api("GET", `/api/mixes/${data.mix}/spec/`);
          if (fresh.response.ok) {
            const clash = { any: false };
            m.spec = merge(base, m.spec, fresh.data.spec, clash);
            base = structuredClone(fresh.data.spec);
            revision = fresh.data.spec_revision;
            root.dataset.merged = String(Number(root.dataset.merged || 0) + 1);
            if (clash.any && errorEl) errorEl.textContent = "Someone changed the same control meanwhile: your value was kept.";
            dirty = true;
            drawAll();
            return;
          }
        }
        showErrors(reply, response.status);
      } catch (err) {
        dirty = true;
        setSave("error", "Not saved: the server cannot be reached. Retrying…");
        clearTimeout(saveTimer);
        saveTimer = setTimeout(() => { save(); }, 3000);
      }
    })();
    await saving;
    saving = null;
    if (dirty) await save();
    else if (remoteRevision > revision) await load();
  }

  async function flush() {
    if (dirty || saving) await save();
    return root.dataset.save === "saved";
  }

  function clearErrors() {
    for (const ctl of root.querySelectorAll(".invalid")) ctl.classList.remove("invalid");
    for (const slot of root.querySelectorAll(".ctl-err")) slot.textContent = "";
    for (const input of root.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
    if (errorEl) errorEl.textContent = "";
  }

  // The element showing a path's error: the control holding it, or the nearest one holding a
  // part of it. A channel's own problem (a bus cycle names "buses[1]") is its routing's.
  function slotFor(path) {
    const find = (p) => root.querySelector(`[data-path="${CSS.escape(p)}"]`);
    if (/^(tracks|buses)\[\d+\]$/.test(path) && find(`${path}.output`)) return { ctl: find(`${path}.output`), exact: true };
    let probe = path;
    let ctl = null;
    while (probe && !(ctl = find(probe))?.querySelector(":scope > .ctl-err")) {
      ctl = null;
      const up = probe.replace(/(\.[^.[\]]+|\[\d+\])$/, "");
      if (up === probe) break;
      probe = up;
    }
    return { ctl, exact: probe === path };
  }

  function showErrors(reply, status) {
    clearErrors();
    const fields = (reply && reply.fields) || {};
    const loose = [];
    for (const [path, sentences] of Object.entries(fields)) {
      const text = (Array.isArray(sentences) ? sentences : [String(sentences)]).join("; ");
      const { ctl, exact } = slotFor(path);
      const slot = ctl?.querySelector(":scope > .ctl-err");
      if (ctl && slot) {
        ctl.classList.add("invalid");
        slot.textContent = exact ? text : `${humanPath(path)}: ${text}`;
        for (const input of ctl.querySelectorAll(":scope > input, :scope > select")) input.setAttribute("aria-invalid", "true");
      } else {
        loose.push(`${humanPath(path)}: ${text}`);
      }
    }
    // The first refused control comes into view (a strip may be scrolled under the master).
    root.querySelector(".ctl.invalid")?.scrollIntoView({ block: "nearest", inline: "nearest" });
    const detail = (reply && reply.detail) || `The server refused the change (${status}).`;
    if (errorEl) errorEl.textContent = loose.length ? `Not saved. ${loose.join(". ")}.` : Object.keys(fields).length ? "" : `Not saved: ${detail}`;
    setSave("error", "Not saved: fix the field marked in red");
  }

  function drawAll() {
    timeline.draw();
    strips.draw();
  }

  // --- loading and live ----------------------------------------------------------------------
  async function load() {
    if (!data.mix) { setState("empty"); return; }
    try {
      const { response, data: body } = await api("GET", `/api/mixes/${data.mix}/spec/`);
      if (!response.ok) { setState("error"); if (errorEl) errorEl.textContent = (body && body.detail) || "The mix could not be loaded."; return; }
      m.spec = body.spec;
      base = structuredClone(body.spec);
      revision = body.spec_revision;
      root.dataset.revision = String(revision);
      m.editable = Boolean(data.can_edit && body.editable && data.draft === data.mix);
      if (!m.editable && saveEl && root.dataset.save === "saved") {
        saveEl.textContent = data.can_edit ? "" : "You listen: the team's changes appear here live";
      }
      // Lanes with points are shown from the start; the others on request.
      for (const t of m.spec.tracks) if ((t.automation?.gain_db || []).length || (t.automation?.pan || []).length) m.auto.open(t.id);
      drawAll();
      if (renderJob) setState("rendering");
      else setState(m.editable ? "ready" : "readonly");
    } catch (err) {
      console.warn("mixer: loading the spec failed", err);
      setState("error");
    }
  }

  live.on("mix.spec_changed", (frame) => {
    const mix = (frame.payload || {}).mix || {};
    if (mix.id !== data.mix) return;
    if (mine.has(mix.spec_revision) || mix.spec_revision <= revision) return; // our own save
    if (dirty || saving || m.gesture) { remoteRevision = Math.max(remoteRevision, mix.spec_revision); return; }
    load();
  });
  live.on("mix.draft_created", (frame) => {
    const mix = (frame.payload || {}).mix || {};
    if (mix.song === data.song && !data.draft && (!previewAudio || previewAudio.paused)) location.reload();
  });
  live.on("mix.draft_discarded", (frame) => {
    const mix = (frame.payload || {}).mix || {};
    if (mix.id === data.mix) location.reload();
  });
  live.on("job.progress", (frame) => {
    const p = frame.payload || {};
    if (renderJob == null || p.job !== renderJob) return;
    showProgress(p.progress);
  });
  live.on("job.queued", (frame) => {
    const job = (frame.payload || {}).job || {};
    if (job.kind !== "render" || job.mix !== data.mix || renderJob != null) return;
    // Someone started the render: the spec is frozen while it runs.
    renderJob = job.id;
    showProgress(0);
    if (renderBtn) renderBtn.disabled = true;
    if (m.editable) { m.editable = false; drawAll(); }
    setState("rendering");
  });
  for (const type of ["job.failed", "job.cancelled"]) {
    live.on(type, (frame) => {
      const job = (frame.payload || {}).job || {};
      if (renderJob == null || job.id !== renderJob) return;
      renderJob = null;
      progressEl.dataset.state = "failed";
      renderText.textContent = type === "job.failed" ? `The render failed: ${job.error || (frame.payload || {}).error || "see the job"}` : "The render was cancelled.";
      if (renderBtn) renderBtn.disabled = false;
      renderedHere = false;
      load(); // the draft is editable again
    });
  }
  live.on("mix.rendered", (frame) => {
    const p = frame.payload || {};
    const mix = p.mix || {};
    if (mix.id !== data.mix) return;
    renderJob = null;
    m.editable = false;
    showProgress(1);
    progressEl.dataset.state = "done";
    const report = p.report || {};
    data.last_render = { mix: mix.id, number: mix.number, rendered: true, ...report };
    const listen = `/mixes/${mix.id}/${data.previous ? `?b=${data.previous}` : ""}`;
    renderText.replaceChildren(`Mix ${mix.number} is rendered. `, el("a", { href: listen, id: "rendered-link" }, data.previous ? "Listen, A/B with the previous version →" : "Listen →"));
    if (renderBtn) renderBtn.remove();
    const name = $("mix-name");
    if (name) name.textContent = `· Mix ${mix.number}`;
    if (previewBtn) previewBtn.hidden = true;
    setState("rendered");
    drawAll();
    if (renderedHere) location.assign(listen);
  });
  live.on("resync", () => { if (!dirty && !saving && !m.gesture) load(); });

  function showProgress(fraction) {
    progressEl.hidden = false;
    progressEl.dataset.state = "running";
    const f = Math.max(Number(barEl.value) || 0, Math.min(1, Number(fraction) || 0)); // never backwards
    barEl.value = f;
    progressEl.dataset.progress = f.toFixed(2);
    renderText.textContent = `Rendering… ${Math.round(f * 100)}%`;
  }

  // --- preview and render ----------------------------------------------------------------
  function stopPreview() {
    if (!previewAudio) return;
    previewAudio.pause();
    previewStop.hidden = true;
    previewState.dataset.state = "done";
    previewState.textContent = "";
  }

  if (previewBtn) {
    previewBtn.addEventListener("click", async () => {
      if (!m.spec) return;
      const total = m.programmeSeconds();
      let start = m.playhead;
      if (total > 0 && start >= total - 0.5) start = Math.max(0, total - data.preview_s);
      const end = total > 0 ? Math.min(total, start + data.preview_s) : start + data.preview_s;
      previewBtn.disabled = true;
      previewState.dataset.state = "rendering";
      previewState.textContent = `Rendering ${clock(start)}–${clock(end)}…`;
      try {
        if (m.editable) await flush();
        const response = await fetch(`/api/mixes/${data.mix}/preview/`, {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
          body: JSON.stringify({ start_s: round(start, 0.001), end_s: round(end, 0.001) }),
        });
        if (!response.ok) {
          let detail = `the server answered ${response.status}`;
          try { detail = (await response.json()).detail || detail; } catch (err) { /* not JSON */ }
          throw new Error(detail);
        }
        const blob = await response.blob();
        if (previewUrl) URL.revokeObjectURL(previewUrl);
        previewUrl = URL.createObjectURL(blob);
        previewStart = start;
        previewAudio.src = previewUrl;
        previewState.dataset.bytes = String(blob.size);
        await previewAudio.play();
        previewState.dataset.state = "playing";
        previewState.textContent = `Playing the preview ${clock(start)}–${clock(end)}`;
        previewStop.hidden = false;
      } catch (err) {
        previewState.dataset.state = "error";
        previewState.textContent = `No preview: ${err.message || err}`;
      } finally {
        previewBtn.disabled = false;
      }
    });
    previewStop.addEventListener("click", stopPreview);
    previewAudio.addEventListener("timeupdate", () => timeline.setPlayhead(previewStart + previewAudio.currentTime, { fromAudio: true }));
    previewAudio.addEventListener("ended", () => { previewState.dataset.state = "done"; previewState.textContent = "Preview played"; previewStop.hidden = true; });
  }

  if (renderBtn) {
    renderBtn.addEventListener("click", async () => {
      renderBtn.disabled = true;
      if (errorEl) errorEl.textContent = "";
      if (!(await flush())) { renderBtn.disabled = false; return; }
      renderedHere = true;
      const { response, data: job } = await api("POST", `/api/mixes/${data.mix}/render/`, {});
      if (response.status !== 202) {
        renderedHere = false;
        renderBtn.disabled = false;
        if (errorEl) errorEl.textContent = `Not rendered: ${(job && job.detail) || `the server answered ${response.status}`}`;
        return;
      }
      renderJob = job.id;
      m.editable = false;
      setState("rendering");
      barEl.value = 0;
      showProgress(job.progress || 0);
      drawAll();
    });
  }
  if (renderJob) { showProgress(0); if (renderBtn) renderBtn.disabled = true; }

  // --- starting a draft ------------------------------------------------------------------
  async function startDraft(body, button) {
    button.disabled = true;
    const { response, data: reply } = await api("POST", "/api/mixes/", { song: data.song, ...body });
    if (response.status === 201 || response.status === 409) { location.reload(); return; }
    button.disabled = false;
    if (errorEl) errorEl.textContent = (reply && reply.detail) || `The draft could not be made (${response.status}).`;
    else console.warn("mixer: draft", response.status);
  }
  $("draft-keepers")?.addEventListener("click", (e) => startDraft({ from: "keepers" }, e.currentTarget));
  const parentBtn = $("draft-parent");
  parentBtn?.addEventListener("click", () => startDraft({ parent: Number(parentBtn.dataset.parent) }, parentBtn));

  zoomEl?.addEventListener("input", () => { m.zoom = Number(zoomEl.value); timeline.draw(); });
  window.addEventListener("beforeunload", (e) => { if (dirty || saving) { e.preventDefault(); } });
  if (data.mix) live.here({ song: data.song, mix: data.mix });
  load();
  window.studioMixer = { get spec() { return m.spec; }, get revision() { return revision; }, save, flush, setPlayhead: (s) => timeline.setPlayhead(s) };
  return window.studioMixer;
}
