"""The watermark's payload: a 32-bit id, its CRC-16, a rate-1/3 convolutional code, a key's mask.

The id's 32 bits and a CRC-16/CCITT over them are 48 bits; six zero tail bits close the
trellis, and a rate-1/3, constraint-length-7 convolutional code (generators 133, 171, 165
octal, free distance 15) makes 162 chips. Two ids' chip words therefore differ in at least 15
places, which is what separates issued ids from each other when attributing. The chips are
XORed with a mask drawn from the key, so id 0 is not a run of equal chips and the chips of one
key say nothing about another's. Decoding is soft Viterbi over the chips' correlation values;
the CRC then rejects all but about 1 in 65536 of the words that noise decodes to
(a CRC-8 was tried first: a weak copy decoded to a wrong id that passed it).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

ID_BITS = 32
CRC_BITS = 16
DATA_BITS = ID_BITS + CRC_BITS
CONSTRAINT = 7
TAIL_BITS = CONSTRAINT - 1
GENERATORS = (0o133, 0o171, 0o165)
RATE_INV = len(GENERATORS)
CHIPS = RATE_INV * (DATA_BITS + TAIL_BITS)  # 162
MAX_ID = 2**ID_BITS - 1
_STATES = 2 ** (CONSTRAINT - 1)


def crc16(bits: list[int]) -> list[int]:
    """CRC-16/CCITT, polynomial 0x1021, initial value 0xFFFF, MSB first."""
    reg = 0xFFFF
    for bit in bits:
        top = ((reg >> 15) & 1) ^ bit
        reg = (reg << 1) & 0xFFFF
        if top:
            reg ^= 0x1021
    return [(reg >> (15 - i)) & 1 for i in range(CRC_BITS)]


def id_bits(recipient: int) -> list[int]:
    if not 0 <= recipient <= MAX_ID:
        raise ValueError(f"id {recipient} is outside 0..{MAX_ID}")
    bits = [(recipient >> (ID_BITS - 1 - i)) & 1 for i in range(ID_BITS)]
    return bits + crc16(bits)


def _parity(x: int) -> int:
    return bin(x).count("1") & 1


def _outputs() -> npt.NDArray[np.int8]:
    """For each (state, input bit): the three output bits, state = last six inputs."""
    out = np.zeros((_STATES, 2, RATE_INV), dtype=np.int8)
    for state in range(_STATES):
        for bit in (0, 1):
            reg = (bit << (CONSTRAINT - 1)) | state
            for j, g in enumerate(GENERATORS):
                out[state, bit, j] = _parity(reg & g)
    return out


_OUT = _outputs()


def _next_state(state: int, bit: int) -> int:
    return ((bit << (CONSTRAINT - 1)) | state) >> 1


def encode(recipient: int, mask: npt.NDArray[np.int8]) -> npt.NDArray[np.float64]:
    """The id's 162 chips as +1/-1 (chip bit 0 -> +1), after the key's mask."""
    state = 0
    chips: list[int] = []
    for bit in [*id_bits(recipient), *([0] * TAIL_BITS)]:
        chips.extend(int(v) for v in _OUT[state, bit])
        state = _next_state(state, bit)
    word = np.array(chips, dtype=np.int8) ^ mask
    return 1.0 - 2.0 * word.astype(np.float64)


def decode(soft: npt.NDArray[np.float64], mask: npt.NDArray[np.int8]) -> int | None:
    """Soft Viterbi over the chips' correlations (+ means chip bit 0); the id if its CRC holds."""
    values = soft * (1.0 - 2.0 * mask.astype(np.float64))  # undo the mask
    signs = 1.0 - 2.0 * _OUT.astype(np.float64)  # (state, bit, 3)
    metric = np.full(_STATES, -np.inf)
    metric[0] = 0.0
    states = np.arange(_STATES)
    back: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]] = []
    steps = DATA_BITS + TAIL_BITS
    for step in range(steps):
        chip = values[RATE_INV * step : RATE_INV * (step + 1)]
        gain = signs @ chip  # (state, bit)
        bits = (0, 1) if step < DATA_BITS else (0,)
        new = np.full(_STATES, -np.inf)
        prev = np.zeros(_STATES, dtype=np.int64)
        took = np.zeros(_STATES, dtype=np.int64)
        for bit in bits:
            nxt = ((bit << (CONSTRAINT - 1)) | states) >> 1
            cand = metric + gain[:, bit]
            # each next state is reached from two states for a given bit
            for lo in (0, 1):
                sel = states[(states & 1) == lo]
                tgt = nxt[sel]
                better = cand[sel] > new[tgt]
                new[tgt[better]] = cand[sel][better]
                prev[tgt[better]] = sel[better]
                took[tgt[better]] = bit
        metric = new
        back.append((prev, took))
    state = 0
    decoded: list[int] = []
    for prev, took in reversed(back):
        decoded.append(int(took[state]))
        state = int(prev[state])
    decoded.reverse()
    data = decoded[:DATA_BITS]
    if crc16(data[:ID_BITS]) != data[ID_BITS:]:
        return None
    return int("".join(str(b) for b in data[:ID_BITS]), 2)
