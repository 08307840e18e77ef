// board.js: drag and drop on the task board. A drop posts the new column and rank to the same
// page view the "Move to" form uses (htmx swaps the board back in); the event then refreshes
// everyone else's board. Keyboard users have the "Move to" select on every card.
function rankAt(list, y, dragged) {
  const cards = [...list.querySelectorAll(".task")].filter((c) => c !== dragged);
  let rank = 0;
  for (const card of cards) {
    const box = card.getBoundingClientRect();
    if (y > box.top + box.height / 2) rank += 1;
  }
  return rank;
}

export function initBoard() {
  if (document.body.dataset.boardInit) return;
  document.body.dataset.boardInit = "1";
  let dragged = null;
  let marker = null;

  const clear = () => {
    document.querySelectorAll(".column.drop-target").forEach((c) => c.classList.remove("drop-target"));
    if (marker) { marker.remove(); marker = null; }
  };

  // A card whose edit form is open is not draggable, so text in its fields can be selected.
  document.addEventListener("toggle", (e) => {
    const details = e.target;
    if (!details.matches || !details.matches(".task-edit")) return;
    const card = details.closest(".task");
    if (card) card.draggable = !details.open;
  }, true);
  document.addEventListener("dragstart", (e) => {
    const card = e.target.closest && e.target.closest(".task[draggable=true]");
    if (!card) return;
    dragged = card;
    card.classList.add("dragging");
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", card.dataset.task);
  });
  document.addEventListener("dragend", () => {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    clear();
  });
  document.addEventListener("dragover", (e) => {
    const column = e.target.closest && e.target.closest(".column");
    if (!column || !dragged) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "move";
    clear();
    column.classList.add("drop-target");
    const list = column.querySelector("ol");
    const rank = rankAt(list, e.clientY, dragged);
    marker = document.createElement("li");
    marker.className = "drop-marker";
    marker.setAttribute("aria-hidden", "true");
    const cards = [...list.querySelectorAll(".task")].filter((c) => c !== dragged);
    list.insertBefore(marker, cards[rank] || null);
  });
  document.addEventListener("drop", (e) => {
    const column = e.target.closest && e.target.closest(".column");
    if (!column || !dragged) return;
    e.preventDefault();
    const list = column.querySelector("ol");
    const rank = rankAt(list, e.clientY, dragged);
    const id = dragged.dataset.task;
    const status = column.dataset.status;
    clear();
    // Optimistic: show it where it was dropped; the response replaces the board anyway.
    const cards = [...list.querySelectorAll(".task")].filter((c) => c !== dragged);
    list.insertBefore(dragged, cards[rank] || null);
    list.querySelectorAll(".empty-col").forEach((el) => el.remove());
    window.htmx.ajax("POST", `/tasks/${id}/move/`, {
      target: "#board", swap: "outerHTML", values: { status, rank: String(rank) },
    });
  });
}
