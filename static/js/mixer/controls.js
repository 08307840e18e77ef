// mixer/controls.js: the labelled controls every part of the mixer builds. Each one is a
// `.ctl` holding a JSON path (`data-path`) and an error slot (`.ctl-err`, the element its
// input names in aria-describedby), so a 400's sentence for that path lands next to it.
import { el, idOf } from "./util.js";

// A labelled number with an optional slider; both always show the spec's value.
export function numberCtl(m, { label, path, value, min, max, step, slider, unit = "", format, onchange, id }) {
  const sMin = slider ? slider[0] : min;
  const sMax = slider ? slider[1] : max;
  const inputId = id || idOf(path);
  const show = (v) => (format ? format(v) : `${v}${unit ? ` ${unit}` : ""}`);
  const val = el("span", { class: "val", text: show(value) });
  const errId = `${inputId}-err`;
  const num = el("input", {
    type: "number", id: inputId, min, max, step: "any", value: value ?? "", disabled: !m.editable,
    "aria-describedby": errId, inputmode: "decimal", "data-field": path,
  });
  const range = el("input", {
    type: "range", min: sMin, max: sMax, step, value: Math.min(sMax, Math.max(sMin, value ?? sMin)),
    disabled: !m.editable, "aria-label": label, tabindex: "-1", "aria-hidden": "true",
  });
  const commit = (v, fromRange) => {
    if (!Number.isFinite(v)) return;
    val.textContent = show(v);
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

// A labelled select; `options` are [value, text] pairs.
export function selectCtl(m, { label, path, value, options, onchange, id }) {
  const selectId = id || idOf(path);
  const errId = `${selectId}-err`;
  const select = el("select", { id: selectId, disabled: !m.editable, "data-field": path, "aria-describedby": errId },
    options.map(([v, text]) => el("option", { value: v, selected: v === value }, text)));
  select.addEventListener("change", () => onchange(select.value, select));
  return el("div", { class: "ctl ctl-select", "data-path": path }, el("label", { for: selectId }, label), select,
    el("span", { class: "ctl-err field-error", id: errId, role: "alert" }));
}

export function toggle(m, label, cls, pressed, title, onclick, extra = {}) {
  return el("button", {
    type: "button", class: `btn-small ${cls}`, "aria-pressed": String(Boolean(pressed)), title,
    disabled: !m.editable, onclick, ...extra,
  }, label);
}

// Say why a gesture was refused, next to its control, without saving anything.
export function refuse(ctl, text) {
  const slot = ctl?.querySelector(":scope > .ctl-err");
  if (!slot) return;
  ctl.classList.add("invalid");
  slot.textContent = text;
  for (const input of ctl.querySelectorAll(":scope > select, :scope > input")) input.setAttribute("aria-invalid", "true");
}

export function unrefuse(ctl) {
  if (!ctl) return;
  ctl.classList.remove("invalid");
  const slot = ctl.querySelector(":scope > .ctl-err");
  if (slot) slot.textContent = "";
  for (const input of ctl.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}
