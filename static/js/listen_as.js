// listen_as.js: "Listen as" for the player: the version heard through a simulated playback
// system (studio monitors, headphones, earbuds, phone speaker, laptop speakers, car).
//
// Each system is an EQ curve with band limits, written below as data with the reason for each
// figure. They are typical shapes, not a model of one product: enough to hear whether the bass
// line survives a phone, whether the vocal gets harsh on earbuds, whether the low end booms in
// a car. Levels are relative to the flat monitors; `trim_db` keeps each system's loudness near
// the flat one's so that a switch compares tone, not level.
//
// The graph is built once and always connected: two identical slots run side by side, one
// heard and one silent. Choosing a system configures the silent slot, then crossfades the two
// slots' gains with linear ramps (equal gain: both slots carry the same, correlated signal, so
// the sum stays at full level): no gap, no click, no reconnection. A second choice during a
// fade waits for the fade to end.
//
// One slot, in order:
//   downmix (GainNode; 1 channel with "speakers" interpretation = mono sum (L+R)/2, else 2)
//   hp1, hp2    high-pass pair: 4th-order Butterworth (Q 0.541 and 1.307), the low band limit
//   lowshelf, peak1, peak2, peak3, highshelf: the system's colour
//   lp1, lp2    low-pass pair: 4th-order Butterworth, the high band limit
//   dry + (convolver -> wet): the room (only the car has one: a short synthetic response)
//   level       trim x crossfade

export const FADE_S = 0.06; // crossfade length: short enough to feel instant, long enough not to click

// Butterworth 4th order as two biquads: Q = 1 / (2 cos(pi/8)) and 1 / (2 cos(3 pi/8)).
const BW4 = [0.5412, 1.3066];
const FLAT_LOW = 10; // Hz: the flat monitors' high-pass sits below anything audible
const FLAT_HIGH = 22000; // Hz: clamped under Nyquist when built

// A peak with gain 0 dB is a wire; `none` fills unused slots.
const none = { hz: 1000, q: 1, db: 0 };

export const PROFILES = {
  studio: {
    label: "Studio monitors",
    summary: "Flat, full band, stereo: the mix as it is.",
    // The reference: what the mix is, full band (20 Hz to 20 kHz), no colour, stereo.
    mono: false,
    low_hz: FLAT_LOW,
    high_hz: FLAT_HIGH,
    lowshelf: { hz: 100, db: 0 },
    peaks: [none, none, none],
    highshelf: { hz: 8000, db: 0 },
    room: 0,
    trim_db: 0,
  },
  headphones: {
    label: "Headphones",
    summary: "Closed-back over-ears: +4 dB bass shelf, a lift at 8.5 kHz, 12 Hz to 20 kHz.",
    // Closed-back over-ears, after the shape of the Harman over-ear target relative to flat
    // speakers: a bass shelf of about +4 dB below ~105 Hz (what listeners prefer on
    // headphones, and how most consumer models are voiced), a mild ear-gain lift near 3 kHz,
    // the typical cup resonance near 8.5 kHz that makes sibilance stand out, and a gentle
    // roll-off at the very top. They reach very low (sealed cups), so the low limit is 12 Hz.
    mono: false,
    low_hz: 12,
    high_hz: 20000,
    lowshelf: { hz: 105, db: 4 },
    peaks: [
      { hz: 3000, q: 1.0, db: 1.5 },
      { hz: 8500, q: 3.0, db: 2.5 },
      none,
    ],
    highshelf: { hz: 14000, db: -2 },
    room: 0,
    trim_db: -1.5,
  },
  earbuds: {
    label: "Earbuds",
    summary: "Unsealed earbuds: no bass under 110 Hz, a forward 2.8 kHz, little above 13 kHz.",
    // Unsealed earbuds (the kind that come with a phone): without a seal the bass leaks out,
    // so the response falls below ~110 Hz; a small bump just above that from the vent; a
    // forward 2.8 kHz region (the tiny driver's resonance sits near the ear canal's) that
    // makes harsh vocals harsher; little air above ~13 kHz.
    mono: false,
    low_hz: 110,
    high_hz: 13000,
    lowshelf: { hz: 200, db: 2 },
    peaks: [
      { hz: 2800, q: 1.2, db: 4 },
      { hz: 6000, q: 2.0, db: -2 },
      none,
    ],
    highshelf: { hz: 10000, db: -2 },
    room: 0,
    trim_db: -2,
  },
  phone: {
    label: "Phone speaker",
    summary: "Phone speaker: mono sum, 350 Hz to 10 kHz, peaks at 1 and 4 kHz.",
    // One micro-speaker (about 1 x 1.5 cm) in a sealed back volume, played in mono: the
    // channels are summed ((L+R)/2), so anything out of phase between them disappears, as it
    // does on a phone. Its resonance, near 800 Hz to 1 kHz, is the practical low limit; phones
    // add a steep protective high-pass around 350 Hz, so the bass line survives only through
    // its harmonics. A lift at the resonance and a grille/port peak near 4 kHz; the top ends
    // near 10 kHz.
    mono: true,
    low_hz: 350,
    high_hz: 10000,
    lowshelf: { hz: 500, db: 0 },
    peaks: [
      { hz: 1000, q: 1.0, db: 3 },
      { hz: 4000, q: 2.0, db: 4 },
      none,
    ],
    highshelf: { hz: 8000, db: -2 },
    room: 0,
    trim_db: -4,
  },
  laptop: {
    label: "Laptop speakers",
    summary: "Laptop speakers: nothing under 180 Hz, boxy 600 Hz, dull top.",
    // Two small drivers (about 2 cm) firing down or sideways from a thin chassis: nothing below
    // ~180 Hz; the manufacturers' "virtual bass" bump just above the limit; a boxy chassis
    // resonance near 600 Hz; a dip near 3 kHz where the table absorbs the down-firing sound;
    // dull highs above ~10 kHz (off-axis). Stereo, but narrow.
    mono: false,
    low_hz: 180,
    high_hz: 16000,
    lowshelf: { hz: 300, db: 0 },
    peaks: [
      { hz: 250, q: 1.4, db: 3 },
      { hz: 600, q: 2.0, db: 2 },
      { hz: 3000, q: 1.5, db: -2 },
    ],
    highshelf: { hz: 10000, db: -4 },
    room: 0,
    trim_db: -3,
  },
  car: {
    label: "Car",
    summary: "Car: +6 dB cabin gain under 70 Hz, a 180 Hz dip, dark top, a little room.",
    // Door woofers and dash tweeters in a small, absorbent cabin. Below the cabin's first mode
    // (about 60 to 80 Hz) the sealed cabin pressurises and the bass rises ("cabin gain"):
    // a +6 dB shelf below 70 Hz; the woofers stop near 30 Hz. A dip near 180 Hz at the
    // driver's seat (the first side-to-side mode cancelling between the doors); tweeters
    // aimed off-axis and seats and headliner absorbing the top: -4 dB above 6 kHz.
    // The room: a short synthetic response (early reflections off glass 1.5 to 7 ms, then a
    // fast, dark decay, RT60 about 0.12 s, as in a real cabin) mixed in at -10 dB.
    mono: false,
    low_hz: 30,
    high_hz: 16000,
    lowshelf: { hz: 70, db: 6 },
    peaks: [
      { hz: 180, q: 1.5, db: -3 },
      { hz: 2500, q: 1.0, db: 1 },
      none,
    ],
    highshelf: { hz: 6000, db: -4 },
    room: 10 ** (-10 / 20),
    trim_db: -3,
  },
};

export const ORDER = ["studio", "headphones", "earbuds", "phone", "laptop", "car"];

// A seeded PRNG (mulberry32): the car's room is the same on every load.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The car cabin's impulse response: a direct sound, a few early reflections (windscreen,
 * side windows, roof: paths 0.5 to 2.4 m longer than the direct one), then noise decaying by
 * 60 dB in RT60 seconds, low-passed (the cabin absorbs the top), slightly different per ear. */
export function cabinResponse(ctx, { rt60 = 0.12, length = 0.25 } = {}) {
  const rate = ctx.sampleRate;
  const frames = Math.round(rate * length);
  const buffer = ctx.createBuffer(2, frames, rate);
  const reflections = [
    [0.0017, 0.5], [0.0031, 0.42], [0.0044, 0.35], [0.0058, 0.28], [0.0069, 0.22],
  ];
  for (let ch = 0; ch < 2; ch += 1) {
    const data = buffer.getChannelData(ch);
    const random = rng(1234 + ch);
    const decay = Math.log(1000) / rt60; // amplitude e^(-t * decay) is -60 dB at rt60
    let smooth = 0;
    for (let i = 0; i < frames; i += 1) {
      const t = i / rate;
      smooth += 0.35 * ((random() * 2 - 1) - smooth); // one-pole low-pass: a dark tail
      data[i] = t > 0.008 ? 0.35 * smooth * Math.exp(-decay * t) : 0;
    }
    for (const [delay, gain] of reflections) {
      const at = Math.round((delay + ch * 0.0003) * rate);
      if (at < frames) data[at] += gain * (ch ? 0.9 : 1);
    }
  }
  return buffer;
}

function db(x) { return 10 ** (x / 20); }

class Slot {
  constructor(ctx, room) {
    this.ctx = ctx;
    this.input = ctx.createGain();
    this.input.channelCountMode = "explicit";
    this.input.channelInterpretation = "speakers";
    this.input.channelCount = 2;
    const biquad = (type) => { const f = ctx.createBiquadFilter(); f.type = type; return f; };
    this.hp = [biquad("highpass"), biquad("highpass")];
    this.lowshelf = biquad("lowshelf");
    this.peaks = [biquad("peaking"), biquad("peaking"), biquad("peaking")];
    this.highshelf = biquad("highshelf");
    this.lp = [biquad("lowpass"), biquad("lowpass")];
    this.chain = [...this.hp, this.lowshelf, ...this.peaks, this.highshelf, ...this.lp];
    let node = this.input;
    for (const f of this.chain) { node.connect(f); node = f; }
    this.dry = ctx.createGain();
    this.wet = ctx.createGain();
    this.convolver = ctx.createConvolver();
    this.convolver.normalize = false;
    this.convolver.buffer = room;
    this.level = ctx.createGain();
    this.level.gain.value = 0;
    node.connect(this.dry);
    node.connect(this.convolver);
    this.convolver.connect(this.wet);
    this.dry.connect(this.level);
    this.wet.connect(this.level);
    this.profile = null;
  }

  /** Set every parameter for `name` at once (the slot is silent while this happens). */
  configure(name) {
    const p = PROFILES[name];
    const t = this.ctx.currentTime;
    const nyquist = this.ctx.sampleRate / 2;
    const high = Math.min(p.high_hz, nyquist * 0.95);
    this.input.channelCount = p.mono ? 1 : 2;
    this.hp.forEach((f, i) => { f.frequency.setValueAtTime(p.low_hz, t); f.Q.setValueAtTime(BW4[i], t); });
    this.lp.forEach((f, i) => { f.frequency.setValueAtTime(high, t); f.Q.setValueAtTime(BW4[i], t); });
    this.lowshelf.frequency.setValueAtTime(p.lowshelf.hz, t);
    this.lowshelf.gain.setValueAtTime(p.lowshelf.db, t);
    this.peaks.forEach((f, i) => {
      const b = p.peaks[i] || none;
      f.frequency.setValueAtTime(b.hz, t);
      f.Q.setValueAtTime(b.q, t);
      f.gain.setValueAtTime(b.db, t);
    });
    this.highshelf.frequency.setValueAtTime(p.highshelf.hz, t);
    this.highshelf.gain.setValueAtTime(p.highshelf.db, t);
    this.dry.gain.setValueAtTime(1, t);
    this.wet.gain.setValueAtTime(p.room, t);
    this.profile = name;
  }

  /** Ramp the slot's level to `to` (linear, over `seconds`) from wherever it is now. */
  fade(to, seconds) {
    const g = this.level.gain;
    const t = this.ctx.currentTime;
    g.cancelScheduledValues(t);
    g.setValueAtTime(g.value, t);
    g.linearRampToValueAtTime(to, t + seconds);
  }

  /** The slot's magnitude response in dB at `hz` (what the page shows and the tests read). */
  responseDb(hz) {
    const freq = new Float32Array(hz);
    const total = new Float32Array(hz.length);
    const mag = new Float32Array(hz.length);
    const phase = new Float32Array(hz.length);
    for (const f of this.chain) {
      f.getFrequencyResponse(freq, mag, phase);
      for (let i = 0; i < hz.length; i += 1) total[i] += 20 * Math.log10(Math.max(mag[i], 1e-9));
    }
    const trim = PROFILES[this.profile || "studio"].trim_db;
    return Array.from(total, (v) => Math.round((v + trim) * 10) / 10);
  }
}

/** The monitor: input (connect sources here) -> two slots -> output (connect to destination). */
export class ListenAs {
  constructor(ctx, { onChange = () => {}, onSettled = () => {} } = {}) {
    this.ctx = ctx;
    this.onChange = onChange; // a new system was chosen (the fade starts)
    this.onSettled = onSettled; // the fade is over: only the chosen system is heard
    this.input = ctx.createGain();
    this.output = ctx.createGain();
    const room = cabinResponse(ctx);
    this.slots = [new Slot(ctx, room), new Slot(ctx, room)];
    for (const slot of this.slots) { this.input.connect(slot.input); slot.level.connect(this.output); }
    this.active = 0;
    this.fadingUntil = 0;
    this.wanted = null;
    this.slots[0].configure("studio");
    this.slots[0].level.gain.value = db(PROFILES.studio.trim_db);
    this.slots[1].configure("studio");
    this.current = "studio";
  }

  /** Switch to `name`: configure the silent slot, then crossfade to it. */
  set(name) {
    if (!PROFILES[name]) throw new Error(`unknown playback system ${name}`);
    const now = this.ctx.currentTime;
    if (now < this.fadingUntil) {
      // A fade is running: the silent slot is not silent yet. Take the latest wish after it.
      this.wanted = name;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => { const w = this.wanted; this.wanted = null; if (w) this.set(w); }, (this.fadingUntil - now) * 1000 + 15);
      return;
    }
    if (name === this.current) return;
    const from = this.slots[this.active];
    const to = this.slots[1 - this.active];
    to.configure(name);
    from.fade(0, FADE_S);
    to.fade(db(PROFILES[name].trim_db), FADE_S);
    this.active = 1 - this.active;
    this.fadingUntil = now + FADE_S;
    this.current = name;
    this.onChange(name);
    clearTimeout(this.settled);
    this.settled = setTimeout(() => { if (this.current === name) this.onSettled(name); }, FADE_S * 1000 + 20);
  }

  /** Which slot is heard and each slot's level now: proof that the graph never goes silent. */
  describe() {
    return {
      current: this.current,
      active: this.active,
      levels: this.slots.map((s) => s.level.gain.value),
      profiles: this.slots.map((s) => s.profile),
      mono: this.slots[this.active].input.channelCount === 1,
      room: this.slots[this.active].wet.gain.value,
    };
  }

  /** The heard system's response in dB at the given frequencies. */
  responseDb(hz) { return this.slots[this.active].responseDb(hz); }
}
