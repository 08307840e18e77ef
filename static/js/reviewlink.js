// The review link's page (/r/), for a listener with no account (reviewlinks/public.py).
// The token arrives in the fragment (#...), which the browser never sends: it is posted once to
// /r/open/, which answers with an HttpOnly cookie, and the page loads again without it. The
// player reports a play and how far it got; comments post at the player's time.

import WaveSurfer from "wavesurfer";

function csrf(form) {
  return form.querySelector("input[name=csrfmiddlewaretoken]").value;
}

async function post(form, fields) {
  const body = new URLSearchParams(fields);
  return fetch(form.action, {
    method: "POST",
    body,
    credentials: "same-origin",
    headers: { "X-CSRFToken": csrf(form) },
  });
}

async function openFromFragment() {
  const token = location.hash.slice(1);
  const form = document.getElementById("review-open");
  if (!token || !form) return;
  history.replaceState(null, "", location.pathname); // the token leaves the address bar
  document.getElementById("review-opening").hidden = false;
  const response = await post(form, { token });
  document.getElementById("review-opening").hidden = true;
  if (response.status === 204) location.replace(location.pathname);
}

// A colour token as the canvas can take it (the tokens are light-dark() pairs), as player.js.
function css(name) {
  const probe = document.createElement("span");
  probe.style.color = `var(${name})`;
  probe.style.display = "none";
  document.body.append(probe);
  const value = getComputedStyle(probe).color;
  probe.remove();
  return value;
}

// wavesurfer draws the server's peaks at once (it never downloads the file to draw it) and plays
// and seeks the page's own <audio>, whose controls stay for the keyboard.
function waveform(audio, container, peaks) {
  if (!audio || !container) return;
  const data = peaks ? JSON.parse(peaks.textContent) : null;
  const duration = Number(container.dataset.duration) || undefined;
  try {
    WaveSurfer.create({
      container,
      media: audio,
      peaks: data && duration ? data : undefined,
      duration: data ? duration : undefined,
      height: 80,
      waveColor: css("--wave"),
      progressColor: css("--wave-progress"),
      cursorColor: css("--wave-cursor"),
      cursorWidth: 2,
      normalize: true,
      barWidth: 2, barGap: 1, barRadius: 2,
    });
  } catch (err) {
    console.warn("waveform", err);
  }
}

function player() {
  const audio = document.getElementById("review-audio");
  const listen = document.getElementById("review-listen");
  const peaks = document.getElementById("review-peaks");
  waveform(audio, document.getElementById("review-wave"), peaks);
  if (!audio || !listen) return;
  let played = false;
  let reported = 0;
  audio.addEventListener("play", () => {
    if (played) return;
    played = true;
    post(listen, { kind: "play", position: audio.currentTime.toFixed(2) });
  });
  audio.addEventListener("timeupdate", () => {
    if (audio.currentTime - reported < 30) return;
    reported = audio.currentTime;
    post(listen, { kind: "progress", position: audio.currentTime.toFixed(2) });
  });
  audio.addEventListener("pause", () => {
    post(listen, { kind: "progress", position: audio.currentTime.toFixed(2) });
  });
}

function comments() {
  const form = document.getElementById("review-comment");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const audio = document.getElementById("review-audio");
    const body = form.querySelector("textarea[name=body]");
    const error = document.getElementById("review-comment-error");
    const start = audio ? audio.currentTime.toFixed(2) : "0";
    const response = await post(form, { body: body.value, start });
    if (response.ok) {
      document.getElementById("review-comments-box").innerHTML = await response.text();
      body.value = "";
      error.textContent = "";
    } else if (response.status === 400) {
      error.textContent = (await response.json()).detail;
    } else {
      error.textContent = "This link does not work any more.";
    }
  });
}

openFromFragment();
player();
comments();
const section = document.getElementById("review-link");
if (section && section.dataset.ready === "0") setTimeout(() => location.reload(), 3000);
