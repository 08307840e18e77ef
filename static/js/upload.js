// upload.js: resumable uploads with tus-js-client (window.tus, vendored, loaded deferred).
//
// One row per file (name, <progress>, percent, data-state, Pause, Cancel). Uploads resume after
// a dropped connection (restart on `online`) and after a reload (same file -> same fingerprint of
// user, song, kind, name, size, lastModified -> resumeFromPreviousUpload). The completing PATCH
// carries Studio-Asset-Id / Studio-Job-Id; the row then follows the analysis job live
// (job.progress frames, then job.finished) and shows the waveform.
//
// A file identical to one the song already has (Studio-Upload-State: held) is not added
// silently: the row says what it is identical to ("mix2.wav is identical to Mix 1.") and offers
// to add it anyway (POST /api/uploads/<id>/confirm/) or cancel (POST .../cancel/).
import { live } from "studio/live";

const MAX_PARALLEL = 2;
const RETRY = [0, 1000, 2000, 4000, 8000, 15000, 30000];

function human(n) {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MB`;
  if (n >= 1 << 10) return `${Math.round(n / (1 << 10))} kB`;
  return `${n} B`;
}

function detailOf(err) {
  const res = err && err.originalResponse;
  if (res) {
    try {
      const body = JSON.parse(res.getBody() || "{}");
      if (body.detail) return body.detail;
    } catch (e) { /* not JSON */ }
    return `the server answered ${res.getStatus()}`;
  }
  return navigator.onLine ? "the connection failed; retrying" : "offline; waiting for the network";
}

function setState(li, state) {
  if (li.dataset.state === state) return;
  li.dataset.state = state;
  const seen = li.dataset.history ? li.dataset.history.split(" ") : [];
  seen.push(state);
  li.dataset.history = seen.join(" ");
}

export function initUploads(panel = document.querySelector("[data-upload]")) {
  if (!panel || panel.dataset.init || !window.tus) return;
  panel.dataset.init = "1";
  const input = panel.querySelector("input[type=file]");
  const zone = panel.querySelector(".dropzone");
  const rowsEl = panel.querySelector("#upload-rows");
  const resumeEl = panel.querySelector("#upload-resume");
  const csrf = document.body.dataset.csrf;
  const jobs = new Map(); // job id -> row controller
  const queue = [];
  let running = 0;

  function fingerprint(file, kind) {
    return Promise.resolve(["studio", panel.dataset.user, panel.dataset.song, kind, file.name, file.size, file.lastModified].join(":"));
  }

  function makeRow(file) {
    const li = document.createElement("li");
    li.className = "upload-row";
    setState(li, "queued");
    li.innerHTML = `<span class="name"></span><span class="row"><button type="button" class="btn-small" data-act="pause">Pause</button><button type="button" class="btn-small btn-danger" data-act="cancel">Cancel</button></span><progress max="100" value="0"></progress><span class="status" role="status"></span><div class="result" style="grid-column:1/-1"></div>`;
    li.querySelector(".name").textContent = `${file.name} · ${human(file.size)}`;
    li.querySelector("progress").setAttribute("aria-label", `Upload of ${file.name}`);
    rowsEl.prepend(li);
    return li;
  }

  function startNext() {
    while (running < MAX_PARALLEL && queue.length) {
      const job = queue.shift();
      running += 1;
      job();
    }
  }

  function uploadFile(file) {
    const kind = panel.querySelector("[name=kind]").value;
    const label = panel.querySelector("[name=label]").value.trim();
    const li = makeRow(file);
    const bar = li.querySelector("progress");
    const status = li.querySelector(".status");
    const pauseBtn = li.querySelector("[data-act=pause]");
    const cancelBtn = li.querySelector("[data-act=cancel]");
    let best = 0; // the bar never jumps back
    let finished = false;
    let paused = false;
    const set = (state, text) => { setState(li, state); status.textContent = text; };
    const metadata = { filename: file.name, filetype: file.type || "audio/wav", project: panel.dataset.project, song: panel.dataset.song, kind };
    if (label) metadata[kind === "take" ? "part" : kind === "stem" ? "instrument" : "note"] = label;
    if (kind === "take" && !label) metadata.part = "take";
    // A reference track is a plain asset of the project (no song, no kind): the master page
    // then registers it with POST /api/references/, so it is never a stem, take or mix.
    if (kind === "reference") { delete metadata.kind; delete metadata.song; delete metadata.note; }

    const upload = new window.tus.Upload(file, {
      endpoint: panel.dataset.endpoint,
      chunkSize: Number(panel.dataset.chunkSize) || 8 * 1024 * 1024,
      retryDelays: RETRY,
      headers: { "X-CSRFToken": csrf },
      metadata,
      removeFingerprintOnSuccess: true,
      storeFingerprintForResuming: true,
      fingerprint: (f) => fingerprint(f, kind),
      onShouldRetry(err) {
        const s = err.originalResponse ? err.originalResponse.getStatus() : 0;
        if ([403, 404, 413, 415, 422, 460].includes(s)) return false;
        if (s === 0 || s === 409 || s === 423 || s === 429 || s >= 500) return navigator.onLine;
        return false;
      },
      onProgress(sent, total) {
        const pct = total ? Math.floor((sent / total) * 100) : 0;
        best = Math.max(best, pct);
        bar.value = best;
        set("uploading", `Uploading… ${best}% (${human(sent)} of ${human(total)})`);
      },
      onChunkComplete(_size, sent, total) {
        li.dataset.offset = String(sent);
        li.dataset.chunks = String((Number(li.dataset.chunks) || 0) + 1);
        if (sent < total) panel.dispatchEvent(new CustomEvent("upload:chunk", { detail: { sent, total } }));
      },
      onError(err) {
        if (finished) return;
        if (!navigator.onLine) {
          set("offline", "Connection lost; the upload resumes when you are back online.");
          return;
        }
        const status = err && err.originalResponse ? err.originalResponse.getStatus() : 0;
        li.dataset.error = `${status} ${detailOf(err)}`;
        set("error", `Upload failed: ${detailOf(err)}`);
        pauseBtn.hidden = true;
        running -= 1; startNext();
      },
      onSuccess(payload) {
        finished = true;
        running -= 1; startNext();
        bar.value = 100;
        pauseBtn.hidden = true; cancelBtn.hidden = true;
        const res = payload && payload.lastResponse;
        const assetId = res && res.getHeader("Studio-Asset-Id");
        const jobId = res && res.getHeader("Studio-Job-Id");
        li.dataset.asset = assetId || "";
        li.dataset.job = jobId || "";
        if (res && res.getHeader("Studio-Upload-State") === "held") { showHeld(li, upload.url, kind); return; }
        if (!jobId) { set("done", "Uploaded."); showResult(li, assetId); return; }
        followJob(li, Number(jobId), Number(assetId));
      },
    });

    const go = () => {
      set("uploading", "Starting…");
      upload.findPreviousUploads().then((previous) => {
        if (previous.length) {
          upload.resumeFromPreviousUpload(previous[0]);
          set("uploading", "Resuming where it stopped…");
        }
        upload.start();
      }).catch(() => upload.start());
    };
    window.addEventListener("online", () => {
      if (!finished && !paused && li.dataset.state === "offline") { set("uploading", "Back online: resuming…"); upload.start(); }
    });
    pauseBtn.addEventListener("click", () => {
      if (!paused) { paused = true; upload.abort(); pauseBtn.textContent = "Resume"; set("paused", "Paused."); }
      else { paused = false; pauseBtn.textContent = "Pause"; set("uploading", "Resuming…"); upload.start(); }
    });
    cancelBtn.addEventListener("click", () => {
      finished = true;
      upload.abort(true).catch(() => {});
      set("cancelled", "Cancelled.");
      pauseBtn.hidden = true; cancelBtn.hidden = true;
      running -= 1; startNext();
    });
    queue.push(go);
    startNext();
  }

  function followJob(li, jobId, assetId) {
    const bar = li.querySelector("progress");
    const status = li.querySelector(".status");
    setState(li, "analysing");
    bar.value = 0;
    bar.classList.add("job");
    status.textContent = "Uploaded. Analysing…";
    const ctl = {
      progress(p) {
        const pct = Math.floor(Math.max(0, Math.min(1, p)) * 100);
        if (pct >= Number(bar.value)) bar.value = pct;
        li.dataset.jobProgress = String(pct);
        status.textContent = `Analysing… ${pct}%`;
      },
      done() { jobs.delete(jobId); setState(li, "done"); bar.value = 100; status.textContent = "Ready."; showResult(li, assetId); },
      failed(msg) { jobs.delete(jobId); setState(li, "error"); status.textContent = `Analysis failed: ${msg || "unknown error"}`; },
    };
    jobs.set(jobId, ctl);
    // Subscribed first, then read the job's state: a job that finished meanwhile is not missed.
    fetch(`/api/jobs/${jobId}/`, { credentials: "same-origin" }).then((r) => (r.ok ? r.json() : null)).then((job) => {
      if (!job || !jobs.has(jobId)) return;
      if (job.state === "done") ctl.done();
      else if (job.state === "failed") ctl.failed(job.error);
      else ctl.progress(job.progress || 0);
    }).catch(() => {});
  }

  async function decide(url, method = "POST") {
    const response = await fetch(url, { method, credentials: "same-origin", headers: { "X-CSRFToken": csrf, Accept: "application/json" } });
    const body = response.status === 204 ? {} : await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.detail || `the server answered ${response.status}`);
    return body;
  }

  function showHeld(li, uploadUrl, kind) {
    const status = li.querySelector(".status");
    const target = li.querySelector(".result");
    const base = new URL(uploadUrl, window.location.href).pathname.replace(/\/?$/, "/");
    setState(li, "held");
    status.textContent = "Uploaded. Checking it against the song…";
    decide(`${base}duplicate/`, "GET").then((held) => {
      li.dataset.identicalTo = `${held.identical_to.type}:${held.identical_to.id}`;
      status.textContent = `${held.detail} Add it anyway?`;
      target.innerHTML = `<span class="row"><button type="button" class="btn-small btn-primary" data-act="confirm"></button><button type="button" class="btn-small" data-act="drop">Cancel</button></span>`;
      const confirmBtn = target.querySelector("[data-act=confirm]");
      confirmBtn.textContent = kind === "mix" ? "Add as a new mix version" : `Add as a new ${kind}`;
      const buttons = target.querySelectorAll("button");
      const busy = (on) => buttons.forEach((b) => { b.disabled = on; });
      confirmBtn.addEventListener("click", () => {
        busy(true);
        decide(`${base}confirm/`).then((done) => {
          target.textContent = "";
          li.dataset.asset = String(done.asset || "");
          li.dataset.job = String(done.job || "");
          if (done.job) followJob(li, Number(done.job), Number(done.asset));
          else { setState(li, "done"); status.textContent = "Added."; showResult(li, done.asset); }
        }).catch((err) => { busy(false); status.textContent = `Could not add it: ${err.message}`; });
      });
      target.querySelector("[data-act=drop]").addEventListener("click", () => {
        busy(true);
        decide(`${base}cancel/`).then(() => {
          setState(li, "cancelled");
          target.textContent = "";
          status.textContent = "Cancelled: nothing was added.";
        }).catch((err) => { busy(false); status.textContent = `Could not cancel: ${err.message}`; });
      });
    }).catch((err) => { setState(li, "error"); status.textContent = `Upload failed: ${err.message}`; });
  }

  function showResult(li, assetId) {
    if (!assetId) return;
    const target = li.querySelector(".result");
    const url = `/assets/${assetId}/preview/`;
    if (window.htmx) window.htmx.ajax("GET", url, { target, swap: "innerHTML" });
  }

  live.on("job.progress", (frame) => {
    const p = frame.payload || {};
    const ctl = jobs.get(Number(p.job));
    if (ctl) ctl.progress(p.progress);
  });
  live.on("job.finished", (frame) => {
    const job = (frame.payload || {}).job || {};
    const ctl = jobs.get(Number(job.id));
    if (ctl) ctl.done();
  });
  live.on("job.failed", (frame) => {
    const job = (frame.payload || {}).job || {};
    const ctl = jobs.get(Number(job.id));
    if (ctl) ctl.failed(job.error);
  });

  input.addEventListener("change", () => {
    for (const file of input.files) uploadFile(file);
    input.value = "";
    resumeEl.hidden = true;
  });
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    for (const file of e.dataTransfer.files) uploadFile(file);
  });

  // After a reload: name the unfinished uploads of this song and ask for the same files.
  const store = window.tus.defaultOptions && window.tus.defaultOptions.urlStorage;
  if (store && store.findAllUploads) {
    store.findAllUploads().then((all) => {
      const mine = all.filter((u) => String(u.metadata && u.metadata.song) === panel.dataset.song);
      if (!mine.length) return;
      const names = [...new Set(mine.map((u) => u.metadata.filename))].join(", ");
      resumeEl.textContent = `Unfinished upload${mine.length > 1 ? "s" : ""}: ${names}. Choose the same file${mine.length > 1 ? "s" : ""} again to resume where it stopped.`;
      resumeEl.hidden = false;
    }).catch(() => {});
  }
  window.studioUploads = { jobs };
}
