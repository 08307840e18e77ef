"""Studio's framework-free audio engine: numpy, scipy, pedalboard, soundfile, mutagen only."""
