"""The song sheet: what pre-production decides before the first take (style, sections, lyrics,
the sound palette, influences)."""
