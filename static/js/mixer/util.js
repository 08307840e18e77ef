// mixer/util.js: the mixer's small pure helpers (DOM building, number formats, JSON paths,
// the three-way merge of a save that crossed someone else's).

export const FLOOR_DB = -144;

export function csrf() { return document.body.dataset.csrf || ""; }

export async function api(method, url, body, headers = {}) {
  const init = { method, credentials: "same-origin", headers: { "X-CSRFToken": csrf(), ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  let data = null;
  const type = response.headers.get("Content-Type") || "";
  if (type.includes("json")) { try { data = await response.json(); } catch (err) { data = null; } }
  return { response, data };
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) if (c != null) node.append(c);
  return node;
}

export function clock(seconds, tenths = false) {
  const s = Math.max(0, seconds || 0);
  const m = Math.floor(s / 60);
  const rest = s - m * 60;
  return tenths ? `${m}:${rest.toFixed(1).padStart(4, "0")}` : `${m}:${String(Math.floor(rest)).padStart(2, "0")}`;
}

export function dbText(v) {
  if (v == null || !Number.isFinite(v)) return "–";
  if (v <= FLOOR_DB) return "−∞";
  return `${v > 0 ? "+" : ""}${v.toFixed(1)}`;
}

export function panText(p) {
  if (Math.abs(p) < 0.005) return "C";
  return `${p < 0 ? "L" : "R"}${Math.round(Math.abs(p) * 100)}`;
}

export function words(name) {
  return name.replace(/_(hz|db|ms)$/i, (m, u) => ` (${{ hz: "Hz", db: "dB", ms: "ms" }[u.toLowerCase()]})`)
    .replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
}

export function round(v, step) {
  const digits = Math.max(0, Math.ceil(-Math.log10(step)));
  return Number(v.toFixed(digits));
}

export function clamp(v, lo, hi) { return Math.max(lo, Math.min(hi, v)); }

// A control's element id from its JSON path: "tracks[2].fx[0].q" -> "c-tracks-2-fx-0-q".
export function idOf(path) {
  return `c-${path.replace(/\[(\d+)\]/g, "-$1").replace(/[^a-z0-9]+/gi, "-").replace(/-$/, "")}`;
}

export function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }

// A three-way merge of JSON values: what we changed since `base` goes onto `theirs` (what
// someone else saved meanwhile), field by field; where both changed the same field, ours wins
// (it is the newer gesture) and `clash` says so. Arrays that changed length (an effect added
// or removed) are merged whole.
export function merge(base, ours, theirs, clash = { any: false }) {
  if (same(ours, base)) return theirs;
  if (same(theirs, base) || same(ours, theirs)) return ours;
  const objects = [base, ours, theirs].every((v) => v && typeof v === "object");
  if (objects) {
    const arrays = [base, ours, theirs].map(Array.isArray);
    if (arrays.every(Boolean) && base.length === ours.length && base.length === theirs.length) {
      return ours.map((v, i) => merge(base[i], v, theirs[i], clash));
    }
    if (!arrays.some(Boolean)) {
      const out = {};
      for (const key of new Set([...Object.keys(theirs), ...Object.keys(ours)])) {
        const value = merge(base[key], ours[key], theirs[key], clash);
        if (value !== undefined) out[key] = value;
      }
      return out;
    }
  }
  clash.any = true;
  return ours;
}

export function stepFor(lo, hi) {
  const span = hi - lo;
  if (span <= 2) return 0.01;
  if (span <= 40) return 0.1;
  if (span <= 2000) return 1;
  return 10;
}

// The channel a strip path names: "tracks[2]" -> spec.tracks[2], "master" -> spec.master.
export function at(s, base) {
  if (base === "master") return s.master;
  const m = /^(tracks|buses)\[(\d+)\]$/.exec(base);
  return s[m[1]][Number(m[2])];
}

// --- routing -------------------------------------------------------------------------------
// Buses a channel feeds: its output (unless master), then its sends' buses (as the engine).
export function destinations(ch) {
  const out = ch.output && ch.output !== "master" ? [ch.output] : [];
  return out.concat((ch.sends || []).map((s) => s.bus).filter((b) => !out.includes(b)));
}

// If channel `from` (a bus id, or a track id) were to feed bus `to`, the loop it would close
// (["verb", "room", "verb"]), or null. Only buses feed buses, so a track never closes one.
export function loopIf(spec, from, to) {
  const buses = new Map((spec.buses || []).map((b) => [b.id, b]));
  if (!buses.has(from) || !buses.has(to)) return null;
  if (from === to) return [from, from];
  const seen = new Set();
  const walk = (bus, path) => {
    if (bus === from) return [...path, bus];
    if (seen.has(bus)) return null;
    seen.add(bus);
    for (const next of destinations(buses.get(bus) || {})) {
      const found = buses.has(next) ? walk(next, [...path, bus]) : null;
      if (found) return found;
    }
    return null;
  };
  const found = walk(to, []);
  return found ? [from, ...found] : null;
}

export const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
