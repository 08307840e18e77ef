// forms.js: small helpers for server-rendered forms (loaded on every page): the splits editor's
// rows, forms that empty themselves after a successful htmx post, and a user's unsent edits kept
// through a live region's re-render. The splits' running total is not computed here: the form
// asks the server's own parser (hx-get to splits-preview on input), so the page cannot show a
// total the server would refuse.
function rowsChanged(form) {
  form.dispatchEvent(new CustomEvent("splits-rows-changed", { bubbles: true }));
}

document.addEventListener("click", (e) => {
  const add = e.target.closest && e.target.closest("[data-add-split]");
  const remove = e.target.closest && e.target.closest("[data-remove-split]");
  if (add) {
    const form = add.closest("form");
    const rows = form.querySelector(".split-rows");
    const last = rows.querySelector(".split-row:last-child");
    const clone = last.cloneNode(true);
    clone.querySelectorAll("input").forEach((i) => { i.value = ""; });
    rows.append(clone);
    clone.querySelector("input").focus();
  } else if (remove) {
    const form = remove.closest("form");
    const row = remove.closest(".split-row");
    if (form.querySelectorAll(".split-row").length > 1) row.remove();
    else row.querySelectorAll("input").forEach((i) => { i.value = ""; });
    rowsChanged(form);
  }
});

// <form data-reset-when="board">: after a successful request that swapped #board, empty the
// form and its error slot (an attribute, not hx-on: the Content-Security-Policy allows no eval).
document.addEventListener("htmx:afterRequest", (e) => {
  const form = e.target.closest && e.target.closest("form[data-reset-when]");
  const target = e.detail && e.detail.target;
  if (!form || !e.detail.successful || !target || target.id !== form.dataset.resetWhen) return;
  form.reset();
  form.querySelectorAll(".field-error").forEach((slot) => { slot.textContent = ""; });
});

// A live region re-renders from the server (an outerHTML swap) while someone may be in the
// middle of a form in it: a resource picked and not yet booked, a note half typed. The swap would
// put every control back to the server's default, and the next click would send the wrong
// value. So a control (by id) the user changed and is not submitting now keeps its value in the
// new element, when the server's own value and choices for it did not change; focus stays too.
function isToggle(el) { return el.type === "checkbox" || el.type === "radio"; }
function changedByUser(el) {
  if (isToggle(el)) return el.checked !== el.defaultChecked;
  if (el.tagName === "SELECT") return [...el.options].some((o) => o.selected !== o.defaultSelected);
  return el.value !== el.defaultValue;
}
function serverState(el) {
  if (isToggle(el)) return `${el.value}:${el.defaultChecked}`;
  if (el.tagName === "SELECT") {
    return [...el.options].map((o) => `${o.value}:${o.defaultSelected}:${o.disabled}`).join("|");
  }
  return el.defaultValue;
}
document.addEventListener("htmx:beforeSwap", (e) => {
  const target = e.detail.target;
  if (!e.detail.shouldSwap || !target || !target.querySelectorAll) return;
  const source = e.detail.requestConfig && e.detail.requestConfig.elt;
  const submitting = source && source.closest ? source.closest("form") : null;
  const kept = [];
  target.querySelectorAll("input[id], select[id], textarea[id]").forEach((el) => {
    if (el.type === "hidden" || el.type === "file" || el.type === "submit") return;
    if ((submitting && submitting.contains(el)) || !changedByUser(el)) return;
    kept.push({
      id: el.id, server: serverState(el), value: el.value, checked: el.checked,
      picked: el.tagName === "SELECT" ? [...el.selectedOptions].map((o) => o.value) : null,
    });
  });
  const active = document.activeElement;
  const focused = active && active.id && target.contains(active) ? active.id : "";
  if (!kept.length && !focused) return;
  setTimeout(() => { // htmx swaps synchronously after this event (no swap delay here)
    for (const k of kept) {
      const el = document.getElementById(k.id);
      if (!el || serverState(el) !== k.server) continue;
      if (k.picked) for (const o of el.options) o.selected = k.picked.includes(o.value);
      else if (isToggle(el)) el.checked = k.checked;
      else el.value = k.value;
    }
    const again = focused && document.getElementById(focused);
    if (again && again !== document.activeElement) again.focus({ preventScroll: true });
  }, 0);
});
