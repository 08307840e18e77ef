// forms.js: small helpers for server-rendered forms (loaded on every page): the splits editor's
// rows, and forms that empty themselves after a successful htmx post. The splits' running total
// is not computed here: the form asks the server's own parser (hx-get to splits-preview on
// input), so the page cannot show a total the server would refuse.
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
