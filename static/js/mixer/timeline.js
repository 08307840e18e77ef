// mixer/timeline.js: the clip timeline. One lane per track (its automation lanes under it,
// see automation.js), the ruler that moves the playhead, clips drawn with their part of the
// source's waveform; a clip is moved, trimmed and faded by dragging, and every one of its
// numbers is a field in the clip editor. Clips are added from the song's sources and removed.
//
// Keys on a focused clip: Enter/Space selects it (opens its numbers), ←/→ move it 0.1 s
// (Shift: 1 s), Delete removes it.
import { numberCtl, refuse, selectCtl, unrefuse } from "./controls.js";
import { clock, dbText, el, round } from "./util.js";

const KIND_NAMES = { stem: "Stems", take: "Takes", mix: "Mixes" };

export function makeTimeline(m) {
  const { data, sources, root } = m;
  const peaks = new Map(); // source name -> min/max pairs of its first channel (or a promise)
  const change = (fn, opts) => m.change(fn, opts);
  const label = () => parseFloat(getComputedStyle(m.timelineEl).getPropertyValue("--lane-label")) || 96;

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
          if (!m.gesture) draw({ editor: false }); // else the gesture's end redraws
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
  function peakOf(values) {
    if (!peakMax.has(values)) peakMax.set(values, values.reduce((acc, v) => Math.max(acc, Math.abs(v)), 0));
    return peakMax.get(values);
  }
  document.body.addEventListener("studio:theme-changed", () => { colour = null; if (m.spec) draw({ editor: false }); });

  // The clip's part of its source's waveform, drawn into a canvas as wide as the clip.
  function clipWave(c, width) {
    const values = sourcePeaks(c.source);
    if (!values || !values.length || width < 8) return null;
    const full = m.sourceFrames(c.source) || 1;
    const pairs = values.length / 2;
    const from = ((c.source_in || 0) / full) * pairs;
    const span = (m.clipSourceLength(c) / full) * pairs;
    const w = Math.min(4000, Math.round(width));
    const canvas = el("canvas", { class: "clip-wave", width: w, height: 36, "aria-hidden": "true" });
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = waveColour();
    const scale = 17 / (peakOf(values) || 1); // normalised, as the player draws
    for (let x = 0; x < w; x += 2) {
      const rel = c.reverse ? 1 - x / w : x / w;
      const i = Math.floor(from + rel * span);
      if (i < 0 || i >= pairs) continue;
      const top = 18 - Math.max(Math.abs(values[2 * i]), Math.abs(values[2 * i + 1])) * scale;
      ctx.fillRect(x, top, 1.5, Math.max(1, (18 - top) * 2));
    }
    return canvas;
  }

  function draw({ editor = true } = {}) {
    if (!m.innerEl || !m.spec) return;
    const lab = label();
    if (!m.fitted && m.timelineEl.clientWidth > lab) {
      m.fitted = true;
      const fit = (m.timelineEl.clientWidth - lab - 2) / (Math.max(m.programmeSeconds(), 10) * 1.08);
      m.zoom = Math.max(Number(m.zoomEl?.min || 2), Math.min(Number(m.zoomEl?.max || 200), Math.floor(fit)));
      if (m.zoomEl) m.zoomEl.value = String(m.zoom);
    }
    const zoom = m.zoom;
    root.dataset.zoom = String(zoom);
    const total = Math.max(m.programmeSeconds(), 10) * 1.08 + 1;
    const width = Math.ceil(total * zoom);
    m.innerEl.style.width = `${width + lab}px`;
    const focused = document.activeElement && m.innerEl.contains(document.activeElement) ? focusKey(document.activeElement) : null;
    const ruler = el("div", { class: "ruler", id: "ruler", title: "Click to move the playhead" });
    const every = [1, 2, 5, 10, 15, 30, 60, 120].find((s) => s * zoom >= 60) || 300;
    for (let s = 0; s <= total; s += every) ruler.append(el("span", { class: "tick", style: `left:${s * zoom}px`, text: clock(s) }));
    ruler.addEventListener("pointerdown", (e) => setPlayhead(xToSeconds(e, ruler)));
    // The arrangement's sections (the song sheet), labelled; a click moves the playhead there.
    const marks = (m.sections || []).map((r, i) => el("button", {
      type: "button", class: `section-mark section-mark-${i % 2}`, "data-section": String(r.id),
      style: `left:${r.start_s * zoom}px;width:${Math.max(2, (r.end_s - r.start_s) * zoom)}px`,
      title: `${r.name}: ${clock(r.start_s, true)} to ${clock(r.end_s, true)}`, "aria-label": `${r.name} at ${clock(r.start_s, true)}`,
      onclick: () => setPlayhead(r.start_s),
    }, el("span", { text: r.name })));
    const strip = marks.length ? el("div", { class: "section-strip", id: "section-strip", role: "group", "aria-label": "Song sections" }, marks) : null;
    const lanes = m.spec.tracks.flatMap((t, ti) => {
      const area = el("div", { class: "lane-area", "data-lane": t.id });
      area.addEventListener("pointerdown", (e) => { if (e.target === area) setPlayhead(xToSeconds(e, area)); });
      t.clips.forEach((c, ci) => area.append(clipBox(t, ti, c, ci)));
      const open = m.auto.isOpen(t.id);
      const n = (t.automation?.gain_db || []).length + (t.automation?.pan || []).length;
      const lane = el("div", { class: "lane", "data-path": `tracks[${ti}].clips` },
        el("div", { class: "lane-label", title: t.id },
          el("span", { class: "lane-name", text: t.id }),
          el("span", { class: "lane-sub" },
            el("span", { class: "muted", text: `${t.clips.length} clip${t.clips.length === 1 ? "" : "s"}` }),
            el("button", { type: "button", class: "btn-small btn-ghost auto-toggle", id: `auto-toggle-${ti}`,
              "aria-expanded": String(open), "aria-controls": open ? `auto-${ti}-gain_db auto-${ti}-pan` : null, "data-auto-toggle": t.id,
              "aria-label": `Automation of ${t.id}${n ? ` (${n} point${n === 1 ? "" : "s"})` : ""}`, title: "Show or hide the volume and pan automation",
              onclick: () => { m.auto.toggle(t.id); draw({ editor: false }); } }, "Auto"))),
        area);
      return [lane, ...(open ? m.auto.lanes(t, ti, width) : [])];
    });
    const head = el("div", { class: "playhead", id: "playhead", style: `left:${lab + m.playhead * zoom}px` });
    m.innerEl.replaceChildren(ruler, ...(strip ? [strip] : []), ...lanes, head);
    if (focused) refocus(focused);
    if (editor) { drawEditor(); m.auto.drawEditor(); }
    drawClipAdd();
  }

  // Focus survives a redraw: the same clip, point or toggle gets it back.
  function focusKey(node) {
    if (node.id) return `#${CSS.escape(node.id)}`;
    if (node.dataset.clip) return `[data-clip="${CSS.escape(node.dataset.clip)}"]`;
    if (node.dataset.point) return `[data-point="${CSS.escape(node.dataset.point)}"]`;
    return null;
  }
  function refocus(key) { m.innerEl.querySelector(key)?.focus({ preventScroll: true }); }

  function xToSeconds(e, node) {
    const box = node.getBoundingClientRect();
    return Math.max(0, (e.clientX - box.left) / m.zoom);
  }

  function setPlayhead(seconds, { fromAudio = false } = {}) {
    m.playhead = Math.max(0, seconds);
    root.dataset.playhead = m.playhead.toFixed(2);
    if (m.timeEl) m.timeEl.textContent = clock(m.playhead, true);
    const head = document.getElementById("playhead");
    if (head) head.style.left = `${label() + m.playhead * m.zoom}px`;
    const start = document.getElementById("clip-add-start");
    if (start && document.activeElement !== start) start.value = String(round(m.playhead, 0.001));
    if (!fromAudio) m.stopPreviewIfPlaying();
  }

  function clipBox(t, ti, c, ci) {
    const r = m.rate();
    const zoom = m.zoom;
    const left = (c.start / r) * zoom;
    const w = Math.max(4, (m.clipTimelineLength(c) / r) * zoom);
    const fin = ((c.fade_in?.length || 0) / r) * zoom;
    const fout = ((c.fade_out?.length || 0) / r) * zoom;
    const flags = [c.reverse ? "REV" : "", (c.stretch ?? 1) !== 1 ? `×${c.stretch}` : "", c.pitch_semitones ? `${c.pitch_semitones > 0 ? "+" : ""}${c.pitch_semitones} st` : ""].filter(Boolean).join(" ");
    const isSel = m.selected && m.selected[0] === ti && m.selected[1] === ci;
    const box = el("div", {
      class: `clip${t.mute ? " muted-track" : ""}`, style: `left:${left}px;width:${w}px`, tabindex: "0", role: "button",
      "aria-current": isSel ? "true" : null, "aria-label": `Clip ${ci + 1} of ${t.id}: ${m.sourceLabel(c.source)} at ${clock(c.start / r, true)}`,
      "aria-keyshortcuts": m.editable ? "Enter ArrowLeft ArrowRight Delete" : "Enter",
      "data-clip": `${t.id}:${ci}`, "data-path": `tracks[${ti}].clips[${ci}]`,
    },
    el("span", { class: "fade fade-in", style: `width:${fin}px` }),
    el("span", { class: "fade fade-out", style: `width:${fout}px` }),
    clipWave(c, w),
    el("span", { class: "clip-name", text: m.sourceLabel(c.source) }),
    flags ? el("span", { class: "flags", text: flags }) : null);
    const select = () => { m.selected = [ti, ci]; m.auto.unselect(); draw(); };
    box.addEventListener("click", select);
    box.addEventListener("keydown", (e) => {
      if (e.altKey || e.ctrlKey || e.metaKey) return;
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); select(); return; }
      if (!m.editable) return;
      if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
        e.preventDefault();
        const df = Math.round((e.shiftKey ? 1 : 0.1) * r) * (e.key === "ArrowLeft" ? -1 : 1);
        m.selected = [ti, ci];
        change((s) => { const x = s.tracks[ti].clips[ci]; x.start = Math.max(0, x.start + df); }, { redraw: false });
        draw();
      } else if (e.key === "Delete" || e.key === "Backspace") {
        e.preventDefault();
        removeClip(ti, ci);
      }
    });
    if (m.editable) {
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
      const c = m.spec.tracks[ti].clips[ci];
      const r = m.rate();
      const zoom = m.zoom;
      const orig = JSON.parse(JSON.stringify(c));
      const srcLen = m.clipSourceLength(orig);
      const full = m.sourceFrames(orig.source) ?? (orig.source_in + srcLen);
      const x0 = e.clientX;
      let moved = false;
      handle.setPointerCapture(e.pointerId);
      m.gesture = true; // nothing redraws the clip from under the pointer meanwhile
      const compute = (dx) => {
        const df = Math.round((dx / zoom) * r);
        const next = { ...orig };
        const stretch = orig.stretch ?? 1;
        if (mode === "move") next.start = Math.max(0, orig.start + df);
        else if (mode === "trim-start") {
          const inn = Math.max(0, Math.min(orig.source_in + srcLen - 1, orig.source_in + Math.round(df / stretch)));
          next.source_in = inn;
          next.length = srcLen - (inn - orig.source_in);
          next.start = Math.max(0, orig.start + Math.round((inn - orig.source_in) * stretch));
        } else if (mode === "trim-end") {
          next.length = Math.max(1, Math.min(full - orig.source_in, srcLen + Math.round(df / stretch)));
        } else if (mode === "fade-in") {
          next.fade_in = { ...orig.fade_in, length: Math.max(0, Math.min(m.clipTimelineLength(orig), (orig.fade_in?.length || 0) + df)) };
        } else if (mode === "fade-out") {
          next.fade_out = { ...orig.fade_out, length: Math.max(0, Math.min(m.clipTimelineLength(orig), (orig.fade_out?.length || 0) - df)) };
        }
        return next;
      };
      const onMove = (ev) => {
        const dx = ev.clientX - x0;
        if (!moved && Math.abs(dx) < 3) return;
        moved = true;
        const next = compute(dx);
        box.style.left = `${(next.start / r) * zoom}px`;
        box.style.width = `${Math.max(4, (m.clipTimelineLength(next) / r) * zoom)}px`;
        box.querySelector(".fade-in").style.width = `${((next.fade_in?.length || 0) / r) * zoom}px`;
        box.querySelector(".fade-out").style.width = `${((next.fade_out?.length || 0) / r) * zoom}px`;
        root.dataset.dragging = mode;
      };
      const onUp = (ev) => {
        handle.removeEventListener("pointermove", onMove);
        handle.removeEventListener("pointerup", onUp);
        handle.removeEventListener("pointercancel", onUp);
        delete root.dataset.dragging;
        m.gestureEnd();
        m.selected = [ti, ci];
        m.auto.unselect();
        if (!moved) { draw(); return; }
        const next = compute(ev.clientX - x0);
        change((s) => { s.tracks[ti].clips[ci] = next; });
        drawEditor();
      };
      handle.addEventListener("pointermove", onMove);
      handle.addEventListener("pointerup", onUp);
      handle.addEventListener("pointercancel", onUp);
    });
  }

  function removeClip(ti, ci) {
    const t = m.spec.tracks[ti];
    const what = `clip ${ci + 1} of ${t.id} (${m.sourceLabel(t.clips[ci].source)})`;
    m.selected = null;
    change((s) => { s.tracks[ti].clips.splice(ci, 1); }, { redraw: true });
    m.say(`Removed ${what}`);
    const next = m.innerEl.querySelector(`[data-lane="${CSS.escape(t.id)}"] .clip`) || document.getElementById(`auto-toggle-${ti}`);
    next?.focus({ preventScroll: true });
  }

  // The selected clip's numbers (seconds on screen, frames in the spec).
  function drawEditor() {
    const editorEl = m.editorEl;
    if (!editorEl) return;
    const sel = m.selected;
    if (!sel || !m.spec.tracks[sel[0]] || !m.spec.tracks[sel[0]].clips[sel[1]]) {
      editorEl.hidden = true;
      editorEl.replaceChildren();
      return;
    }
    const [ti, ci] = sel;
    const t = m.spec.tracks[ti];
    const c = t.clips[ci];
    const r = m.rate();
    const base = `tracks[${ti}].clips[${ci}]`;
    const full = m.sourceFrames(c.source);
    const secs = (f) => round(f / r, 0.001);
    const frames = (s) => Math.round(s * r);
    const set = (fn) => change((s) => fn(s.tracks[ti].clips[ci]));
    const maxSrc = full != null ? full / r : 3600;
    const limits = data.limits;
    const shape = (lbl, path, value, fn) => selectCtl(m, {
      label: lbl, path, value, options: limits.fade_shapes.map((s) => [s, s.replace("_", " ")]), onchange: fn,
    });
    const fields = [
      numberCtl(m, { label: "Start (s)", path: `${base}.start`, value: secs(c.start), min: 0, max: 3600, step: 0.001, slider: [0, Math.max(m.programmeSeconds(), 10)],
        onchange: (v) => set((x) => { x.start = Math.max(0, frames(v)); }) }),
      numberCtl(m, { label: "Trim start (s)", path: `${base}.source_in`, value: secs(c.source_in || 0), min: 0, max: maxSrc, step: 0.001,
        onchange: (v) => set((x) => { const len = m.clipSourceLength(x); const inn = Math.max(0, frames(v)); x.length = Math.max(1, len - (inn - (x.source_in || 0))); x.source_in = inn; }) }),
      numberCtl(m, { label: "Length (s)", path: `${base}.length`, value: secs(m.clipSourceLength(c)), min: 0.001, max: maxSrc, step: 0.001,
        onchange: (v) => set((x) => { x.length = Math.max(1, frames(v)); }) }),
      numberCtl(m, { label: "Clip gain (dB)", path: `${base}.gain_db`, value: c.gain_db ?? 0, min: limits.gain_min_db, max: limits.gain_max_db, step: 0.1, slider: [-30, 12],
        format: (v) => `${dbText(v)} dB`, onchange: (v) => set((x) => { x.gain_db = v; }) }),
      numberCtl(m, { label: "Stretch (×)", path: `${base}.stretch`, value: c.stretch ?? 1, min: limits.stretch[0], max: limits.stretch[1], step: 0.01,
        onchange: (v) => set((x) => { x.stretch = v; }) }),
      numberCtl(m, { label: "Pitch (semitones)", path: `${base}.pitch_semitones`, value: c.pitch_semitones ?? 0, min: limits.pitch[0], max: limits.pitch[1], step: 0.1,
        onchange: (v) => set((x) => { x.pitch_semitones = v; }) }),
      numberCtl(m, { label: "Fade in (s)", path: `${base}.fade_in.length`, value: secs(c.fade_in?.length || 0), min: 0, max: 60, step: 0.001, slider: [0, 10],
        onchange: (v) => set((x) => { x.fade_in = { shape: "linear", ...x.fade_in, length: Math.max(0, frames(v)) }; }) }),
      shape("Fade-in shape", `${base}.fade_in.shape`, c.fade_in?.shape || "linear", (v) => set((x) => { x.fade_in = { length: 0, ...x.fade_in, shape: v }; })),
      numberCtl(m, { label: "Fade out (s)", path: `${base}.fade_out.length`, value: secs(c.fade_out?.length || 0), min: 0, max: 60, step: 0.001, slider: [0, 10],
        onchange: (v) => set((x) => { x.fade_out = { shape: "linear", ...x.fade_out, length: Math.max(0, frames(v)) }; }) }),
      shape("Fade-out shape", `${base}.fade_out.shape`, c.fade_out?.shape || "linear", (v) => set((x) => { x.fade_out = { length: 0, ...x.fade_out, shape: v }; })),
    ];
    const rev = el("input", { type: "checkbox", id: "clip-reverse", checked: Boolean(c.reverse), disabled: !m.editable,
      onchange: (e) => set((x) => { x.reverse = e.target.checked; }) });
    editorEl.hidden = false;
    editorEl.replaceChildren(
      el("div", { class: "card-head" },
        el("h3", { text: `Clip ${ci + 1} of ${t.id}: ${m.sourceLabel(c.source)}` }),
        el("span", { class: "row" },
          el("label", { class: "row small", style: "margin:0", for: "clip-reverse" }, rev, " Reverse"),
          m.editable ? el("button", { type: "button", class: "btn-small btn-danger", id: "clip-remove", onclick: () => removeClip(ti, ci) }, "Remove clip") : null,
          el("button", { type: "button", class: "btn-small btn-ghost", onclick: () => { m.selected = null; draw(); } }, "Close"))),
      el("div", { class: "grid-fields", "data-path": base }, fields, el("span", { class: "ctl-err field-error", role: "alert" })));
  }

  // "Add a clip": a track, one of the song's sources, a start (the playhead by default).
  function drawClipAdd() {
    const box = m.clipAddEl;
    if (!box) return;
    if (!m.editable || !m.spec.tracks.length || !data.sources.length) { box.hidden = true; box.replaceChildren(); return; }
    const keep = {
      track: document.getElementById("clip-add-track")?.value,
      source: document.getElementById("clip-add-source")?.value,
      start: document.getElementById("clip-add-start")?.value,
    };
    const focused = document.activeElement && box.contains(document.activeElement) ? document.activeElement.id : null;
    const groups = new Map();
    for (const s of data.sources) {
      const kind = s.name.split(":")[0];
      if (!groups.has(kind)) groups.set(kind, []);
      groups.get(kind).push(s);
    }
    const source = el("select", { id: "clip-add-source" }, [...groups].map(([kind, rows]) =>
      el("optgroup", { label: KIND_NAMES[kind] || kind }, rows.map((s) => el("option", { value: s.name }, `${s.label} (${clock(s.duration_s, true)})`)))));
    const track = el("select", { id: "clip-add-track" }, m.spec.tracks.map((t, i) => el("option", { value: String(i) }, t.id)));
    const start = el("input", { type: "number", id: "clip-add-start", min: 0, step: "any", inputmode: "decimal",
      value: keep.start ?? String(round(m.playhead, 0.001)), "aria-describedby": "clip-add-err" });
    if (keep.track && Number(keep.track) < m.spec.tracks.length) track.value = keep.track;
    if (keep.source && sources.has(keep.source)) source.value = keep.source;
    const ctl = el("div", { class: "ctl clip-add-row", "data-path": "clips-add" },
      el("div", { class: "field" }, el("label", { for: "clip-add-track" }, "Track"), track),
      el("div", { class: "field" }, el("label", { for: "clip-add-source" }, "Source"), source),
      el("div", { class: "field" }, el("label", { for: "clip-add-start" }, "Start (s)"), start),
      el("button", { type: "button", class: "btn-small", id: "clip-add-btn", onclick: () => addClip(ctl, Number(track.value), source.value, start.value) }, "Add clip"),
      el("span", { class: "ctl-err field-error", id: "clip-add-err", role: "alert" }));
    box.hidden = false;
    box.replaceChildren(el("h3", { text: "Add a clip" }), ctl);
    if (focused) document.getElementById(focused)?.focus({ preventScroll: true });
  }

  function addClip(ctl, ti, name, startText) {
    const t = m.spec.tracks[ti];
    const seconds = Number(startText);
    if (!t || !sources.has(name)) { refuse(ctl, "Choose a track and a source."); return; }
    if (startText === "" || !Number.isFinite(seconds) || seconds < 0) { refuse(ctl, "The start is a number of seconds, 0 or more."); return; }
    unrefuse(ctl);
    const clip = {
      source: name, start: Math.round(seconds * m.rate()), source_in: 0, length: null, gain_db: 0, reverse: false,
      stretch: 1, pitch_semitones: 0, fade_in: { length: 0, shape: "linear" }, fade_out: { length: 0, shape: "linear" },
    };
    const ci = t.clips.length;
    m.selected = [ti, ci];
    m.auto.unselect();
    change((s) => { s.tracks[ti].clips.push(clip); }, { redraw: true });
    m.say(`Added ${m.sourceLabel(name)} to ${t.id} at ${clock(seconds, true)}`);
  }

  return { draw, drawEditor, setPlayhead, xToSeconds };
}
