// mixer.js: the song's mixer (channel strips, clip timeline, master) over its draft mix spec.
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

const SAVE_DELAY_MS = 400;
const FLOOR_DB = -144;
const SLIDER_DB = [-60, 12];
const SEND_DB = [-60, 6];

function csrf() { return document.body.dataset.csrf || ""; }

async function api(method, url, body, headers = {}) {
  const init = { method, credentials: "same-origin", headers: { "X-CSRFToken": csrf(), ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  let data = null;
  const type = response.headers.get("Content-Type") || "";
  if (type.includes("json")) { try { data = await response.json(); } catch (err) { data = null; } }
  return { response, data };
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) if (c != null) node.append(c);
  return node;
}

function clock(seconds, tenths = false) {
  const s = Math.max(0, seconds || 0);
  const m = Math.floor(s / 60);
  const rest = s - m * 60;
  return tenths ? `${m}:${rest.toFixed(1).padStart(4, "0")}` : `${m}:${String(Math.floor(rest)).padStart(2, "0")}`;
}

function dbText(v) {
  if (v == null || !Number.isFinite(v)) return "–";
  if (v <= FLOOR_DB) return "−∞";
  return `${v > 0 ? "+" : ""}${v.toFixed(1)}`;
}

function panText(p) {
  if (Math.abs(p) < 0.005) return "C";
  return `${p < 0 ? "L" : "R"}${Math.round(Math.abs(p) * 100)}`;
}

function words(name) {
  return name.replace(/_(hz|db|ms)$/i, (m, u) => ` (${{ hz: "Hz", db: "dB", ms: "ms" }[u.toLowerCase()]})`)
    .replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
}

function round(v, step) {
  const digits = Math.max(0, Math.ceil(-Math.log10(step)));
  return Number(v.toFixed(digits));
}

// A control's element id from its JSON path: "tracks[2].fx[0].q" -> "c-tracks-2-fx-0-q".
function idOf(path) {
  return `c-${path.replace(/\[(\d+)\]/g, "-$1").replace(/[^a-z0-9]+/gi, "-").replace(/-$/, "")}`;
}

function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }

// A three-way merge of JSON values: what we changed since `base` goes onto `theirs` (what
// someone else saved meanwhile), field by field; where both changed the same field, ours wins
// (it is the newer gesture) and `clash` says so. Arrays that changed length (an effect added
// or removed) are merged whole.
function merge(base, ours, theirs, clash = { any: false }) {
  if (same(ours, base)) return theirs;
  if (same(theirs, base) || same(ours, theirs)) return ours;
  const objects = [base, ours, theirs].every((v) => v && typeof v === "object");
  if (objects) {
    const arrays = [base, ours, theirs].map(Array.isArray);
    if (arrays.every(Boolean) && base.length === ours.length && base.length === theirs.length) {
      return ours.map((v, i) => merge(base[i], v, theirs[i], clash));
    }
    if (!arrays.some(Boolean)) {
      const out = {};
      for (const key of new Set([...Object.keys(theirs), ...Object.keys(ours)])) {
        const value = merge(base[key], ours[key], theirs[key], clash);
        if (value !== undefined) out[key] = value;
      }
      return out;
    }
  }
  clash.any = true;
  return ours;
}

function stepFor(lo, hi) {
  const span = hi - lo;
  if (span <= 2) return 0.01;
  if (span <= 40) return 0.1;
  if (span <= 2000) return 1;
  return 10;
}

export function initMixer(root = document.getElementById("mixer")) {
  if (!root || root.dataset.init) return null;
  root.dataset.init = "1";
  const data = JSON.parse(document.getElementById("mixer-data").textContent);
  const sources = new Map(data.sources.map((s) => [s.name, s]));
  const stripsEl = document.getElementById("strips");
  const timelineEl = document.getElementById("timeline");
  const innerEl = document.getElementById("timeline-inner");
  const editorEl = document.getElementById("clip-editor");
  const zoomEl = document.getElementById("zoom");
  const saveEl = document.getElementById("save-state");
  const errorEl = document.getElementById("mixer-error");
  const previewBtn = document.getElementById("preview-btn");
  const previewStop = document.getElementById("preview-stop");
  const previewAudio = document.getElementById("preview-audio");
  const previewState = document.getElementById("preview-state");
  const renderBtn = document.getElementById("render-btn");
  const progressEl = document.getElementById("render-progress");
  const barEl = document.getElementById("render-bar");
  const renderText = document.getElementById("render-text");
  const timeEl = document.getElementById("playhead-time");
  const me = Number(document.body.dataset.userId);

  let spec = null;
  let base = null; // the spec as the server last had it (at `revision`): what we changed is spec vs base
  let revision = 0;
  let editable = false;
  let selected = null; // [trackIndex, clipIndex]
  let playhead = 0; // seconds
  let zoom = Number(zoomEl?.value || 16); // px per second
  let fitted = false; // the first draw fits the programme to the timeline's width
  let saveTimer = null;
  let saving = null; // the promise of the PUT in flight
  let dirty = false;
  let remoteRevision = 0; // the newest revision others saved while we were saving
  let renderJob = data.render_job;
  let renderedHere = false;
  let previewStart = 0;
  let previewUrl = null;
  const mine = new Set(); // revisions our own saves produced
  const peaks = new Map(); // source name -> min/max pairs of its first channel (or a promise)

  // Peaks of a source (fetched once, cached by the browser for good: keyed by checksum).
  function sourcePeaks(name) {
    const src = sources.get(name);
    if (!src || !src.peaks) return null;
    if (!peaks.has(name)) {
      peaks.set(name, fetch(`/api/assets/${src.asset}/peaks/?width=1200`, { credentials: "same-origin" })
        .then((r) => (r.ok ? r.json() : null))
        .then((body) => {
          const level = ((body && body.peaks && body.peaks.levels) || [])[0];
          peaks.set(name, level && level.data && level.data[0] ? level.data[0] : []);
          drawTimeline({ editor: false });
        })
        .catch((err) => { console.warn("mixer: peaks", err); peaks.set(name, []); }));
    }
    const value = peaks.get(name);
    return Array.isArray(value) ? value : null;
  }

  // Canvas cannot read CSS variables (nor light-dark()): resolve the token to a plain colour.
  let colour = null;
  function waveColour() {
    if (colour) return colour;
    const probe = el("span", { style: "display:none;color:var(--clip-wave)" });
    root.append(probe);
    colour = getComputedStyle(probe).color;
    probe.remove();
    return colour;
  }
  const peakMax = new WeakMap();
  function peakOf(data) {
    if (!peakMax.has(data)) peakMax.set(data, data.reduce((m, v) => Math.max(m, Math.abs(v)), 0));
    return peakMax.get(data);
  }
  document.body.addEventListener("studio:theme-changed", () => { colour = null; if (spec) drawTimeline({ editor: false }); });

  // The clip's part of its source's waveform, drawn into a canvas as wide as the clip.
  function clipWave(c, width) {
    const data = sourcePeaks(c.source);
    if (!data || !data.length || width < 8) return null;
    const full = sourceFrames(c.source) || 1;
    const pairs = data.length / 2;
    const from = ((c.source_in || 0) / full) * pairs;
    const span = (clipSourceLength(c) / full) * pairs;
    const w = Math.min(4000, Math.round(width));
    const canvas = el("canvas", { class: "clip-wave", width: w, height: 36, "aria-hidden": "true" });
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = waveColour();
    const scale = 17 / (peakOf(data) || 1); // normalised, as the player draws
    for (let x = 0; x < w; x += 2) {
      const rel = c.reverse ? 1 - x / w : x / w;
      const i = Math.floor(from + rel * span);
      if (i < 0 || i >= pairs) continue;
      const lo = data[2 * i];
      const hi = data[2 * i + 1];
      const top = 18 - Math.max(Math.abs(lo), Math.abs(hi)) * scale;
      ctx.fillRect(x, top, 1.5, Math.max(1, (18 - top) * 2));
    }
    return canvas;
  }

  const setState = (s) => { root.dataset.state = s; };
  function setSave(state, text) {
    root.dataset.save = state;
    if (saveEl) { saveEl.dataset.state = state; saveEl.textContent = text; }
  }

  // --- the spec's derived facts -------------------------------------------------------------
  const rate = () => (spec && spec.sample_rate) || 48000;
  function sourceFrames(name) {
    const s = sources.get(name);
    if (!s) return null;
    return Math.round(s.frames * rate() / s.sample_rate);
  }
  function clipSourceLength(c) {
    if (c.length != null) return c.length;
    const n = sourceFrames(c.source);
    return n == null ? 0 : Math.max(0, n - (c.source_in || 0));
  }
  function clipTimelineLength(c) {
    const n = clipSourceLength(c);
    return (c.stretch ?? 1) === 1 ? n : Math.round(n * c.stretch);
  }
  function programmeSeconds() {
    if (!spec) return 0;
    if (spec.length != null) return spec.length / rate();
    let end = 0;
    for (const t of spec.tracks) for (const c of t.clips) end = Math.max(end, c.start + clipTimelineLength(c));
    return end / rate();
  }
  function sourceLabel(name) { return sources.get(name)?.label || name; }

  // JSON path -> words: "tracks[0].fx[1].ratio" -> "bass, effect 2 (Compressor), ratio".
  function humanPath(path) {
    const parts = [];
    const re = /([a-z_]+)(?:\[(\d+)\])?/gi;
    let m;
    let node = spec;
    while ((m = re.exec(path))) {
      const [, key, index] = m;
      const i = index == null ? null : Number(index);
      const child = node && typeof node === "object" ? node[key] : undefined;
      const item = i == null ? child : Array.isArray(child) ? child[i] : undefined;
      if (key === "tracks" || key === "buses") parts.push(item?.id ? `“${item.id}”` : `${key === "tracks" ? "track" : "bus"} ${i + 1}`);
      else if (key === "fx") parts.push(`effect ${i + 1}${item?.type ? ` (${item.type})` : ""}`);
      else if (key === "clips") parts.push(`clip ${i + 1}`);
      else if (key === "sends") parts.push(`send ${i + 1}${item?.bus ? ` to “${item.bus}”` : ""}`);
      else if (key === "master") parts.push("master");
      else if (key === "spec") parts.push("the mix");
      else parts.push(words(key).toLowerCase());
      node = item;
    }
    return parts.join(", ");
  }

  // --- saving --------------------------------------------------------------------------------
  function change(mutate, { redraw = false } = {}) {
    if (!editable || !spec) return;
    mutate(spec);
    dirty = true;
    setSave("pending", "Saving…");
    if (redraw) drawAll();
    else drawTimeline({ editor: false }); // the controls in hand already show the value
    clearTimeout(saveTimer);
    saveTimer = setTimeout(() => { save(); }, SAVE_DELAY_MS);
  }

  async function save() {
    clearTimeout(saveTimer);
    if (saving) { await saving; if (!dirty) return; }
    if (!dirty) return;
    dirty = false;
    setSave("saving", "Saving…");
    const body = JSON.parse(JSON.stringify(spec));
    saving = (async () => {
      try {
        const { response, data: reply } = await api("PUT", `/api/mixes/${data.mix}/spec/`, body, { "If-Match": `"r${revision}"` });
        if (response.ok) {
          revision = reply.spec_revision;
          base = structuredClone(reply.spec); // never the object we edit
          mine.add(revision);
          root.dataset.revision = String(revision);
          if (!dirty) {
            spec = reply.spec;
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
            spec = merge(base, spec, fresh.data.spec, clash);
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
    for (const ctl of root.querySelectorAll(".ctl.invalid")) ctl.classList.remove("invalid");
    for (const slot of root.querySelectorAll(".ctl-err")) slot.textContent = "";
    for (const input of root.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
    if (errorEl) errorEl.textContent = "";
  }

  function showErrors(reply, status) {
    clearErrors();
    const fields = (reply && reply.fields) || {};
    const loose = [];
    for (const [path, sentences] of Object.entries(fields)) {
      const text = (Array.isArray(sentences) ? sentences : [String(sentences)]).join("; ");
      // The control holding that path, or the nearest one holding a part of it.
      let probe = path;
      let ctl = null;
      while (probe && !(ctl = root.querySelector(`[data-path="${CSS.escape(probe)}"]`))) {
        probe = probe.replace(/(\.[^.[\]]+|\[\d+\])$/, "");
        if (!/[.[]/.test(probe)) { ctl = root.querySelector(`[data-path="${CSS.escape(probe)}"]`); break; }
      }
      const slot = ctl?.querySelector(":scope > .ctl-err");
      if (ctl && slot) {
        ctl.classList.add("invalid");
        slot.textContent = probe === path ? text : `${humanPath(path)}: ${text}`;
        for (const input of ctl.querySelectorAll(":scope > input")) input.setAttribute("aria-invalid", "true");
      } else {
        loose.push(`${humanPath(path)}: ${text}`);
      }
    }
    const detail = (reply && reply.detail) || `The server refused the change (${status}).`;
    if (errorEl) errorEl.textContent = loose.length ? `Not saved. ${loose.join(". ")}.` : Object.keys(fields).length ? "" : `Not saved: ${detail}`;
    setSave("error", "Not saved: fix the field marked in red");
  }

  // --- controls ------------------------------------------------------------------------------
  // A labelled number with an optional slider; both always show the spec's value.
  function numberCtl({ label, path, value, min, max, step, slider, unit = "", format, onchange, id }) {
    const sMin = slider ? slider[0] : min;
    const sMax = slider ? slider[1] : max;
    const inputId = id || idOf(path);
    const val = el("span", { class: "val", text: format ? format(value) : `${value}${unit ? ` ${unit}` : ""}` });
    const errId = `${inputId}-err`;
    const num = el("input", {
      type: "number", id: inputId, min, max, step: "any", value: value ?? "", disabled: !editable,
      "aria-describedby": errId, inputmode: "decimal", "data-field": path,
    });
    const range = el("input", {
      type: "range", min: sMin, max: sMax, step, value: Math.min(sMax, Math.max(sMin, value ?? sMin)),
      disabled: !editable, "aria-label": label, tabindex: "-1", "aria-hidden": "true",
    });
    const commit = (v, fromRange) => {
      if (!Number.isFinite(v)) return;
      val.textContent = format ? format(v) : `${v}${unit ? ` ${unit}` : ""}`;
      if (fromRange) num.value = String(v);
      else range.value = String(Math.min(sMax, Math.max(sMin, v)));
      onchange(v, fromRange);
    };
    range.addEventListener("input", () => commit(Number(range.value), true));
    num.addEventListener("change", () => { if (num.value !== "") commit(Number(num.value), false); });
    return el("div", { class: "ctl", "data-path": path },
      el("label", { for: inputId }, el("span", { text: label }), val), range, num,
      el("span", { class: "ctl-err field-error", id: errId, role: "alert" }));
  }

  function toggle(label, cls, pressed, title, onclick) {
    return el("button", {
      type: "button", class: `btn-small ${cls}`, "aria-pressed": String(Boolean(pressed)), title,
      disabled: !editable, onclick,
    }, label);
  }

  function faderBlock(kind, index, ch, extra) {
    const base = kind === "master" ? "master" : `${kind}[${index}]`;
    const fader = el("input", {
      type: "range", class: "fader", min: SLIDER_DB[0], max: SLIDER_DB[1], step: 0.1,
      value: Math.max(SLIDER_DB[0], Math.min(SLIDER_DB[1], ch.gain_db)), disabled: !editable,
      "aria-label": `${kind === "master" ? "Master" : ch.id} fader (dB)`, "aria-valuetext": `${dbText(ch.gain_db)} dB`,
      "data-fader": kind === "master" ? "master" : ch.id,
    });
    const gain = numberCtl({
      label: "Fader", path: `${base}.gain_db`, value: ch.gain_db, min: data.limits.gain_min_db,
      max: data.limits.gain_max_db, step: 0.1, format: (v) => `${dbText(v)} dB`,
      onchange: (v) => {
        fader.value = String(Math.max(SLIDER_DB[0], Math.min(SLIDER_DB[1], v)));
        fader.setAttribute("aria-valuetext", `${dbText(v)} dB`);
        change((s) => { (kind === "master" ? s.master : s[kind][index]).gain_db = v; });
      },
    });
    gain.querySelector("input[type=range]").remove();
    fader.addEventListener("input", () => {
      const v = round(Number(fader.value), 0.1);
      const numInput = gain.querySelector("input[type=number]");
      numInput.value = String(v);
      gain.querySelector(".val").textContent = `${dbText(v)} dB`;
      fader.setAttribute("aria-valuetext", `${dbText(v)} dB`);
      change((s) => { (kind === "master" ? s.master : s[kind][index]).gain_db = v; });
    });
    return el("div", { class: "fader-wrap" }, fader, el("div", { class: "fader-side" }, extra, gain));
  }

  function fxChain(base, chain) {
    const list = el("ol", { class: "fx-list", "data-path": `${base}.fx` });
    chain.forEach((fx, i) => {
      const params = data.effects[fx.type] || {};
      const body = el("div", { class: "fx-params" });
      for (const [name, p] of Object.entries(params)) {
        const path = `${base}.fx[${i}].${name}`;
        if (p.choices && p.choices.length) {
          const id = idOf(path);
          const select = el("select", { id, disabled: !editable, "data-field": path },
            p.choices.map((c) => el("option", { value: c, selected: (fx[name] ?? p.choices[0]) === c }, c)));
          select.addEventListener("change", () => change((s) => { at(s, base).fx[i][name] = select.value; }));
          body.append(el("div", { class: "ctl", "data-path": path }, el("label", { for: id }, words(name)), select,
            el("span", { class: "ctl-err field-error", role: "alert" })));
          continue;
        }
        const value = fx[name] ?? p.default;
        const step = stepFor(p.lo, p.hi);
        const logSlider = p.unit === "Hz";
        body.append(numberCtl({
          label: words(name), path, value, min: p.lo, max: p.hi, step, unit: p.unit === "Hz" ? "" : p.unit,
          format: (v) => `${p.unit === "Hz" && v >= 1000 ? `${round(v / 1000, 0.01)} k` : round(v, 0.01)}${p.unit ? ` ${p.unit}` : ""}`,
          slider: logSlider ? [p.lo, Math.min(p.hi, 20000)] : undefined,
          onchange: (v, fromRange) => change((s) => { at(s, base).fx[i][name] = fromRange ? round(v, step) : v; }),
        }));
      }
      const tools = editable ? [
        el("button", { type: "button", class: "btn-small btn-ghost", title: "Move up", "aria-label": `Move ${fx.type} up`, disabled: i === 0,
          onclick: (e) => { e.preventDefault(); change((s) => { const c = at(s, base).fx; [c[i - 1], c[i]] = [c[i], c[i - 1]]; }, { redraw: true }); } }, "▲"),
        el("button", { type: "button", class: "btn-small btn-ghost", title: "Move down", "aria-label": `Move ${fx.type} down`, disabled: i === chain.length - 1,
          onclick: (e) => { e.preventDefault(); change((s) => { const c = at(s, base).fx; [c[i + 1], c[i]] = [c[i], c[i + 1]]; }, { redraw: true }); } }, "▼"),
        el("button", { type: "button", class: "btn-small btn-ghost", title: "Remove", "aria-label": `Remove ${fx.type}`,
          onclick: (e) => { e.preventDefault(); change((s) => { at(s, base).fx.splice(i, 1); }, { redraw: true }); } }, "✕"),
      ] : [];
      list.append(el("li", {},
        el("details", { class: "fx", open: openFx.has(`${base}.fx[${i}]`), "data-path": `${base}.fx[${i}]`, "data-fx": fx.type,
          ontoggle: (e) => { if (e.target.open) openFx.add(`${base}.fx[${i}]`); else openFx.delete(`${base}.fx[${i}]`); } },
        el("summary", {}, el("span", { class: "fx-name", text: `${i + 1}. ${fx.type}` }), tools),
        body, el("span", { class: "ctl-err field-error", role: "alert" }))));
    });
    const wrap = el("div", {}, el("h3", { text: "Effects" }), list);
    if (!chain.length) list.append(el("li", { class: "small muted", text: "No effects" }));
    if (editable && chain.length < data.limits.max_fx) {
      const id = `${idOf(base)}-fx-add`;
      const select = el("select", { id, "aria-label": "Effect to add" },
        Object.keys(data.effects).map((name) => el("option", { value: name }, name)));
      const add = el("button", { type: "button", class: "btn-small", "data-fx-add": base,
        onclick: () => {
          const type = select.value;
          openFx.add(`${base}.fx[${chain.length}]`);
          change((s) => { at(s, base).fx.push({ type }); }, { redraw: true });
        } }, "Add");
      wrap.append(el("div", { class: "fx-add" }, select, add));
    }
    return wrap;
  }
  const openFx = new Set();

  function at(s, base) {
    if (base === "master") return s.master;
    const m = /^(tracks|buses)\[(\d+)\]$/.exec(base);
    return s[m[1]][Number(m[2])];
  }

  function sendsBlock(base, ch) {
    const wrap = el("div", {}, el("h3", { text: "Sends" }));
    const sends = ch.sends || [];
    sends.forEach((send, i) => {
      wrap.append(numberCtl({
        label: `→ ${send.bus}${send.pre_fader ? " (pre)" : ""}`, path: `${base}.sends[${i}].level_db`, value: send.level_db,
        min: data.limits.gain_min_db, max: data.limits.gain_max_db, step: 0.5, slider: [SEND_DB[0] - 0.5, SEND_DB[1]],
        format: (v) => (v <= SEND_DB[0] - 0.5 || v <= FLOOR_DB ? "off" : `${dbText(v)} dB`),
        onchange: (v, fromRange) => {
          const level = fromRange && v < SEND_DB[0] ? FLOOR_DB : v;
          change((s) => { at(s, base).sends[i].level_db = level; });
        },
      }));
    });
    const missing = (spec.buses || []).filter((b) => b.id !== ch.id && !sends.some((s) => s.bus === b.id));
    if (editable && missing.length) {
      for (const bus of missing) {
        wrap.append(el("button", { type: "button", class: "btn-small btn-ghost",
          onclick: () => change((s) => { const c = at(s, base); c.sends = [...(c.sends || []), { bus: bus.id, level_db: -12, pre_fader: false }]; }, { redraw: true }) },
        `+ Send to ${bus.id}`));
      }
    }
    if (!sends.length && !(editable && missing.length)) wrap.append(el("p", { class: "small muted", text: "No sends" }));
    return wrap;
  }

  function trackStrip(t, i) {
    const base = `tracks[${i}]`;
    const srcs = [...new Set(t.clips.map((c) => sourceLabel(c.source)))].join(", ");
    return el("div", { class: "strip track", "data-path": base, "data-track": t.id, role: "group", "aria-label": `Channel ${t.id}` },
      el("div", { class: "strip-head" }, el("strong", { title: t.id, text: t.id }), el("span", { class: "strip-kind", text: "track" })),
      el("div", { class: "small muted", style: "overflow:hidden;text-overflow:ellipsis;white-space:nowrap", title: srcs, text: srcs || "no clips" }),
      el("div", { class: "ms" },
        toggle("M", "mute", t.mute, "Mute", () => change((s) => { s.tracks[i].mute = !s.tracks[i].mute; }, { redraw: true })),
        toggle("S", "solo", t.solo, "Solo", () => change((s) => { s.tracks[i].solo = !s.tracks[i].solo; }, { redraw: true })),
        toggle("Ø", "polarity", t.polarity_invert, "Invert polarity", () => change((s) => { s.tracks[i].polarity_invert = !s.tracks[i].polarity_invert; }, { redraw: true }))),
      panCtl(base, t),
      fxChain(base, t.fx || []),
      sendsBlock(base, t),
      faderBlock("tracks", i, t, null));
  }

  function panCtl(base, ch) {
    return numberCtl({
      label: "Pan", path: `${base}.pan`, value: ch.pan, min: -1, max: 1, step: 0.01, format: panText,
      onchange: (v) => change((s) => { at(s, base).pan = v; }),
    });
  }

  function busStrip(b, i) {
    const base = `buses[${i}]`;
    return el("div", { class: "strip bus", "data-path": base, "data-bus": b.id, role: "group", "aria-label": `Bus ${b.id}` },
      el("div", { class: "strip-head" }, el("strong", { text: b.id }), el("span", { class: "strip-kind", text: "bus" })),
      el("div", { class: "small muted", text: `→ ${b.output || "master"}` }),
      el("div", { class: "ms" }, toggle("M", "mute", b.mute, "Mute", () => change((s) => { s.buses[i].mute = !s.buses[i].mute; }, { redraw: true }))),
      panCtl(base, b),
      fxChain(base, b.fx || []),
      faderBlock("buses", i, b, null));
  }

  function meter() {
    const r = data.last_render;
    const box = el("div", { class: "meter", id: "master-meter", role: "group", "aria-label": "Last render" });
    if (!r) { box.append(el("p", { class: "small muted", text: "No render yet" })); return box; }
    const rows = [
      ["Peak", r.sample_peak_dbfs, "dBFS", -60, 6],
      ["True peak", r.true_peak_dbtp, "dBTP", -60, 6],
      ["Loudness", r.integrated_lufs, "LUFS", -60, 0],
    ];
    box.append(el("div", { class: "small muted", text: `Mix ${r.number}${r.rendered ? " (rendered)" : " (uploaded)"}` }));
    for (const [label, v, unit, lo, hi] of rows) {
      const ok = typeof v === "number" && Number.isFinite(v);
      const width = ok ? Math.max(0, Math.min(100, ((v - lo) / (hi - lo)) * 100)) : 0;
      box.append(el("div", { class: "m-row", "data-figure": label.toLowerCase().replace(" ", "-"), "data-value": ok ? v : "" },
        el("span", { class: "muted", text: label }),
        el("span", { class: "m-bar", "aria-hidden": "true" }, el("span", { style: `width:${width}%` })),
        el("span", { class: "m-val", text: ok ? `${v.toFixed(1)} ${unit}` : "–" })));
    }
    if (r.clipped_samples) box.append(el("div", { class: "small", text: `${r.clipped_samples} samples clipped` }));
    return box;
  }

  function masterStrip() {
    return el("div", { class: "strip master", "data-path": "master", role: "group", "aria-label": "Master" },
      el("div", { class: "strip-head" }, el("strong", { text: "Master" }), el("span", { class: "strip-kind", text: `${rate() / 1000} kHz` })),
      fxChain("master", spec.master.fx || []),
      el("h3", { text: "Last render" }), meter(),
      faderBlock("master", 0, spec.master, null));
  }

  function drawStrips() {
    if (!stripsEl) return;
    const scroll = stripsEl.scrollLeft;
    const focused = document.activeElement && stripsEl.contains(document.activeElement) ? document.activeElement.id : null;
    stripsEl.replaceChildren(
      ...spec.tracks.map(trackStrip),
      ...(spec.buses || []).map(busStrip),
      masterStrip());
    if (!spec.tracks.length) stripsEl.prepend(el("p", { class: "muted", text: "No tracks." }));
    stripsEl.scrollLeft = scroll;
    if (focused) document.getElementById(focused)?.focus();
  }

  // --- timeline ------------------------------------------------------------------------------
  function drawTimeline({ editor = true } = {}) {
    if (!innerEl || !spec) return;
    const label = parseFloat(getComputedStyle(timelineEl).getPropertyValue("--lane-label")) || 96;
    if (!fitted && timelineEl.clientWidth > label) {
      fitted = true;
      const fit = (timelineEl.clientWidth - label - 2) / (Math.max(programmeSeconds(), 10) * 1.08);
      zoom = Math.max(Number(zoomEl?.min || 2), Math.min(Number(zoomEl?.max || 200), Math.floor(fit)));
      if (zoomEl) zoomEl.value = String(zoom);
    }
    root.dataset.zoom = String(zoom);
    const total = Math.max(programmeSeconds(), 10) * 1.08 + 1;
    const width = Math.ceil(total * zoom);
    innerEl.style.width = `${width + label}px`;
    const ruler = el("div", { class: "ruler", id: "ruler", title: "Click to move the playhead" });
    const every = [1, 2, 5, 10, 15, 30, 60, 120].find((s) => s * zoom >= 60) || 300;
    for (let s = 0; s <= total; s += every) {
      ruler.append(el("span", { class: "tick", style: `left:${s * zoom}px`, text: clock(s) }));
    }
    ruler.addEventListener("pointerdown", (e) => setPlayhead(xToSeconds(e, ruler)));
    const lanes = spec.tracks.map((t, ti) => {
      const area = el("div", { class: "lane-area", "data-lane": t.id });
      area.addEventListener("pointerdown", (e) => { if (e.target === area) setPlayhead(xToSeconds(e, area)); });
      t.clips.forEach((c, ci) => area.append(clipBox(t, ti, c, ci)));
      return el("div", { class: "lane", "data-path": `tracks[${ti}].clips` },
        el("div", { class: "lane-label", title: t.id }, t.id, el("span", { class: "muted", text: `${t.clips.length} clip${t.clips.length === 1 ? "" : "s"}` })),
        area);
    });
    const head = el("div", { class: "playhead", id: "playhead", style: `left:${label + playhead * zoom}px` });
    innerEl.replaceChildren(ruler, ...lanes, head);
    if (editor) drawEditor();
  }

  function xToSeconds(e, node) {
    const box = node.getBoundingClientRect();
    return Math.max(0, (e.clientX - box.left) / zoom);
  }

  function setPlayhead(seconds, { fromAudio = false } = {}) {
    playhead = Math.max(0, seconds);
    root.dataset.playhead = playhead.toFixed(2);
    if (timeEl) timeEl.textContent = clock(playhead, true);
    const head = document.getElementById("playhead");
    const label = parseFloat(getComputedStyle(timelineEl).getPropertyValue("--lane-label")) || 96;
    if (head) head.style.left = `${label + playhead * zoom}px`;
    if (!fromAudio && previewAudio && !previewAudio.paused) stopPreview();
  }

  function clipBox(t, ti, c, ci) {
    const r = rate();
    const left = (c.start / r) * zoom;
    const w = Math.max(4, (clipTimelineLength(c) / r) * zoom);
    const fin = ((c.fade_in?.length || 0) / r) * zoom;
    const fout = ((c.fade_out?.length || 0) / r) * zoom;
    const flags = [c.reverse ? "REV" : "", (c.stretch ?? 1) !== 1 ? `×${c.stretch}` : "", c.pitch_semitones ? `${c.pitch_semitones > 0 ? "+" : ""}${c.pitch_semitones} st` : ""].filter(Boolean).join(" ");
    const isSel = selected && selected[0] === ti && selected[1] === ci;
    const box = el("div", {
      class: `clip${t.mute ? " muted-track" : ""}`, style: `left:${left}px;width:${w}px`, tabindex: "0", role: "button",
      "aria-selected": String(Boolean(isSel)), "aria-label": `Clip ${ci + 1} of ${t.id}: ${sourceLabel(c.source)} at ${clock(c.start / r, true)}`,
      "data-clip": `${t.id}:${ci}`, "data-path": `tracks[${ti}].clips[${ci}]`,
    },
    el("span", { class: "fade fade-in", style: `width:${fin}px` }),
    el("span", { class: "fade fade-out", style: `width:${fout}px` }),
    clipWave(c, w),
    el("span", { class: "clip-name", text: sourceLabel(c.source) }),
    flags ? el("span", { class: "flags", text: flags }) : null);
    box.addEventListener("click", () => { selected = [ti, ci]; drawTimeline(); });
    box.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); selected = [ti, ci]; drawTimeline(); } });
    if (editable) {
      const edgeL = el("span", { class: "edge edge-l", title: "Drag to trim the start" });
      const edgeR = el("span", { class: "edge edge-r", title: "Drag to trim the end" });
      const fadeInH = el("span", { class: "fade-handle", style: `left:${Math.max(0, fin - 5)}px`, title: "Drag to change the fade-in" });
      const fadeOutH = el("span", { class: "fade-handle", style: `right:${Math.max(0, fout - 5)}px`, title: "Drag to change the fade-out" });
      box.append(edgeL, edgeR, fadeInH, fadeOutH);
      drag(box, box, ti, ci, "move");
      drag(edgeL, box, ti, ci, "trim-start");
      drag(edgeR, box, ti, ci, "trim-end");
      drag(fadeInH, box, ti, ci, "fade-in");
      drag(fadeOutH, box, ti, ci, "fade-out");
    }
    return box;
  }

  // Drag a clip (move), its edges (trim) or its fade handles; the spec changes on release.
  function drag(handle, box, ti, ci, mode) {
    handle.addEventListener("pointerdown", (e) => {
      if (e.button !== 0) return;
      e.stopPropagation();
      e.preventDefault();
      const c = spec.tracks[ti].clips[ci];
      const r = rate();
      const orig = JSON.parse(JSON.stringify(c));
      const srcLen = clipSourceLength(orig);
      const full = sourceFrames(orig.source) ?? (orig.source_in + srcLen);
      const x0 = e.clientX;
      let moved = false;
      handle.setPointerCapture(e.pointerId);
      const compute = (dx) => {
        const df = Math.round((dx / zoom) * r);
        const next = { ...orig };
        const stretch = orig.stretch ?? 1;
        if (mode === "move") next.start = Math.max(0, orig.start + df);
        else if (mode === "trim-start") {
          const srcDf = Math.round(df / stretch);
          const inn = Math.max(0, Math.min(orig.source_in + srcLen - 1, orig.source_in + srcDf));
          next.source_in = inn;
          next.length = srcLen - (inn - orig.source_in);
          next.start = Math.max(0, orig.start + Math.round((inn - orig.source_in) * stretch));
        } else if (mode === "trim-end") {
          next.length = Math.max(1, Math.min(full - orig.source_in, srcLen + Math.round(df / stretch)));
        } else if (mode === "fade-in") {
          next.fade_in = { ...orig.fade_in, length: Math.max(0, Math.min(clipTimelineLength(orig), (orig.fade_in?.length || 0) + df)) };
        } else if (mode === "fade-out") {
          next.fade_out = { ...orig.fade_out, length: Math.max(0, Math.min(clipTimelineLength(orig), (orig.fade_out?.length || 0) - df)) };
        }
        return next;
      };
      const onMove = (ev) => {
        const dx = ev.clientX - x0;
        if (!moved && Math.abs(dx) < 3) return;
        moved = true;
        const next = compute(dx);
        box.style.left = `${(next.start / r) * zoom}px`;
        box.style.width = `${Math.max(4, (clipTimelineLength(next) / r) * zoom)}px`;
        box.querySelector(".fade-in").style.width = `${((next.fade_in?.length || 0) / r) * zoom}px`;
        box.querySelector(".fade-out").style.width = `${((next.fade_out?.length || 0) / r) * zoom}px`;
        root.dataset.dragging = mode;
      };
      const onUp = (ev) => {
        handle.removeEventListener("pointermove", onMove);
        handle.removeEventListener("pointerup", onUp);
        handle.removeEventListener("pointercancel", onUp);
        delete root.dataset.dragging;
        selected = [ti, ci];
        if (!moved) { drawTimeline(); return; }
        const next = compute(ev.clientX - x0);
        change((s) => { s.tracks[ti].clips[ci] = next; });
        drawEditor();
      };
      handle.addEventListener("pointermove", onMove);
      handle.addEventListener("pointerup", onUp);
      handle.addEventListener("pointercancel", onUp);
    });
  }

  // The selected clip's numbers (seconds on screen, frames in the spec).
  function drawEditor() {
    if (!editorEl) return;
    if (!selected || !spec.tracks[selected[0]] || !spec.tracks[selected[0]].clips[selected[1]]) {
      editorEl.hidden = true;
      editorEl.replaceChildren();
      return;
    }
    const [ti, ci] = selected;
    const t = spec.tracks[ti];
    const c = t.clips[ci];
    const r = rate();
    const base = `tracks[${ti}].clips[${ci}]`;
    const full = sourceFrames(c.source);
    const secs = (f) => round(f / r, 0.001);
    const frames = (s) => Math.round(s * r);
    const set = (fn) => change((s) => fn(s.tracks[ti].clips[ci]));
    const maxSrc = full != null ? full / r : 3600;
    const fields = [
      numberCtl({ label: "Start (s)", path: `${base}.start`, value: secs(c.start), min: 0, max: 3600, step: 0.001, slider: [0, Math.max(programmeSeconds(), 10)],
        onchange: (v) => set((x) => { x.start = Math.max(0, frames(v)); }) }),
      numberCtl({ label: "Trim start (s)", path: `${base}.source_in`, value: secs(c.source_in || 0), min: 0, max: maxSrc, step: 0.001,
        onchange: (v) => set((x) => { const len = clipSourceLength(x); const inn = Math.max(0, frames(v)); x.length = Math.max(1, len - (inn - (x.source_in || 0))); x.source_in = inn; }) }),
      numberCtl({ label: "Length (s)", path: `${base}.length`, value: secs(clipSourceLength(c)), min: 0.001, max: maxSrc, step: 0.001,
        onchange: (v) => set((x) => { x.length = Math.max(1, frames(v)); }) }),
      numberCtl({ label: "Clip gain (dB)", path: `${base}.gain_db`, value: c.gain_db ?? 0, min: data.limits.gain_min_db, max: data.limits.gain_max_db, step: 0.1, slider: [-30, 12],
        format: (v) => `${dbText(v)} dB`, onchange: (v) => set((x) => { x.gain_db = v; }) }),
      numberCtl({ label: "Stretch (×)", path: `${base}.stretch`, value: c.stretch ?? 1, min: data.limits.stretch[0], max: data.limits.stretch[1], step: 0.01,
        onchange: (v) => set((x) => { x.stretch = v; }) }),
      numberCtl({ label: "Pitch (semitones)", path: `${base}.pitch_semitones`, value: c.pitch_semitones ?? 0, min: data.limits.pitch[0], max: data.limits.pitch[1], step: 0.1,
        onchange: (v) => set((x) => { x.pitch_semitones = v; }) }),
      numberCtl({ label: "Fade in (s)", path: `${base}.fade_in.length`, value: secs(c.fade_in?.length || 0), min: 0, max: 60, step: 0.001, slider: [0, 10],
        onchange: (v) => set((x) => { x.fade_in = { shape: "linear", ...x.fade_in, length: Math.max(0, frames(v)) }; }) }),
      shapeCtl("Fade-in shape", `${base}.fade_in.shape`, c.fade_in?.shape || "linear", (v) => set((x) => { x.fade_in = { length: 0, ...x.fade_in, shape: v }; })),
      numberCtl({ label: "Fade out (s)", path: `${base}.fade_out.length`, value: secs(c.fade_out?.length || 0), min: 0, max: 60, step: 0.001, slider: [0, 10],
        onchange: (v) => set((x) => { x.fade_out = { shape: "linear", ...x.fade_out, length: Math.max(0, frames(v)) }; }) }),
      shapeCtl("Fade-out shape", `${base}.fade_out.shape`, c.fade_out?.shape || "linear", (v) => set((x) => { x.fade_out = { length: 0, ...x.fade_out, shape: v }; })),
    ];
    const rev = el("input", { type: "checkbox", id: "clip-reverse", checked: Boolean(c.reverse), disabled: !editable,
      onchange: (e) => set((x) => { x.reverse = e.target.checked; }) });
    editorEl.hidden = false;
    editorEl.replaceChildren(
      el("div", { class: "card-head" },
        el("h3", { text: `Clip ${ci + 1} of ${t.id}: ${sourceLabel(c.source)}` }),
        el("span", { class: "row" },
          el("label", { class: "row small", style: "margin:0", for: "clip-reverse" }, rev, " Reverse"),
          el("button", { type: "button", class: "btn-small btn-ghost", onclick: () => { selected = null; drawEditor(); drawTimeline(); } }, "Close"))),
      el("div", { class: "grid-fields", "data-path": base }, fields, el("span", { class: "ctl-err field-error", role: "alert" })));
  }

  function shapeCtl(label, path, value, onchange) {
    const id = idOf(path);
    const select = el("select", { id, disabled: !editable },
      data.limits.fade_shapes.map((s) => el("option", { value: s, selected: s === value }, s.replace("_", " "))));
    select.addEventListener("change", () => onchange(select.value));
    return el("div", { class: "ctl", "data-path": path }, el("label", { for: id }, label), select,
      el("span", { class: "ctl-err field-error", role: "alert" }));
  }

  function drawAll() {
    drawTimeline();
    drawStrips();
  }

  // --- loading and live ----------------------------------------------------------------------
  async function load() {
    if (!data.mix) { setState("empty"); return; }
    try {
      const { response, data: body } = await api("GET", `/api/mixes/${data.mix}/spec/`);
      if (!response.ok) { setState("error"); if (errorEl) errorEl.textContent = (body && body.detail) || "The mix could not be loaded."; return; }
      spec = body.spec;
      base = structuredClone(body.spec);
      revision = body.spec_revision;
      root.dataset.revision = String(revision);
      editable = Boolean(data.can_edit && body.editable && data.draft === data.mix);
      if (!editable && saveEl && root.dataset.save === "saved") {
        saveEl.textContent = data.can_edit ? "" : "You listen: the team's changes appear here live";
      }
      drawAll();
      if (renderJob) setState("rendering");
      else setState(editable ? "ready" : "readonly");
    } catch (err) {
      console.warn("mixer: loading the spec failed", err);
      setState("error");
    }
  }

  live.on("mix.spec_changed", (frame) => {
    const mix = (frame.payload || {}).mix || {};
    if (mix.id !== data.mix) return;
    if (mine.has(mix.spec_revision) || mix.spec_revision <= revision) return; // our own save
    if (dirty || saving) { remoteRevision = Math.max(remoteRevision, mix.spec_revision); return; }
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
    if (editable) { editable = false; drawAll(); }
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
    editable = false;
    showProgress(1);
    progressEl.dataset.state = "done";
    const report = p.report || {};
    data.last_render = { mix: mix.id, number: mix.number, rendered: true, ...report };
    const listen = `/mixes/${mix.id}/${data.previous ? `?b=${data.previous}` : ""}`;
    renderText.replaceChildren(`Mix ${mix.number} is rendered. `, el("a", { href: listen, id: "rendered-link" }, data.previous ? "Listen, A/B with the previous version →" : "Listen →"));
    if (renderBtn) renderBtn.remove();
    const name = document.getElementById("mix-name");
    if (name) name.textContent = `· Mix ${mix.number}`;
    if (previewBtn) previewBtn.hidden = true;
    setState("rendered");
    drawAll();
    if (renderedHere) location.assign(listen);
  });
  live.on("resync", () => { if (!dirty && !saving) load(); });

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
      if (!spec) return;
      const total = programmeSeconds();
      let start = playhead;
      if (total > 0 && start >= total - 0.5) start = Math.max(0, total - data.preview_s);
      const end = total > 0 ? Math.min(total, start + data.preview_s) : start + data.preview_s;
      previewBtn.disabled = true;
      previewState.dataset.state = "rendering";
      previewState.textContent = `Rendering ${clock(start)}–${clock(end)}…`;
      try {
        if (editable) await flush();
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
    previewAudio.addEventListener("timeupdate", () => setPlayhead(previewStart + previewAudio.currentTime, { fromAudio: true }));
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
      editable = false;
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
  document.getElementById("draft-keepers")?.addEventListener("click", (e) => startDraft({ from: "keepers" }, e.currentTarget));
  const parentBtn = document.getElementById("draft-parent");
  parentBtn?.addEventListener("click", () => startDraft({ parent: Number(parentBtn.dataset.parent) }, parentBtn));

  zoomEl?.addEventListener("input", () => { zoom = Number(zoomEl.value); drawTimeline(); });
  window.addEventListener("beforeunload", (e) => { if (dirty || saving) { e.preventDefault(); } });
  if (data.mix) live.here({ song: data.song, mix: data.mix });
  load();
  window.studioMixer = { get spec() { return spec; }, get revision() { return revision; }, save, flush, setPlayhead };
  return window.studioMixer;
}
