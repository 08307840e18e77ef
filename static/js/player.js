// player.js: the player island (mix versions, masters; reference tracks as the B side).
//
// Draws the waveform at once from precomputed peaks (never downloads the file to draw it); the
// <audio> elements stream by HTTP Range. The comment list (<li id="comment-N" data-start
// data-end>) is the truth; regions mirror it.
//
// A/B: A is the page's version, B any other version of the song (mix, master or reference
// track: #b-pick changes B's source in place). Loudness-matched by default: the louder side
// plays at min(1, 10^((ref - lufs)/20)) where ref is the quieter side's integrated loudness;
// the figure is shown (#match-figure) and the box turns it off.
//
// Sample-aligned: from the first Play, both elements play together through one Web Audio graph
// (same origin, so not silent), each into its own gain; the unheard side's gain is 0. They are
// started from one seeked position, and the unheard side is kept on the heard side's clock by
// nudging its playbackRate (it is silent, so the nudge is inaudible; it is 1 again before it is
// heard). A switch is a 30 ms crossfade of the two gains: no seek, no gap, the position kept.
// Then "Listen as" (static/js/listen_as.js) sits between the versions and the speakers.
import WaveSurfer from "wavesurfer";
import RegionsPlugin from "wavesurfer/regions";
import { live } from "studio/live";
import { ListenAs, PROFILES } from "studio/listen_as";
import { SECTION_COLOURS, watchSections } from "./sections.js";

const AB_FADE_S = 0.03; // A/B crossfade: no click, and too short to hear both
const ALIGNED_S = 0.004; // closer than this the sides count as one clock (about 180 samples)
const JUMP_S = 0.25; // further apart than this the unheard side is re-seeked, not nudged

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
  const matchFigure = root.querySelector("#match-figure");
  const bPick = root.querySelector("#b-pick");
  const duration = Number(audioA.dataset.duration) || 0;
  const versions = [audioA, audioB].filter(Boolean);
  let active = audioA;
  let ws = null;
  let regions = null;
  let sectionMarks = null; // the song sheet's sections: a regions layer of their own
  let watching = false;
  let graph = null; // {ctx, gains: Map(audio -> GainNode), monitor: ListenAs} after the first Play
  let listenAs = root.dataset.listenAs || "studio";

  const setState = (s) => { root.dataset.state = s; };
  const other = (audio) => (audio === audioA ? audioB : audioA);

  const lufsOf = (audio) => (audio.dataset.lufs === "" || audio.dataset.lufs == null ? NaN : Number(audio.dataset.lufs));

  function matchGain(audio) {
    if (!matchBox || !matchBox.checked || !audioB) return 1;
    const ref = Math.min(lufsOf(audioA), lufsOf(audioB));
    const lufs = lufsOf(audio);
    if (!Number.isFinite(ref) || !Number.isFinite(lufs)) return 1;
    return Math.min(1, 10 ** ((ref - lufs) / 20));
  }

  function showFigure() {
    if (!matchFigure || !audioB) return;
    const a = lufsOf(audioA);
    const b = lufsOf(audioB);
    const nameB = audioB.dataset.label || "B";
    if (!Number.isFinite(a) || !Number.isFinite(b)) {
      matchFigure.textContent = "Loudness not measured yet: both play as they are.";
      matchFigure.dataset.db = "";
      return;
    }
    const diff = b - a; // + : B is louder
    const louder = diff >= 0 ? nameB : audioA.dataset.label || "A";
    const amount = Math.abs(diff).toFixed(1);
    matchFigure.dataset.db = diff.toFixed(2);
    const figures = `A ${a.toFixed(1)} LUFS, B ${b.toFixed(1)} LUFS`;
    if (Math.abs(diff) < 0.05) matchFigure.textContent = `Same loudness (${figures}).`;
    else if (matchBox && matchBox.checked) matchFigure.textContent = `${louder} plays ${amount} dB down to match (${figures}).`;
    else matchFigure.textContent = `Not matched: ${louder} is ${amount} dB louder (${figures}).`;
  }

  // Each version carries the gain it plays at when heard (data-gain), whichever is heard now.
  function applyGain(fade = 0) {
    for (const audio of versions) {
      const g = matchGain(audio);
      audio.dataset.gain = String(g);
      if (graph) {
        audio.volume = 1;
        const node = graph.gains.get(audio).gain;
        const t = graph.ctx.currentTime;
        const to = audio === active ? g : 0;
        node.cancelScheduledValues(t);
        node.setValueAtTime(node.value, t);
        if (fade > 0) node.linearRampToValueAtTime(to, t + fade);
        else node.setValueAtTime(to, t);
      } else {
        audio.volume = g;
        audio.muted = audio !== active;
      }
    }
    showFigure();
  }

  // The Web Audio graph, built once on a user gesture (an AudioContext made earlier starts
  // suspended): version -> its gain -> listen-as monitor -> speakers.
  function ensureGraph() {
    if (graph) { if (graph.ctx.state === "suspended") graph.ctx.resume(); return graph; }
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    try {
      const ctx = new Ctx({ latencyHint: "playback" });
      const monitor = new ListenAs(ctx, {
        onChange: (name) => { root.dataset.listenAs = name; },
        onSettled: (name) => { root.dataset.listenSettled = name; },
      });
      monitor.output.connect(ctx.destination);
      const gains = new Map();
      for (const audio of versions) {
        const source = ctx.createMediaElementSource(audio);
        const gain = ctx.createGain();
        gain.gain.value = 0;
        source.connect(gain).connect(monitor.input);
        gains.set(audio, gain);
        audio.muted = false;
      }
      graph = { ctx, gains, monitor };
      root.dataset.graph = "on";
      applyGain();
      if (listenAs !== "studio") monitor.set(listenAs);
      return graph;
    } catch (err) {
      console.warn("player: Web Audio is not available; A/B without it", err);
      return null;
    }
  }

  function seekTo(audio, t) {
    return new Promise((resolve) => {
      if (Math.abs(audio.currentTime - t) < 0.0005) { resolve(); return; }
      const done = () => { audio.removeEventListener("seeked", done); resolve(); };
      audio.addEventListener("seeked", done);
      audio.currentTime = t;
      setTimeout(done, 2000);
    });
  }

  const playable = (audio, t) => !(Number.isFinite(audio.duration) && t >= audio.duration - 0.05);

  // Start both sides from one position at once: the basis of sample alignment.
  async function playTogether() {
    const t = active.currentTime;
    const rest = other(active);
    if (rest) {
      if (!active.paused) active.pause();
      await Promise.all([seekTo(active, t), seekTo(rest, t)]);
      rest.playbackRate = 1;
    }
    const starts = [active.play()];
    if (rest && graph && playable(rest, t)) starts.push(rest.play().catch((err) => console.warn("player: B", err)));
    await Promise.all(starts);
  }

  // Keep the unheard side on the heard side's clock (only while both play).
  function follow() {
    const rest = audioB ? other(active) : null;
    if (!rest || !graph) return;
    if (active.paused) { if (!rest.paused) rest.pause(); return; }
    if (rest.paused) {
      if (playable(rest, active.currentTime)) { rest.currentTime = active.currentTime; rest.play().catch(() => {}); }
      return;
    }
    const drift = active.currentTime - rest.currentTime; // + : the unheard side is behind
    if (Math.abs(drift) > JUMP_S) { rest.playbackRate = 1; rest.currentTime = active.currentTime + 0.05; return; }
    rest.playbackRate = Math.abs(drift) < ALIGNED_S ? 1 : 1 + Math.max(-0.08, Math.min(0.08, drift * 2));
  }
  setInterval(follow, 100);

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
    // Every seek of the heard side (waveform, keys, buttons, comments) moves the other too.
    audio.addEventListener("seeking", () => {
      const rest = audioB ? other(audio) : null;
      if (audio === active && rest && Math.abs(rest.currentTime - audio.currentTime) > ALIGNED_S) rest.currentTime = audio.currentTime;
    });
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

  // The arrangement's sections as labelled regions (once the sheet has a tempo and a first
  // downbeat), under the comments' regions; they follow the sheet live.
  function drawSections(list) {
    if (!sectionMarks) return;
    try {
      sectionMarks.clearRegions();
      const d = Number(audioA.dataset.duration) || duration || Infinity;
      list.filter((r) => r.start_s < d).forEach((r, i) => {
        const label = document.createElement("span");
        label.className = "section-label";
        label.textContent = r.name;
        label.style.fontSize = "0.72rem";
        label.style.padding = "1px 4px";
        label.style.color = css("--color-text");
        const mark = sectionMarks.addRegion({
          id: `section-region-${r.id}`, start: r.start_s, end: Math.min(r.end_s, d),
          color: SECTION_COLOURS[i % SECTION_COLOURS.length], drag: false, resize: false, content: label,
        });
        // Clicks go through to the waveform (seek where clicked) and to the comments above.
        if (mark && mark.element) mark.element.style.pointerEvents = "none";
      });
      root.dataset.sections = String(sectionMarks.getRegions().length);
    } catch (err) { console.warn("sections", err); }
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
      sectionMarks = RegionsPlugin.create();
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
        plugins: [sectionMarks, regions],
      });
      ws.on("decode", () => {
        mirrorComments();
        if (!watching) { watching = true; watchSections(root.dataset.song || document.querySelector("[data-presence-here]")?.dataset.song, drawSections); }
        setState("ready");
        syncPlayButton();
      });
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
    if (wasPlaying && graph && playable(next, t)) {
      // Both are playing: if the unheard side has slipped, bring it back first (seek it while
      // silent, then nudge); then crossfade the gains. The heard clock never stops.
      if (next.paused || Math.abs(next.currentTime - prev.currentTime) > 0.02) {
        next.playbackRate = 1;
        await seekTo(next, prev.currentTime + 0.03);
        if (next.paused) await next.play().catch(() => {});
        for (let i = 0; i < 20 && Math.abs(next.currentTime - prev.currentTime) > 0.02; i += 1) {
          follow();
          await new Promise((r) => { setTimeout(r, 50); });
        }
      }
      next.playbackRate = 1;
      root.dataset.abOffsetMs = String(Math.round(Math.abs(next.currentTime - prev.currentTime) * 10000) / 10);
      active = next;
      applyGain(AB_FADE_S);
    } else {
      await seekTo(next, t);
      root.dataset.abOffsetMs = String(Math.round(Math.abs(next.currentTime - t) * 10000) / 10);
      active = next;
      applyGain();
      if (wasPlaying) {
        try { await next.play(); } catch (err) { console.warn(err); }
        prev.pause();
      }
    }
    if (ws) ws.setMediaElement(next);
    root.querySelectorAll("[data-ab]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.ab === which)));
    root.dataset.ab = which;
    updateTime();
    syncPlayButton();
  }

  // B is any other version of the song: a new choice changes B's source in place, at the
  // same position, and the loudness match follows B's figure.
  async function pickB(option) {
    if (!audioB || !option) return;
    const wasB = active === audioB;
    const wasPlaying = !active.paused;
    const t = active.currentTime;
    if (!audioB.paused) audioB.pause();
    audioB.src = `/api/assets/${option.dataset.asset}/file/?disposition=inline`;
    for (const key of ["asset", "lufs", "loudness", "duration", "label", "kind"]) {
      audioB.dataset[key] = option.dataset[key] || "";
    }
    root.querySelector('[data-ab="b"]').textContent = option.dataset.label;
    root.dataset.b = option.value;
    await new Promise((resolve) => {
      if (audioB.readyState >= 1) { resolve(); return; }
      const done = () => { audioB.removeEventListener("loadedmetadata", done); resolve(); };
      audioB.addEventListener("loadedmetadata", done);
      setTimeout(done, 5000);
    });
    await seekTo(audioB, Math.min(t, (audioB.duration || t + 1) - 0.05));
    applyGain();
    if (audioB.dataset.loudness !== "measured") refreshLoudness(audioB);
    if (wasPlaying && (graph || wasB)) await audioB.play().catch(() => {});
    updateTime();
  }

  function setListenAs(name) {
    if (!PROFILES[name]) return;
    listenAs = name;
    root.querySelectorAll("[data-listen]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.listen === name)));
    const note = root.querySelector("#listen-note");
    if (note) note.textContent = PROFILES[name].summary || "";
    const g = ensureGraph();
    if (g) g.monitor.set(name);
    else root.dataset.listenAs = name;
  }

  function commentHere() {
    const form = document.getElementById("comment-form");
    if (!form) return;
    form.querySelector("[name=start]").value = clock(active.currentTime);
    const body = form.querySelector("[name=body]");
    body.focus();
  }

  playBtn.addEventListener("click", async () => {
    try {
      if (active.paused) { ensureGraph(); await playTogether(); } else { active.pause(); if (audioB) other(active).pause(); }
    } catch (err) { console.warn(err); }
  });
  root.querySelector("#back5").addEventListener("click", () => { active.currentTime = Math.max(0, active.currentTime - 5); });
  root.querySelector("#fwd5").addEventListener("click", () => { active.currentTime = Math.min(duration, active.currentTime + 5); });
  root.querySelectorAll("[data-ab]").forEach((b) => b.addEventListener("click", () => switchTo(b.dataset.ab)));
  if (matchBox) matchBox.addEventListener("change", () => applyGain(AB_FADE_S));
  if (bPick) bPick.addEventListener("change", () => pickB(bPick.selectedOptions[0]));
  root.querySelectorAll("[data-listen]").forEach((b) => b.addEventListener("click", () => setListenAs(b.dataset.listen)));
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
  window.addEventListener("pagehide", () => {
    if (ws) ws.destroy();
    if (graph) graph.ctx.close().catch(() => {}); // the audio device is released with the page
  });

  live.here({ song: Number(document.querySelector("[data-presence-here]")?.dataset.song) || null, mix: Number(root.dataset.mix) || null });
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
  const pressed = root.querySelector("[data-listen][aria-pressed=true]");
  if (pressed) listenAs = pressed.dataset.listen;
  root.dataset.listenSettled = listenAs;
  window.studioPlayer = {
    get active() { return active; },
    switchTo,
    pickB: (value) => { if (bPick) { bPick.value = value; return pickB(bPick.selectedOptions[0]); } return null; },
    setListenAs,
    get state() { return root.dataset.state; },
    get listenAs() { return graph ? graph.monitor.describe() : { current: listenAs }; },
    response: (hz) => (graph ? graph.monitor.responseDb(hz) : null),
    get offsetMs() { return audioB ? Math.abs(audioA.currentTime - audioB.currentTime) * 1000 : 0; },
  };
  return window.studioPlayer;
}
