// mixer/strips.js: the channel strips (tracks, buses, master): fader, pan, mute/solo, the
// effects chain, sends to buses (level, pre/post fader, add, remove), the output (master or a
// bus; a loop is refused here, before the server would), buses added and removed.
import { numberCtl, refuse, selectCtl, toggle, unrefuse } from "./controls.js";
import { FLOOR_DB, ID_RE, at, dbText, el, idOf, loopIf, panText, round, stepFor, words } from "./util.js";

const SLIDER_DB = [-60, 12];
const SEND_DB = [-60, 6];
const NEW_SEND_DB = -12;

export function makeStrips(m) {
  const { data } = m;
  const openFx = new Set();
  const change = (fn, opts) => m.change(fn, opts);

  function faderBlock(kind, index, ch) {
    const base = kind === "master" ? "master" : `${kind}[${index}]`;
    const name = kind === "master" ? "Master" : ch.id;
    const fader = el("input", {
      type: "range", class: "fader", min: SLIDER_DB[0], max: SLIDER_DB[1], step: 0.1,
      value: Math.max(SLIDER_DB[0], Math.min(SLIDER_DB[1], ch.gain_db)), disabled: !m.editable,
      "aria-label": `${name} fader (dB)`, "aria-valuetext": `${dbText(ch.gain_db)} dB`,
      "data-fader": kind === "master" ? "master" : ch.id,
    });
    const automated = (ch.automation?.gain_db || []).length > 0;
    const gain = numberCtl(m, {
      label: automated ? "Fader · auto" : "Fader", path: `${base}.gain_db`, value: ch.gain_db,
      min: data.limits.gain_min_db, max: data.limits.gain_max_db, step: 0.1, format: (v) => `${dbText(v)} dB`,
      onchange: (v) => {
        fader.value = String(Math.max(SLIDER_DB[0], Math.min(SLIDER_DB[1], v)));
        fader.setAttribute("aria-valuetext", `${dbText(v)} dB`);
        change((s) => { at(s, base).gain_db = v; });
      },
    });
    gain.querySelector("input[type=range]").remove();
    fader.addEventListener("input", () => {
      const v = round(Number(fader.value), 0.1);
      gain.querySelector("input[type=number]").value = String(v);
      gain.querySelector(".val").textContent = `${dbText(v)} dB`;
      fader.setAttribute("aria-valuetext", `${dbText(v)} dB`);
      change((s) => { at(s, base).gain_db = v; });
    });
    return el("div", { class: "fader-wrap" }, fader, el("div", { class: "fader-side" }, gain));
  }

  function fxChain(base, chain) {
    const list = el("ol", { class: "fx-list", "data-path": `${base}.fx` });
    chain.forEach((fx, i) => {
      const key = `${base}.fx[${i}]`;
      const params = data.effects[fx.type] || {};
      const body = el("div", { class: "fx-params" });
      for (const [name, p] of Object.entries(params)) {
        const path = `${base}.fx[${i}].${name}`;
        if (p.choices && p.choices.length) {
          body.append(selectCtl(m, {
            label: words(name), path, value: fx[name] ?? p.choices[0], options: p.choices.map((c) => [c, c]),
            onchange: (v) => change((s) => { at(s, base).fx[i][name] = v; }),
          }));
          continue;
        }
        const step = stepFor(p.lo, p.hi);
        const hz = p.unit === "Hz";
        body.append(numberCtl(m, {
          label: words(name), path, value: fx[name] ?? p.default, min: p.lo, max: p.hi, step, unit: hz ? "" : p.unit,
          format: (v) => `${hz && v >= 1000 ? `${round(v / 1000, 0.01)} k` : round(v, 0.01)}${p.unit ? ` ${p.unit}` : ""}`,
          slider: hz ? [p.lo, Math.min(p.hi, 20000)] : undefined,
          onchange: (v, fromRange) => change((s) => { at(s, base).fx[i][name] = fromRange ? round(v, step) : v; }),
        }));
      }
      const move = (to) => (e) => {
        e.preventDefault();
        change((s) => { const c = at(s, base).fx; [c[to], c[i]] = [c[i], c[to]]; }, { redraw: true });
      };
      const tools = m.editable ? [
        el("button", { type: "button", class: "btn-small btn-ghost", title: "Move up", id: `${idOf(key)}-up`, "aria-label": `Move ${fx.type} up`, disabled: i === 0, onclick: move(i - 1) }, "▲"),
        el("button", { type: "button", class: "btn-small btn-ghost", title: "Move down", id: `${idOf(key)}-down`, "aria-label": `Move ${fx.type} down`, disabled: i === chain.length - 1, onclick: move(i + 1) }, "▼"),
        el("button", { type: "button", class: "btn-small btn-ghost", title: "Remove", "aria-label": `Remove ${fx.type}`,
          onclick: (e) => { e.preventDefault(); change((s) => { at(s, base).fx.splice(i, 1); }, { redraw: true }); } }, "✕"),
      ] : [];
      list.append(el("li", {},
        el("details", { class: "fx", open: openFx.has(key), "data-path": key, "data-fx": fx.type,
          ontoggle: (e) => { if (e.target.open) openFx.add(key); else openFx.delete(key); } },
        el("summary", {}, el("span", { class: "fx-name", text: `${i + 1}. ${fx.type}` }), tools),
        body, el("span", { class: "ctl-err field-error", role: "alert" }))));
    });
    const wrap = el("div", {}, el("h3", { text: "Effects" }), list);
    if (!chain.length) list.append(el("li", { class: "small muted", text: "No effects" }));
    if (m.editable && chain.length < data.limits.max_fx) {
      const select = el("select", { id: `${idOf(base)}-fx-add`, "aria-label": "Effect to add" },
        Object.keys(data.effects).map((name) => el("option", { value: name }, name)));
      const add = el("button", { type: "button", class: "btn-small", "data-fx-add": base, id: `${idOf(base)}-fx-add-btn`,
        onclick: () => {
          const type = select.value;
          openFx.add(`${base}.fx[${chain.length}]`);
          change((s) => { at(s, base).fx.push({ type }); }, { redraw: true });
        } }, "Add");
      wrap.append(el("div", { class: "fx-add" }, select, add));
    }
    return wrap;
  }

  // One send: its level (a slider and a number), pre/post fader, remove.
  function sendRow(base, ch, send, i) {
    const path = `${base}.sends[${i}]`;
    const level = numberCtl(m, {
      label: `→ ${send.bus}`, path: `${path}.level_db`, value: send.level_db,
      min: data.limits.gain_min_db, max: data.limits.gain_max_db, step: 0.5, slider: [SEND_DB[0] - 0.5, SEND_DB[1]],
      format: (v) => (v <= SEND_DB[0] - 0.5 || v <= FLOOR_DB ? "off" : `${dbText(v)} dB`),
      onchange: (v, fromRange) => {
        const db = fromRange && v < SEND_DB[0] ? FLOOR_DB : v;
        change((s) => { at(s, base).sends[i].level_db = db; });
      },
    });
    const tools = el("div", { class: "send-tools" },
      toggle(m, `${send.pre_fader ? "✓ " : ""}Pre-fader`, "pre", send.pre_fader,
        "Pre-fader: the send takes the track after its effects, before the fader and pan (pressed), or after them (not pressed)",
        () => change((s) => { const x = at(s, base).sends[i]; x.pre_fader = !x.pre_fader; }, { redraw: true }),
        { "aria-label": `Pre-fader send to ${send.bus}`, "data-send-pre": send.bus, id: `${idOf(path)}-pre` }),
      m.editable ? el("button", { type: "button", class: "btn-small btn-ghost", "aria-label": `Remove the send to ${send.bus}`,
        title: "Remove this send", "data-send-remove": send.bus,
        onclick: () => { change((s) => { at(s, base).sends.splice(i, 1); }, { redraw: true }); m.say(`${ch.id}: send to ${send.bus} removed`); } }, "✕") : null);
    return el("div", { class: "send", "data-path": path, "data-send": send.bus }, level, tools,
      el("span", { class: "ctl-err field-error", role: "alert" }));
  }

  function sendsBlock(base, ch) {
    const sends = ch.sends || [];
    const wrap = el("div", { class: "sends", "data-path": `${base}.sends` }, el("h3", { text: "Sends" }));
    sends.forEach((send, i) => wrap.append(sendRow(base, ch, send, i)));
    const free = (m.spec.buses || []).filter((b) => b.id !== ch.id && !sends.some((s) => s.bus === b.id));
    if (m.editable && free.length && sends.length < data.limits.max_sends) {
      const id = `${idOf(base)}-send-add`;
      const select = el("select", { id, "aria-label": `Bus for a new send from ${ch.id}` },
        free.map((b) => el("option", { value: b.id }, b.id)));
      const ctl = el("div", { class: "ctl send-add", "data-path": `${base}.sends-add` },
        el("div", { class: "fx-add" }, select,
          el("button", { type: "button", class: "btn-small", "data-send-add": ch.id, id: `${id}-btn`, "aria-label": `Add a send from ${ch.id}`,
            onclick: () => {
              const bus = select.value;
              const loop = loopIf(m.spec, ch.id, bus);
              if (loop) { refuse(ctl, loopText(ch.id, bus, loop)); return; }
              unrefuse(ctl);
              change((s) => { const c = at(s, base); c.sends = [...(c.sends || []), { bus, level_db: NEW_SEND_DB, pre_fader: false }]; }, { redraw: true });
              m.say(`${ch.id}: send to ${bus} added, post-fader at ${NEW_SEND_DB} dB`);
            } }, "Add send")),
        el("span", { class: "ctl-err field-error", role: "alert" }));
      wrap.append(ctl);
    }
    if (!sends.length && !(m.editable && free.length)) wrap.append(el("p", { class: "small muted", text: "No sends" }));
    return wrap;
  }

  function loopText(from, to, loop) {
    return `Not routed: ${from} into ${to} would make a loop (${loop.join(" → ")}); a bus may not feed itself.`;
  }

  // Where the channel's signal goes after its fader: the master or a bus.
  function outputCtl(base, ch) {
    const buses = (m.spec.buses || []).filter((b) => b.id !== ch.id);
    const current = ch.output || "master";
    const ctl = selectCtl(m, {
      label: "Output", path: `${base}.output`, value: current,
      options: [["master", "Master"], ...buses.map((b) => [b.id, `Bus ${b.id}`])],
      onchange: (to, select) => {
        const loop = to === "master" ? null : loopIf(m.spec, ch.id, to);
        if (loop) {
          select.value = at(m.spec, base).output || "master";
          refuse(ctl, loopText(ch.id, to, loop));
          return;
        }
        unrefuse(ctl);
        change((s) => { at(s, base).output = to; }, { redraw: true });
        m.say(`${ch.id} now goes to ${to === "master" ? "the master" : `bus ${to}`}`);
      },
    });
    return ctl;
  }

  function panCtl(base, ch) {
    const automated = (ch.automation?.pan || []).length > 0;
    return numberCtl(m, {
      label: automated ? "Pan (automated)" : "Pan", path: `${base}.pan`, value: ch.pan, min: -1, max: 1, step: 0.01, format: panText,
      onchange: (v) => change((s) => { at(s, base).pan = v; }),
    });
  }

  function trackStrip(t, i) {
    const base = `tracks[${i}]`;
    const srcs = [...new Set(t.clips.map((c) => m.sourceLabel(c.source)))].join(", ");
    const flip = (key) => () => change((s) => { s.tracks[i][key] = !s.tracks[i][key]; }, { redraw: true });
    return el("div", { class: "strip track", "data-path": base, "data-track": t.id, role: "group", "aria-label": `Channel ${t.id}` },
      el("div", { class: "strip-head" }, el("strong", { title: t.id, text: t.id }), el("span", { class: "strip-kind", text: "track" })),
      el("div", { class: "small muted ellipsis", title: srcs, text: srcs || "no clips" }),
      el("div", { class: "ms" },
        toggle(m, "M", "mute", t.mute, "Mute", flip("mute"), { "aria-label": `Mute ${t.id}`, id: `${idOf(base)}-mute` }),
        toggle(m, "S", "solo", t.solo, "Solo", flip("solo"), { "aria-label": `Solo ${t.id}`, id: `${idOf(base)}-solo` }),
        toggle(m, "Ø", "polarity", t.polarity_invert, "Invert polarity", flip("polarity_invert"), { "aria-label": `Invert the polarity of ${t.id}`, id: `${idOf(base)}-polarity` })),
      panCtl(base, t),
      fxChain(base, t.fx || []),
      sendsBlock(base, t),
      outputCtl(base, t),
      faderBlock("tracks", i, t));
  }

  // Removing a bus takes the sends to it with it, and what went into it goes to the master.
  function removeBus(id) {
    let sends = 0;
    let outputs = 0;
    change((s) => {
      s.buses = s.buses.filter((b) => b.id !== id);
      for (const ch of [...s.tracks, ...s.buses]) {
        const before = (ch.sends || []).length;
        ch.sends = (ch.sends || []).filter((x) => x.bus !== id);
        sends += before - ch.sends.length;
        if (ch.output === id) { ch.output = "master"; outputs += 1; }
      }
    }, { redraw: true });
    m.say(`Bus ${id} removed${sends ? `, with ${sends} send${sends === 1 ? "" : "s"} to it` : ""}${outputs ? `; ${outputs === 1 ? "1 channel now goes" : `${outputs} channels now go`} to the master` : ""}`);
  }

  function busStrip(b, i) {
    const base = `buses[${i}]`;
    return el("div", { class: "strip bus", "data-path": base, "data-bus": b.id, role: "group", "aria-label": `Bus ${b.id}` },
      el("div", { class: "strip-head" }, el("strong", { title: b.id, text: b.id }), el("span", { class: "strip-kind", text: "bus" }),
        m.editable ? el("button", { type: "button", class: "btn-small btn-ghost", "aria-label": `Remove bus ${b.id}`, title: "Remove this bus",
          "data-bus-remove": b.id, onclick: () => removeBus(b.id) }, "✕") : null),
      el("div", { class: "ms" }, toggle(m, "M", "mute", b.mute, "Mute",
        () => change((s) => { s.buses[i].mute = !s.buses[i].mute; }, { redraw: true }), { "aria-label": `Mute bus ${b.id}`, id: `${idOf(base)}-mute` })),
      panCtl(base, b),
      fxChain(base, b.fx || []),
      sendsBlock(base, b),
      outputCtl(base, b),
      faderBlock("buses", i, b));
  }

  function busAdd() {
    const input = el("input", { type: "text", id: "bus-add-name", maxlength: 64, placeholder: "e.g. room", autocomplete: "off",
      "aria-describedby": "bus-add-err", spellcheck: "false" });
    const ctl = el("div", { class: "ctl bus-add", "data-path": "buses-add" },
      el("label", { for: "bus-add-name" }, "New bus"),
      el("div", { class: "fx-add" }, input, el("button", { type: "button", class: "btn-small", id: "bus-add-btn",
        onclick: () => {
          const id = input.value.trim();
          const taken = [...m.spec.tracks, ...(m.spec.buses || [])].some((c) => c.id === id);
          let why = "";
          if (!ID_RE.test(id) || id === "master") why = "A bus name is 1-64 letters, digits, '_', '.', ':' or '-' (not 'master').";
          else if (taken) why = `“${id}” is already the name of a track or bus.`;
          else if ((m.spec.buses || []).length >= data.limits.max_buses) why = `A mix has at most ${data.limits.max_buses} buses.`;
          if (why) { input.setAttribute("aria-invalid", "true"); refuse(ctl, why); return; }
          unrefuse(ctl);
          change((s) => {
            s.buses = [...(s.buses || []), { id, gain_db: 0, pan: 0, mute: false, output: "master", fx: [], sends: [], automation: { gain_db: [], pan: [] } }];
          }, { redraw: true });
          m.say(`Bus ${id} added: send tracks to it or route them into it`);
          requestAnimationFrame(() => document.querySelector(`.strip[data-bus="${CSS.escape(id)}"]`)?.scrollIntoView({ inline: "nearest", block: "nearest" }));
        } }, "Add bus")),
      el("span", { class: "ctl-err field-error", id: "bus-add-err", role: "alert" }));
    input.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); ctl.querySelector("button").click(); } });
    return ctl;
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
      el("div", { class: "strip-head" }, el("strong", { text: "Master" }), el("span", { class: "strip-kind", text: `${m.rate() / 1000} kHz` })),
      fxChain("master", m.spec.master.fx || []),
      el("h3", { text: "Last render" }), meter(),
      faderBlock("master", 0, m.spec.master));
  }

  function draw() {
    const stripsEl = m.stripsEl;
    if (!stripsEl) return;
    const scroll = stripsEl.scrollLeft;
    const focused = document.activeElement && m.root.contains(document.activeElement) ? document.activeElement.id : null;
    stripsEl.replaceChildren(...m.spec.tracks.map(trackStrip), ...(m.spec.buses || []).map(busStrip), masterStrip());
    if (!m.spec.tracks.length) stripsEl.prepend(el("p", { class: "muted", text: "No tracks." }));
    stripsEl.scrollLeft = scroll;
    if (m.busAddEl) {
      const typed = document.getElementById("bus-add-name")?.value || "";
      m.busAddEl.replaceChildren(...(m.editable ? [busAdd()] : []));
      const input = document.getElementById("bus-add-name");
      if (input && typed && !m.spec.buses.some((b) => b.id === typed)) input.value = typed;
    }
    if (focused) document.getElementById(focused)?.focus();
  }

  return { draw };
}
