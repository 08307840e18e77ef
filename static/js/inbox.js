// inbox.js: the header's unread count and the toast of a new notification, on every page.
//
// live.js turns the server's `notification` frame (sent to this person's own sockets, no seq:
// best effort) into a `studio:notification` event on <body>; its payload carries the sentence,
// the link and the new unread count. Frames missed while the socket was down are not replayed,
// so the count is refetched whenever the socket (re)opens and when the tab becomes visible.

const link = document.getElementById("inbox-link");
const toast = document.getElementById("notification-toast");
// The header is sticky with a backdrop filter, which makes it the containing block of a fixed
// child: the toast would sit at the header's bottom edge, half off screen. It lives on <body>.
if (toast && toast.parentElement !== document.body) document.body.appendChild(toast);
let hideTimer = null;

function setCount(unread) {
  const badge = document.getElementById("inbox-count");
  if (!badge || typeof unread !== "number" || unread < 0) return;
  badge.dataset.unread = String(unread);
  badge.textContent = String(unread);
  badge.hidden = unread === 0;
  if (link) link.setAttribute("aria-label", `Inbox, ${unread} unread`);
}

async function refetch() {
  if (!link || !link.dataset.countUrl) return;
  try {
    const response = await fetch(link.dataset.countUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const data = await response.json();
    setCount(Number(data.count));
  } catch (err) { /* offline: the next open refetches */ }
}

function show(payload) {
  if (!toast || !payload.sentence) return;
  toast.replaceChildren();
  const text = document.createElement("a");
  text.href = typeof payload.link === "string" && payload.link.startsWith("/") ? payload.link : "/inbox/";
  text.textContent = payload.sentence;
  toast.append(text);
  toast.hidden = false;
  clearTimeout(hideTimer);
  hideTimer = setTimeout(() => { toast.hidden = true; }, 8000);
}

document.body.addEventListener("studio:notification", (ev) => {
  const payload = (ev.detail && ev.detail.payload) || {};
  setCount(Number(payload.unread));
  show(payload);
});

// live.js counts the socket's opens in body[data-live-opened]: each (re)open refetches.
new MutationObserver(() => refetch()).observe(document.body, { attributes: true, attributeFilter: ["data-live-opened"] });
document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") refetch(); });
