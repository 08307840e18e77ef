// mixer/automation.js: a track's volume and pan automation, as two lanes under its clips.
//
// The spec's `automation.gain_db` points add to the fader (dB); `automation.pan` points, when
// there are any, are the pan. Points are [frame, value], frames strictly increasing; the line
// holds the first value before the first point and the last after the last, as the engine.
// Click a lane to add a point; drag a point to move it; its numbers are fields in the point
// editor. Keys on a focused point: ↑/↓ change the value (Shift: more), ←/→ move it 0.1 s
// (Shift: 1 s), Delete removes it, Enter opens its numbers. "+" adds one at the playhead.
import { numberCtl, refuse } from "./controls.js";
import { clamp, clock, dbText, el, panText, round } from "./util.js";

const H = 44; // lane height in px (the CSS says the same)
const PAD = 6;
const LANES = {
  gain_db: { name: "Volume", view: [-30, 12], step: 0.5, big: 3, digits: 0.1, text: (v) => `${dbText(v)} dB`,
    hint: "dB added to the fader" },
  pan: { name: "Pan", view: [-1, 1], step: 0.05, big: 0.25, digits: 0.01, text: panText, hint: "replaces the strip's pan; top is right" },
};

export function makeAutomation(m) {
  const open = new Set(); // track ids whose lanes are shown
  let sel = null; // { ti, key, pi }
  const change = (fn, opts) => m.change(fn, opts);

  const limits = (key) => (key === "pan" ? [-1, 1] : [m.data.limits.gain_min_db, m.data.limits.gain_max_db]);
  const yOf = (key, v) => {
    const [lo, hi] = LANES[key].view;
    return PAD + (1 - (clamp(v, lo, hi) - lo) / (hi - lo)) * (H - 2 * PAD);
  };
  const valueAt = (key, y) => {
    const [lo, hi] = LANES[key].view;
    return round(lo + (1 - clamp((y - PAD) / (H - 2 * PAD), 0, 1)) * (hi - lo), LANES[key].digits);
  };
  const pointsOf = (s, ti, key) => {
    const t = s.tracks[ti];
    t.automation = t.automation || { gain_db: [], pan: [] };
    t.automation[key] = t.automation[key] || [];
    return t.automation[key];
  };

  // Put a point at `frame` (replacing one already there), keep the list sorted; its index.
  function place(points, frame, value) {
    const same = points.findIndex((p) => p[0] === frame);
    if (same >= 0) { points[same] = [frame, value]; return same; }
    const at = points.findIndex((p) => p[0] > frame);
    const i = at < 0 ? points.length : at;
    points.splice(i, 0, [frame, value]);
    return i;
  }

  function add(ti, key, frame, value) {
    const t = m.spec.tracks[ti];
    if ((t.automation?.[key] || []).length >= m.data.limits.max_points) { m.say(`A lane has at most ${m.data.limits.max_points} points`); return; }
    let index = 0;
    change((s) => { index = place(pointsOf(s, ti, key), Math.max(0, frame), value); }, { redraw: true });
    sel = { ti, key, pi: index };
    m.selected = null;
    m.say(`${LANES[key].name} point added to ${t.id}: ${LANES[key].text(value)} at ${clock(frame / m.rate(), true)}`);
    m.drawTimeline();
    focusPoint();
  }

  function remove(ti, key, pi) {
    const t = m.spec.tracks[ti];
    change((s) => { pointsOf(s, ti, key).splice(pi, 1); }, { redraw: true });
    sel = null;
    m.say(`${LANES[key].name} point ${pi + 1} of ${t.id} removed`);
    m.drawTimeline();
    const left = m.innerEl.querySelector(`[data-point="${CSS.escape(`${t.id}:${key}:${Math.max(0, pi - 1)}`)}"]`);
    (left || document.getElementById(`auto-add-${ti}-${key}`))?.focus({ preventScroll: true });
  }

  // Move point `pi` to `frame`/`value`; a frame taken by another point is refused.
  function move(ti, key, pi, frame, value, ctl) {
    const points = m.spec.tracks[ti].automation[key];
    const f = Math.max(0, frame);
    if (points.some((p, i) => i !== pi && p[0] === f)) {
      if (ctl) refuse(ctl, "Another point is at that time: choose another, or remove that one.");
      return false;
    }
    let index = pi;
    change((s) => {
      const list = pointsOf(s, ti, key);
      list.splice(pi, 1);
      index = place(list, f, value);
    }, { redraw: false });
    sel = { ti, key, pi: index };
    return true;
  }

  function focusPoint() {
    if (!sel) return;
    const t = m.spec.tracks[sel.ti];
    m.innerEl.querySelector(`[data-point="${CSS.escape(`${t.id}:${sel.key}:${sel.pi}`)}"]`)?.focus({ preventScroll: true });
  }

  function lane(t, ti, key, width) {
    const def = LANES[key];
    const r = m.rate();
    const zoom = m.zoom;
    const points = t.automation?.[key] || [];
    const path = `tracks[${ti}].automation.${key}`;
    const rest = key === "pan" ? t.pan : 0;
    const xs = points.map(([f]) => (f / r) * zoom);
    const line = points.length
      ? [[0, points[0][1]], ...points.map(([f, v], i) => [xs[i], v]), [width, points[points.length - 1][1]]]
      : [[0, rest], [width, rest]];
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("class", "auto-svg");
    svg.setAttribute("width", String(width));
    svg.setAttribute("height", String(H));
    svg.setAttribute("aria-hidden", "true");
    const mid = document.createElementNS(svg.namespaceURI, "line");
    const zeroY = yOf(key, 0);
    Object.entries({ x1: 0, x2: width, y1: zeroY, y2: zeroY, class: "auto-zero" }).forEach(([k, v]) => mid.setAttribute(k, String(v)));
    const poly = document.createElementNS(svg.namespaceURI, "polyline");
    poly.setAttribute("points", line.map(([x, v]) => `${x.toFixed(1)},${yOf(key, v).toFixed(1)}`).join(" "));
    poly.setAttribute("class", points.length ? "auto-line" : "auto-line idle");
    svg.append(mid, poly);
    const area = el("div", {
      class: "lane-area auto-area", id: `auto-${ti}-${key}`, "data-auto": `${t.id}:${key}`, role: "group",
      "aria-label": `${def.name} automation of ${t.id}${m.editable ? ": click to add a point" : ""}`,
    }, svg);
    points.forEach(([f, v], pi) => area.append(pointEl(t, ti, key, pi, f, v, xs[pi], points)));
    if (m.editable) {
      // A mouse or pen adds at once; a finger adds on a tap only (a swipe scrolls the timeline).
      const at = (e) => {
        const box = area.getBoundingClientRect();
        add(ti, key, Math.round(((e.clientX - box.left) / zoom) * r), valueAt(key, e.clientY - box.top));
      };
      let touched = false;
      area.addEventListener("pointerdown", (e) => {
        touched = e.pointerType === "touch";
        if (touched || e.button !== 0 || e.target.closest(".auto-pt")) return;
        e.preventDefault();
        at(e);
      });
      area.addEventListener("click", (e) => { if (touched && !e.target.closest(".auto-pt")) at(e); });
    }
    const plus = m.editable ? el("button", {
      type: "button", class: "btn-small btn-ghost auto-add", id: `auto-add-${ti}-${key}`,
      "aria-label": `Add a ${def.name.toLowerCase()} point to ${t.id} at the playhead`, title: "Add a point at the playhead",
      onclick: () => {
        const frame = Math.round(m.playhead * r);
        add(ti, key, frame, valueNear(points, frame, rest));
      },
    }, "+") : null;
    return el("div", { class: "lane auto-lane", "data-path": path },
      el("div", { class: "lane-label", title: `${def.name} automation of ${t.id} (${def.hint})` },
        el("span", { class: "lane-name", text: def.name }), el("span", { class: "lane-sub" }, el("span", { class: "muted", text: points.length ? `${points.length} pt` : "off" }), plus)),
      area);
  }

  // The line's value at a frame (what a new point there starts from).
  function valueNear(points, frame, rest) {
    if (!points.length) return rest;
    if (frame <= points[0][0]) return points[0][1];
    for (let i = 1; i < points.length; i += 1) {
      const [f0, v0] = points[i - 1];
      const [f1, v1] = points[i];
      if (frame <= f1) return round(v0 + ((v1 - v0) * (frame - f0)) / (f1 - f0), 0.01);
    }
    return points[points.length - 1][1];
  }

  function pointEl(t, ti, key, pi, frame, value, x, points) {
    const def = LANES[key];
    const r = m.rate();
    const [lo, hi] = limits(key);
    const isSel = sel && sel.ti === ti && sel.key === key && sel.pi === pi;
    const node = el("span", {
      class: "auto-pt", tabindex: "0", role: "slider", style: `left:${x - 12}px;top:${yOf(key, value) - 12}px`,
      "aria-label": `${def.name} point ${pi + 1} of ${t.id}`, "aria-valuemin": lo, "aria-valuemax": hi, "aria-valuenow": value,
      "aria-valuetext": `${def.text(value)} at ${clock(frame / r, true)}`, "aria-current": isSel ? "true" : null,
      "aria-keyshortcuts": m.editable ? "ArrowUp ArrowDown ArrowLeft ArrowRight Delete Enter" : "Enter",
      title: `${def.text(value)} at ${clock(frame / r, true)}`, "data-point": `${t.id}:${key}:${pi}`, "data-path": `tracks[${ti}].automation.${key}[${pi}]`,
    });
    const select = () => { sel = { ti, key, pi }; m.selected = null; m.drawTimeline(); focusPoint(); };
    node.addEventListener("keydown", (e) => {
      if (e.altKey || e.ctrlKey || e.metaKey) return;
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); select(); return; }
      if (!m.editable) return;
      const fresh = m.spec.tracks[ti].automation[key];
      const p = fresh[pi];
      if (e.key === "ArrowUp" || e.key === "ArrowDown") {
        e.preventDefault();
        const d = (e.shiftKey ? def.big : def.step) * (e.key === "ArrowUp" ? 1 : -1);
        move(ti, key, pi, p[0], clamp(round(p[1] + d, def.digits), lo, hi));
      } else if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
        e.preventDefault();
        const df = Math.round((e.shiftKey ? 1 : 0.1) * r) * (e.key === "ArrowLeft" ? -1 : 1);
        const prev = pi > 0 ? fresh[pi - 1][0] + 1 : 0;
        const next = pi < fresh.length - 1 ? fresh[pi + 1][0] - 1 : Infinity;
        move(ti, key, pi, clamp(p[0] + df, prev, next), p[1]);
      } else if (e.key === "Delete" || e.key === "Backspace") {
        e.preventDefault();
        remove(ti, key, pi);
        return;
      } else return;
      m.drawTimeline();
      focusPoint();
    });
    if (!m.editable) { node.addEventListener("click", select); return node; }
    // Drag: between the neighbours' frames, the value within the lane's view.
    node.addEventListener("pointerdown", (e) => {
      if (e.button !== 0) return;
      e.preventDefault();
      e.stopPropagation();
      node.setPointerCapture(e.pointerId);
      m.gesture = true;
      const x0 = e.clientX;
      const y0 = e.clientY;
      const zoom = m.zoom;
      const fresh = m.spec.tracks[ti].automation[key];
      const prev = pi > 0 ? fresh[pi - 1][0] + 1 : 0;
      const next = pi < fresh.length - 1 ? fresh[pi + 1][0] - 1 : Infinity;
      let moved = false;
      let to = [frame, value];
      const onMove = (ev) => {
        const dx = ev.clientX - x0;
        const dy = ev.clientY - y0;
        if (!moved && Math.abs(dx) < 3 && Math.abs(dy) < 3) return;
        moved = true;
        m.root.dataset.dragging = "point";
        const f = clamp(Math.round(frame + (dx / zoom) * r), prev, next);
        const v = Math.abs(dy) < 3 ? value : valueAt(key, yOf(key, value) + dy);
        to = [f, v];
        node.style.left = `${(f / r) * zoom - 12}px`;
        node.style.top = `${yOf(key, v) - 12}px`;
        node.setAttribute("aria-valuetext", `${def.text(v)} at ${clock(f / r, true)}`);
      };
      const onUp = () => {
        node.removeEventListener("pointermove", onMove);
        node.removeEventListener("pointerup", onUp);
        node.removeEventListener("pointercancel", onUp);
        delete m.root.dataset.dragging;
        m.gestureEnd();
        if (!moved) { select(); return; }
        move(ti, key, pi, to[0], to[1]);
        m.drawTimeline();
        focusPoint();
      };
      node.addEventListener("pointermove", onMove);
      node.addEventListener("pointerup", onUp);
      node.addEventListener("pointercancel", onUp);
    });
    return node;
  }

  // The selected point's numbers: its time in seconds and its value.
  function drawEditor() {
    const box = m.autoEditorEl;
    if (!box) return;
    const t = sel && m.spec.tracks[sel.ti];
    const points = t && t.automation?.[sel.key];
    if (!points || !points[sel.pi]) { sel = null; box.hidden = true; box.replaceChildren(); return; }
    const { ti, key, pi } = sel;
    const def = LANES[key];
    const r = m.rate();
    const [frame, value] = points[pi];
    const [lo, hi] = limits(key);
    const path = `tracks[${ti}].automation.${key}[${pi}]`;
    const current = () => m.spec.tracks[ti].automation[key][pi];
    const had = box.contains(document.activeElement) ? (document.activeElement.dataset.field || "").split(".").pop() : null;
    const time = numberCtl(m, {
      label: "Time (s)", path: `${path}.frame`, value: round(frame / r, 0.001), min: 0, max: 3600, step: 0.001,
      slider: [0, Math.max(m.programmeSeconds(), 10)],
      onchange: (v) => { if (move(ti, key, pi, Math.round(v * r), current()[1], time)) m.drawTimeline(); },
    });
    const val = numberCtl(m, {
      label: key === "pan" ? "Pan (−1 to 1)" : "Volume (dB)", path: `${path}.value`, value,
      min: lo, max: hi, step: def.digits, slider: def.view, format: def.text,
      onchange: (v, fromRange) => { move(ti, key, pi, current()[0], fromRange ? round(v, def.digits) : v); m.drawTimeline({ editor: false }); },
    });
    box.hidden = false;
    box.replaceChildren(
      el("div", { class: "card-head" },
        el("h3", { text: `${def.name} point ${pi + 1} of ${t.id}` }, el("span", { class: "small muted", text: ` · ${def.hint}` })),
        el("span", { class: "row" },
          m.editable ? el("button", { type: "button", class: "btn-small btn-danger", id: "point-remove", onclick: () => remove(ti, key, pi) }, "Remove point") : null,
          el("button", { type: "button", class: "btn-small btn-ghost", onclick: () => { sel = null; m.drawTimeline(); } }, "Close"))),
      el("div", { class: "grid-fields", "data-path": path }, time, val, el("span", { class: "ctl-err field-error", role: "alert" })));
    if (had) box.querySelector(`input[type=number][data-field$=".${had}"]`)?.focus({ preventScroll: true });
  }

  return {
    isOpen: (id) => open.has(id),
    toggle: (id) => { if (open.has(id)) open.delete(id); else open.add(id); },
    open: (id) => open.add(id),
    lanes: (t, ti, width) => ["gain_db", "pan"].map((key) => lane(t, ti, key, width)),
    drawEditor,
    unselect: () => { sel = null; },
  };
}
