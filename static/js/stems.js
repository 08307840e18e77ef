// stems.js: the song page's compact player for stems and takes.
//
// Each row (templates/audio/_compact_player.html) has Play/Pause, a position bar and the time.
// The <audio> elements live here, keyed by the row's data-compact ("stem:12", "take:3"), never
// in the list: the list is refetched by htmx whenever something changes in the project, and a
// stem being auditioned must not stop because somebody else uploaded a take. After every swap
// the rows are drawn again from these players. Audio streams from the file endpoint with Range
// (?disposition=inline: playing is open to every member, downloading may not be).
//
// Solo (on by default): playing one row pauses the others, so an engineer hears a take alone.
// Off, rows play together (each from its own position).

const players = new Map(); // key -> HTMLAudioElement
let solo = true;

function clock(seconds) {
  const s = Math.max(0, Math.floor(Number(seconds) || 0));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function rowFor(key) {
  return document.querySelector(`[data-compact="${CSS.escape(key)}"]`);
}

function duration(row, audio) {
  const d = audio && Number.isFinite(audio.duration) && audio.duration > 0 ? audio.duration : 0;
  return d || Number(row.dataset.duration) || 0;
}

function draw(key) {
  const row = rowFor(key);
  const audio = players.get(key);
  if (!row) return;
  const playing = Boolean(audio && !audio.paused && !audio.ended);
  const state = audio && audio.error ? "error" : playing ? "playing" : "paused";
  row.dataset.state = state;
  const button = row.querySelector("[data-compact-play]");
  const label = row.dataset.label || "this file";
  button.textContent = playing ? "❚❚ Pause" : "▶ Play";
  button.setAttribute("aria-pressed", playing ? "true" : "false");
  button.setAttribute("aria-label", `${playing ? "Pause" : "Play"} ${label}`);
  const at = audio ? audio.currentTime : 0;
  const total = duration(row, audio);
  const seek = row.querySelector("[data-compact-seek]");
  if (total) seek.max = String(total);
  if (!row.dataset.dragging) seek.value = String(at);
  seek.setAttribute("aria-valuetext", `${clock(at)} of ${clock(total)}`);
  row.dataset.position = at.toFixed(2);
  row.querySelector("[data-compact-time]").textContent =
    state === "error" ? "Could not play this file" : `${clock(at)} / ${clock(total)}`;
}

function playerFor(key) {
  let audio = players.get(key);
  if (audio) return audio;
  const row = rowFor(key);
  audio = new Audio();
  audio.preload = "metadata";
  audio.src = row.dataset.src;
  for (const type of ["play", "pause", "timeupdate", "loadedmetadata", "ended", "error", "seeked"]) {
    audio.addEventListener(type, () => draw(key));
  }
  audio.addEventListener("ended", () => { audio.currentTime = 0; });
  players.set(key, audio);
  return audio;
}

function pauseOthers(key) {
  for (const [other, audio] of players) {
    if (other !== key && !audio.paused) audio.pause();
  }
}

function toggle(key) {
  const audio = playerFor(key);
  if (audio.paused || audio.ended) {
    if (solo) pauseOthers(key);
    audio.play().catch(() => draw(key)); // refused (no gesture, bad file): the row says so
  } else {
    audio.pause();
  }
  draw(key);
}

function redrawAll() {
  for (const box of document.querySelectorAll("[data-compact-solo]")) box.checked = solo;
  for (const row of document.querySelectorAll("[data-compact]")) draw(row.dataset.compact);
}

export function initStems() {
  if (window.studioStems) return;
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-compact-play]");
    if (!button) return;
    const row = button.closest("[data-compact]");
    if (row) toggle(row.dataset.compact);
  });
  document.addEventListener("input", (event) => {
    const seek = event.target.closest("[data-compact-seek]");
    if (!seek) return;
    const row = seek.closest("[data-compact]");
    const key = row.dataset.compact;
    const audio = playerFor(key);
    audio.currentTime = Number(seek.value) || 0;
    draw(key);
  });
  document.addEventListener("pointerdown", (event) => {
    const row = event.target.closest("[data-compact-seek]") && event.target.closest("[data-compact]");
    if (row) row.dataset.dragging = "1";
  });
  document.addEventListener("pointerup", () => {
    for (const row of document.querySelectorAll("[data-compact][data-dragging]")) delete row.dataset.dragging;
  });
  document.addEventListener("change", (event) => {
    const box = event.target.closest("[data-compact-solo]");
    if (!box) return;
    solo = box.checked;
    if (solo) {
      // Keep the one heard last (the first playing one found), stop the rest.
      const playing = [...players].filter(([, a]) => !a.paused);
      for (const [key, audio] of playing.slice(1)) { audio.pause(); draw(key); }
    }
    redrawAll();
  });
  document.body.addEventListener("htmx:afterSettle", redrawAll);
  redrawAll();
  window.studioStems = { players, get solo() { return solo; } };
}

initStems();
