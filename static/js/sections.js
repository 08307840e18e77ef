// sections.js: the song sheet's arrangement sections as regions of the song's timeline.
//
// The times come from the API (`GET /api/song-sheets/<song>/` answers `regions`: id, name,
// start_s, end_s), computed on the server from the tempo, the time signature and the bars
// (songsheet/timing.py), and empty until the tempo and the first downbeat are set. `watch`
// calls back with the regions at once and again after every event that can move them (a
// section written, moved or removed, the sheet or the song's tempo changed, a resync), so the
// player's waveform and the mixer's timeline follow the sheet live.
import { live } from "studio/live";

const TYPES = [
  "section.added", "section.updated", "section.removed", "sections.reordered",
  "sheet.updated", "song.updated", "resync",
];

export async function sectionRegions(songId) {
  if (!songId) return [];
  try {
    const response = await fetch(`/api/song-sheets/${songId}/`, { credentials: "same-origin" });
    if (!response.ok) return [];
    const body = await response.json();
    return Array.isArray(body.regions) ? body.regions : [];
  } catch (err) {
    console.warn("sections: fetching the song sheet failed", err);
    return [];
  }
}

export function watchSections(songId, onChange) {
  let asked = 0;
  const refresh = async () => {
    const mine = ++asked;
    const regions = await sectionRegions(songId);
    if (mine === asked) onChange(regions); // a later refresh wins
  };
  for (const type of TYPES) {
    live.on(type, (frame) => {
      const p = (frame && frame.payload) || {};
      const song = p.section?.song ?? p.sheet?.song ?? (typeof p.song === "object" ? p.song?.id : p.song);
      if (type === "resync" || song == null || String(song) === String(songId)) refresh();
    });
  }
  refresh();
  return refresh;
}

// Alternating tints so neighbouring sections read apart on any theme.
export const SECTION_COLOURS = ["rgba(120, 144, 255, 0.16)", "rgba(255, 176, 96, 0.16)"];
