// live.js: the one websocket of a project page (protocol: sessions/protocol.py).
//
// The page carries the seq it was rendered at (body[data-last-seq]) and its epoch; we connect
// with ?after=<seq>&epoch=<epoch>, drop any seq we already have, and turn each event into a
// bubbling DOM event `studio:<type with dots as dashes>` (plus a generic `studio:event`), which
// htmx fragments listen to (`hx-trigger="studio:task-moved from:body"`). Islands use
// `live.on(type, fn)`. `resync` fires `studio:resync`: every live region refetches.
// Reconnects with jittered backoff 1-30 s, at once when the network or the tab comes back.

const body = document.body;
const projectId = body.dataset.projectId;
const handlers = new Map();
let socket = null;
let last = Number(body.dataset.lastSeq || 0);
let epoch = body.dataset.epoch || "";
let attempt = 0;
let refusals = 0;
let timer = null;
let stopped = false;
let presence = { type: "presence", song: null, mix: null };
let lastBeat = Date.now();

function setState(state) {
  body.dataset.live = state;
  const badge = document.getElementById("live-badge");
  if (badge) {
    badge.textContent = { open: "live", connecting: "connecting…", closed: "offline" }[state] || state;
    badge.title = state === "open" ? "Changes by others appear as they happen" : "Reconnecting";
  }
}

function emit(type, frame) {
  const name = "studio:" + type.replace(/[._]/g, "-");
  for (const fn of handlers.get(type) || []) {
    try { fn(frame); } catch (err) { console.warn("live handler for", type, "failed", err); }
  }
  for (const fn of handlers.get("*") || []) {
    try { fn(frame); } catch (err) { console.warn("live handler failed", err); }
  }
  try {
    body.dispatchEvent(new CustomEvent(name, { bubbles: true, detail: frame }));
    if (frame.seq != null) body.dispatchEvent(new CustomEvent("studio:event", { bubbles: true, detail: frame }));
  } catch (err) { console.warn("live dispatch failed", err); }
  markLateEvent(name, frame.seq != null);
}

// Live regions refetch on `studio:*` events (`hx-trigger="studio:x from:body delay:..."`). An
// outerHTML swap replaces the region's element, and an event can fall between the two: one that
// arrives while the refetch is in flight is queued on (or waits in a delay timer of) the element
// the swap throws away, and one that arrives after the swap but before htmx settles the new
// element (its listeners are attached then) reaches no listener at all. Either way the region
// would keep the state from before the event. So when a region's element was replaced, and one of
// its events arrived after its request began, the new element is fetched once more, unless a
// request of its own began after that event (a later trigger already covers it). The check waits
// out the longest trigger delay, so it rarely races a trigger of the region's own.
const RECHECK_MS = 500; // htmx settles 20 ms after a swap; the longest trigger delay is 400 ms
const eventSeenAt = new Map(); // "studio:x" -> when it last arrived
const regionRequests = new Map(); // region element -> its id and when its refetch began
const regionLastBegan = new Map(); // region id -> when its latest refetch began
function regionEvents(el) {
  return new Set((el.getAttribute("hx-trigger") || "").match(/studio:[\w-]+/g) || []);
}
function markLateEvent(name, durable) {
  const now = performance.now();
  eventSeenAt.set(name, now);
  if (durable) eventSeenAt.set("studio:event", now);
}
body.addEventListener("htmx:beforeRequest", (ev) => {
  const el = ev.detail.elt;
  if (!el || !el.id || !regionEvents(el).size) return;
  const began = performance.now();
  regionRequests.set(el, { id: el.id, began });
  regionLastBegan.set(el.id, began);
});
body.addEventListener("htmx:afterRequest", (ev) => {
  // When the element was swapped out, htmx re-fires afterRequest on an ancestor still in the
  // page and `detail.elt` names that ancestor; the request's own element is in requestConfig.
  const old = (ev.detail.requestConfig && ev.detail.requestConfig.elt) || ev.detail.elt;
  if (!old || !regionRequests.has(old)) return;
  const { id, began } = regionRequests.get(old); // the id now: htmx clears the replaced one's
  regionRequests.delete(old);
  setTimeout(() => {
    const fresh = document.getElementById(id);
    if (!fresh || fresh === old) return; // not replaced: htmx runs its own queued request
    const lastEvent = Math.max(-1, ...[...regionEvents(fresh)].map((n) => eventSeenAt.get(n) || -1));
    if (lastEvent <= began || (regionLastBegan.get(id) || -1) > lastEvent) return;
    const path = fresh.getAttribute("hx-get");
    if (path && window.htmx) window.htmx.ajax("GET", path, { source: fresh }).catch(() => {});
  }, RECHECK_MS);
});

function url() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const q = new URLSearchParams({ after: String(last) });
  if (epoch) q.set("epoch", epoch);
  return `${proto}//${location.host}/ws/projects/${projectId}/?${q}`;
}

function onFrame(frame) {
  if (!frame || typeof frame !== "object") return;
  if (frame.type === "hello") {
    refusals = 0;
    if (frame.epoch) { epoch = frame.epoch; body.dataset.epoch = epoch; }
    return;
  }
  if (frame.type === "resync") {
    if (frame.epoch) { epoch = frame.epoch; body.dataset.epoch = epoch; }
    if (typeof frame.last_seq === "number") { last = frame.last_seq; body.dataset.lastSeq = String(last); }
    emit("resync", frame);
    return;
  }
  if (frame.seq == null) { emit(frame.type, frame); return; } // job.progress, presence
  if (frame.seq <= last) return; // already applied (replay overlap)
  if (frame.seq > last + 1) { // a gap: reconnect from what we have; the server replays
    reconnectNow();
    return;
  }
  last = frame.seq;
  body.dataset.lastSeq = String(last);
  emit(frame.type, frame);
}

function connect() {
  if (stopped || !projectId) return;
  clearTimeout(timer);
  setState("connecting");
  let ws;
  try { ws = new WebSocket(url()); } catch (err) { schedule(); return; }
  socket = ws;
  ws.onopen = () => {
    attempt = 0;
    body.dataset.liveOpened = String(Number(body.dataset.liveOpened || 0) + 1);
    setState("open");
    sendPresence();
  };
  ws.onmessage = (msg) => {
    let frame;
    try { frame = JSON.parse(msg.data); } catch (err) { return; }
    onFrame(frame);
  };
  ws.onclose = (ev) => {
    if (socket !== ws) return;
    socket = null;
    body.dataset.liveClose = String(ev.code);
    const refused = ev.code === 4401 || ev.code === 4403 || ev.code === 4404;
    if (refused && refusals >= 3) {
      // Refused again and again (signed out, or no longer a member): stop; a reload starts over.
      stopped = true;
      setState("closed");
      if (ev.code !== 4401) emit("removed", { type: "removed" });
      return;
    }
    // A refusal may be transient (a membership check racing a connect): retry, with backoff.
    // A member who really was removed is refused (4404) on the retries and the loop ends.
    if (refused) refusals += 1;
    setState("connecting");
    schedule();
  };
  ws.onerror = () => { /* onclose follows and reschedules */ };
}

function schedule() {
  clearTimeout(timer);
  const base = Math.min(30000, 1000 * 2 ** Math.min(attempt, 5));
  attempt += 1;
  timer = setTimeout(connect, base / 2 + Math.random() * base / 2);
}

function reconnectNow() {
  attempt = 0;
  if (socket) { const ws = socket; socket = null; try { ws.close(); } catch (err) { /* closed */ } }
  connect();
}

function sendPresence() {
  if (socket && socket.readyState === WebSocket.OPEN) {
    try { socket.send(JSON.stringify(presence)); } catch (err) { /* next open sends it */ }
  }
}

// Wake-ups: network back, tab visible again, machine resumed from sleep (a timer ran late).
window.addEventListener("online", () => { if (!socket && !stopped) reconnectNow(); });
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && !socket && !stopped) reconnectNow();
});
setInterval(() => {
  const now = Date.now();
  if (now - lastBeat > 20000 && !stopped) reconnectNow();
  lastBeat = now;
}, 5000);
window.addEventListener("pagehide", () => { stopped = true; if (socket) socket.close(); });

export const live = {
  on(type, fn) {
    if (!handlers.has(type)) handlers.set(type, new Set());
    handlers.get(type).add(fn);
    return () => handlers.get(type).delete(fn);
  },
  /** Tell the others what this page is looking at (presence). */
  here({ song = null, mix = null } = {}) {
    presence = { type: "presence", song, mix };
    sendPresence();
  },
  get lastSeq() { return last; },
  get state() { return body.dataset.live; },
};
window.studioLive = live;

// Who is online: keep [data-presence] lists current from presence frames.
const online = new Map();
for (const el of document.querySelectorAll("#presence-initial")) {
  try {
    for (const entry of JSON.parse(el.textContent)) online.set(entry.user.id, entry);
  } catch (err) { /* empty */ }
}
function renderPresence() {
  for (const el of document.querySelectorAll("[data-presence]")) {
    const scope = el.dataset.presenceMix ? Number(el.dataset.presenceMix) : null;
    const me = Number(body.dataset.userId);
    const people = [...online.values()].filter((e) => (scope == null || e.mix === scope));
    el.replaceChildren();
    if (!people.length) {
      const span = document.createElement("span");
      span.className = "muted small";
      span.textContent = scope == null ? "Nobody else right now." : "Nobody else is listening.";
      el.append(span);
    }
    for (const entry of people) {
      const chip = document.createElement("span");
      chip.className = "row small presence-user";
      chip.dataset.user = entry.user.username;
      chip.style.gap = "4px";
      const av = document.createElement("span");
      av.className = "avatar";
      av.setAttribute("aria-hidden", "true");
      av.textContent = entry.user.username.slice(0, 2);
      chip.append(av, document.createTextNode(entry.user.username + (entry.user.id === me ? " (you)" : "")));
      el.append(chip);
    }
  }
}
// A presence frame is a batch: `full` (the whole roster, sent when this socket connects:
// whoever is not listed is offline) or the users who changed. `at` is when the server read its
// store; a user's state from an older read than the one applied is stale (batches from two
// server processes may cross) and is skipped.
const presenceAt = new Map(); // user id -> `at` of the state applied
function applyPresence(p) {
  const at = Number(p.at) || 0;
  const users = Array.isArray(p.users) ? p.users : [];
  if (p.full) {
    const listed = new Set(users.map((u) => u && u.user && u.user.id));
    for (const id of [...online.keys()]) {
      if (!listed.has(id) && (presenceAt.get(id) || 0) <= at) { online.delete(id); presenceAt.set(id, at); }
    }
  }
  for (const u of users) {
    if (!u || !u.user) continue;
    if ((presenceAt.get(u.user.id) || 0) > at) continue;
    presenceAt.set(u.user.id, at);
    if (u.state === "offline") online.delete(u.user.id);
    else online.set(u.user.id, { user: u.user, song: u.song, mix: u.mix });
  }
}
live.on("presence", (frame) => {
  applyPresence(frame.payload || {});
  renderPresence();
});
live.on("member.removed", (frame) => {
  const m = (frame.payload || {}).member || {};
  if (m.user) { online.delete(m.user.id); renderPresence(); }
});
renderPresence();

const here = document.querySelector("[data-presence-here]");
if (here) presence = { type: "presence", song: Number(here.dataset.song) || null, mix: Number(here.dataset.mix) || null };
connect();
