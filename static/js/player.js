// player.js: the mix player island.
//
// Draws the waveform at once from precomputed peaks (never downloads the file to draw it); the
// <audio> element streams by HTTP Range. A/B switches between two <audio> elements at the same
// playhead (optionally loudness-matched: volume = min(1, 10^((ref - lufs)/20)), no WebAudio).
// The comment list (<li id="comment-N" data-start data-end>) is the truth; regions mirror it.
import WaveSurfer from "wavesurfer";
import RegionsPlugin from "wavesurfer/regions";
import { live } from "studio/live";

// Canvas cannot read CSS variables (nor light-dark()): resolve a token to a plain colour.
function css(name) {
  const probe = document.createElement("span");
  probe.style.color = `var(${name})`;
  probe.style.display = "none";
  document.body.append(probe);
  const value = getComputedStyle(probe).color;
  probe.remove();
  return value;
}

function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds || 0));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

export function initPlayer(root = document.getElementById("player")) {
  if (!root || root.dataset.init) return null;
  root.dataset.init = "1";
  const container = root.querySelector("#waveform");
  const audioA = root.querySelector("#audio-a");
  const audioB = root.querySelector("#audio-b");
  const playBtn = root.querySelector("#play");
  const timeEl = root.querySelector("#time");
  const matchBox = root.querySelector("#loudness-match");
  const duration = Number(audioA.dataset.duration) || 0;
  const versions = [audioA, audioB].filter(Boolean);
  let active = audioA;
  let ws = null;
  let regions = null;

  const setState = (s) => { root.dataset.state = s; };

  const lufsOf = (audio) => (audio.dataset.lufs === "" || audio.dataset.lufs == null ? NaN : Number(audio.dataset.lufs));

  function volumeFor(audio) {
    if (!matchBox || !matchBox.checked || !audioB) return 1;
    const ref = Math.min(lufsOf(audioA), lufsOf(audioB));
    const lufs = lufsOf(audio);
    if (!Number.isFinite(ref) || !Number.isFinite(lufs)) return 1;
    return Math.min(1, 10 ** ((ref - lufs) / 20));
  }

  // Both versions carry the gain they play at (data-gain), whichever is active.
  function applyGain() {
    for (const audio of versions) {
      audio.volume = volumeFor(audio);
      audio.dataset.gain = String(audio.volume);
    }
  }

  // A version analysed after the page was rendered has no loudness in its markup: it comes
  // with `asset.analyzed` (or, failing that, from the API once the analysis job finished), so
  // the loudness match works without a reload. data-loudness: "pending", then "measured".
  function setLoudness(audio, lufs) {
    audio.dataset.lufs = typeof lufs === "number" && Number.isFinite(lufs) ? String(lufs) : "";
    audio.dataset.loudness = "measured";
    applyGain();
  }

  async function refreshLoudness(audio) {
    try {
      const response = await fetch(`/api/assets/${audio.dataset.asset}/analysis/`, { credentials: "same-origin" });
      if (!response.ok) return; // not analysed yet: the next event asks again
      setLoudness(audio, ((await response.json()).report || {}).integrated_lufs);
    } catch (err) { console.warn("player: fetching the loudness failed", err); }
  }

  // An asset's analysis is in: pick up its loudness, and draw the waveform if it is ours.
  function analysed(assetId) {
    for (const audio of versions) {
      if (String(assetId) === audio.dataset.asset && audio.dataset.loudness !== "measured") refreshLoudness(audio);
    }
    if (root.dataset.state === "analysing" && String(assetId) === root.dataset.asset) {
      document.getElementById("analysing-note")?.remove();
      setState("loading");
      draw();
    }
  }

  function updateTime() {
    const t = active.currentTime || 0;
    const d = Number(active.dataset.duration) || active.duration || duration;
    timeEl.textContent = `${clock(t)} / ${clock(d)}`;
    container.setAttribute("aria-valuenow", String(Math.floor(t)));
    container.setAttribute("aria-valuetext", `${clock(t)} of ${clock(d)}`);
  }

  function syncPlayButton() {
    const playing = !active.paused;
    playBtn.textContent = playing ? "❚❚ Pause" : "▶ Play";
    playBtn.setAttribute("aria-label", playing ? "Pause" : "Play");
    if (root.dataset.state !== "loading" && root.dataset.state !== "error") setState(playing ? "playing" : "paused");
  }

  for (const audio of versions) {
    audio.addEventListener("timeupdate", () => { if (audio === active) updateTime(); });
    audio.addEventListener("play", syncPlayButton);
    audio.addEventListener("pause", syncPlayButton);
    audio.addEventListener("seeked", () => { if (audio === active) updateTime(); });
  }

  function mirrorComments() {
    if (!regions) return;
    try {
      regions.clearRegions();
      for (const li of document.querySelectorAll("#comment-list > li[data-start]")) {
        const start = Number(li.dataset.start);
        const end = li.dataset.end ? Number(li.dataset.end) : undefined;
        const resolved = li.dataset.resolved === "true";
        const color = resolved ? "rgba(128,128,128,0.25)" : (end != null ? css("--region") : css("--marker"));
        regions.addRegion({
          id: li.id, start, end, color, drag: false, resize: false,
          content: end != null ? undefined : "●",
        });
      }
      root.dataset.regions = String(regions.getRegions().length);
    } catch (err) { console.warn("regions", err); }
  }

  async function draw() {
    try {
      // The server chooses the level for our width (about 2 points per CSS pixel) and sends
      // only that one: the choice is written once, there.
      const width = Math.max(1, Math.round(container.clientWidth || 800));
      const url = `${audioA.dataset.peaksUrl}?width=${width}`;
      const response = await fetch(url, { credentials: "same-origin" });
      if (response.status === 409) { setState("analysing"); return; }
      if (!response.ok) throw new Error(`peaks ${response.status}`);
      const body = await response.json();
      const level = ((body.peaks && body.peaks.levels) || [])[0];
      regions = RegionsPlugin.create();
      ws = WaveSurfer.create({
        container,
        media: audioA,
        peaks: level ? level.data : undefined,
        duration: duration || undefined,
        height: 128,
        waveColor: css("--wave"),
        progressColor: css("--wave-progress"),
        cursorColor: css("--wave-cursor"),
        cursorWidth: 2,
        normalize: true,
        barWidth: 2, barGap: 1, barRadius: 2,
        plugins: [regions],
      });
      ws.on("decode", () => { mirrorComments(); setState("ready"); syncPlayButton(); });
      ws.on("error", (err) => console.warn("waveform", err));
      regions.on("region-clicked", (region, event) => {
        event.stopPropagation();
        active.currentTime = region.start;
        const li = document.getElementById(region.id);
        if (li) {
          document.querySelectorAll(".comment.focused").forEach((el) => el.classList.remove("focused"));
          li.classList.add("focused");
          li.focus();
        }
      });
      audioA.controls = false;
    } catch (err) {
      console.warn("player: drawing the waveform failed", err);
      setState("error");
    }
  }

  async function switchTo(which) {
    if (!audioB) return;
    const next = which === "b" ? audioB : audioA;
    if (next === active) return;
    const prev = active;
    const wasPlaying = !prev.paused;
    const t = prev.currentTime;
    applyGain();
    if (Math.abs(next.currentTime - t) > 0.01) {
      await new Promise((resolve) => {
        const done = () => { next.removeEventListener("seeked", done); resolve(); };
        next.addEventListener("seeked", done);
        next.currentTime = t;
        setTimeout(done, 1500);
      });
    }
    active = next;
    if (ws) ws.setMediaElement(next);
    if (wasPlaying) { try { await next.play(); } catch (err) { console.warn(err); } }
    prev.pause();
    root.querySelectorAll("[data-ab]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.ab === which)));
    root.dataset.ab = which;
    updateTime();
    syncPlayButton();
  }

  function commentHere() {
    const form = document.getElementById("comment-form");
    if (!form) return;
    form.querySelector("[name=start]").value = clock(active.currentTime);
    const body = form.querySelector("[name=body]");
    body.focus();
  }

  playBtn.addEventListener("click", async () => {
    try { if (active.paused) await active.play(); else active.pause(); } catch (err) { console.warn(err); }
  });
  root.querySelector("#back5").addEventListener("click", () => { active.currentTime = Math.max(0, active.currentTime - 5); });
  root.querySelector("#fwd5").addEventListener("click", () => { active.currentTime = Math.min(duration, active.currentTime + 5); });
  root.querySelectorAll("[data-ab]").forEach((b) => b.addEventListener("click", () => switchTo(b.dataset.ab)));
  if (matchBox) matchBox.addEventListener("change", applyGain);
  const here = root.querySelector("#comment-here");
  if (here) here.addEventListener("click", commentHere);
  const help = document.getElementById("help");
  const helpOpen = document.getElementById("help-open");
  if (helpOpen && help) helpOpen.addEventListener("click", () => help.showModal());

  // Keys (ignored in fields and with modifiers), like NetBox's hotkeys.
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    if (t && t.tagName === "BUTTON" && (e.key === " " || e.key === "Enter")) return;
    const d = Number(active.dataset.duration) || duration;
    switch (e.key) {
      case " ": e.preventDefault(); playBtn.click(); break;
      case "ArrowLeft": e.preventDefault(); active.currentTime = Math.max(0, active.currentTime - 5); break;
      case "ArrowRight": e.preventDefault(); active.currentTime = Math.min(d, active.currentTime + 5); break;
      case "Home": e.preventDefault(); active.currentTime = 0; break;
      case "End": e.preventDefault(); active.currentTime = Math.max(0, d - 0.05); break;
      case "x": case "X": if (audioB) { e.preventDefault(); switchTo(active === audioA ? "b" : "a"); } break;
      case "c": case "C": e.preventDefault(); commentHere(); break;
      case "?": if (help) { e.preventDefault(); help.showModal(); } break;
      default: break;
    }
  });

  // Seek buttons in the comment list; regions follow the list after every swap.
  document.addEventListener("click", (e) => {
    const b = e.target.closest("[data-seek]");
    if (!b) return;
    active.currentTime = Number(b.dataset.seek);
    container.focus();
  });
  document.body.addEventListener("htmx:afterSettle", (e) => {
    if (e.target && (e.target.id === "comments" || e.target.closest?.("#comments"))) mirrorComments();
  });
  document.body.addEventListener("studio:theme-changed", () => {
    if (ws) ws.setOptions({ waveColor: css("--wave"), progressColor: css("--wave-progress"), cursorColor: css("--wave-cursor") });
    mirrorComments();
  });
  window.addEventListener("pagehide", () => { if (ws) ws.destroy(); });

  live.here({ song: Number(document.querySelector("[data-presence-here]")?.dataset.song) || null, mix: Number(root.dataset.mix) });
  live.on("asset.analyzed", (frame) => {
    const p = frame.payload || {};
    const id = (p.asset || {}).id;
    for (const audio of versions) {
      if (id != null && String(id) === audio.dataset.asset) setLoudness(audio, p.integrated_lufs);
    }
    if (id != null) analysed(id);
  });
  live.on("job.finished", (frame) => {
    const job = (frame.payload || {}).job || {};
    if (job.asset != null) analysed(job.asset);
  });
  // After a gap the events are gone: ask whether a pending version was analysed meanwhile.
  function askPending() {
    for (const audio of versions) {
      if (audio.dataset.loudness === "measured") continue;
      fetch(`/api/assets/${audio.dataset.asset}/`, { credentials: "same-origin" })
        .then((r) => (r.ok ? r.json() : null))
        .then((asset) => { if (asset && asset.has_analysis) analysed(asset.id); })
        .catch((err) => console.warn("player: resync", err));
    }
  }
  live.on("resync", askPending);
  // The socket may have replayed `asset.analyzed` while this module was still loading, before
  // the handlers above existed: ask once now.
  if (root.dataset.state === "analysing") askPending();

  updateTime();
  applyGain();
  if (root.dataset.state !== "analysing") draw(); // peaks exist: draw at once
  window.studioPlayer = { get active() { return active; }, switchTo, get state() { return root.dataset.state; } };
  return window.studioPlayer;
}
