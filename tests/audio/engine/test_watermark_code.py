"""The payload code: CRC-16 over the id, the convolutional code's distance, soft decoding, the
keyed pattern."""

from __future__ import annotations

import numpy as np
import pytest

from audio.engine.watermark import code, mark

pytestmark = pytest.mark.engine


def test_crc16_catches_every_single_and_double_bit_error() -> None:
    bits = code.id_bits(0xDEADBEEF)
    data, crc = bits[: code.ID_BITS], bits[code.ID_BITS :]
    assert code.crc16(data) == crc
    for i in range(code.ID_BITS):
        for j in range(i, code.ID_BITS):
            bad = list(data)
            bad[i] ^= 1
            if j != i:
                bad[j] ^= 1
            assert code.crc16(bad) != crc


def test_two_ids_differ_in_at_least_the_free_distance() -> None:
    """Neighbouring ids (and random pairs) are at least 15 chips apart: attribution separates
    them."""
    mask = np.zeros(code.CHIPS, dtype=np.int8)
    rng = np.random.default_rng(1)
    pairs = [(i, i + 1) for i in range(50)] + [
        (int(a), int(b)) for a, b in rng.integers(0, 2**32, (200, 2))
    ]
    for a, b in pairs:
        if a == b:
            continue
        diff = int(np.sum(code.encode(a, mask) != code.encode(b, mask)))
        assert diff >= 15, (a, b, diff)


def test_soft_decoding_corrects_noise_and_refuses_pure_noise() -> None:
    rng = np.random.default_rng(2)
    mask = rng.integers(0, 2, code.CHIPS).astype(np.int8)
    ok = 0
    for _ in range(100):
        recipient = int(rng.integers(0, 2**32))
        soft = 1.5 * code.encode(recipient, mask) + rng.standard_normal(code.CHIPS)
        ok += code.decode(soft, mask) == recipient
    assert ok == 100
    # noise alone rarely passes the CRC (about 1 in 65536)
    passed = sum(code.decode(rng.standard_normal(code.CHIPS), mask) is not None for _ in range(300))
    assert passed == 0


def test_id_range() -> None:
    code.id_bits(0)
    code.id_bits(code.MAX_ID)
    for bad in (-1, code.MAX_ID + 1):
        with pytest.raises(ValueError):
            code.id_bits(bad)


def test_pattern_is_keyed_and_balanced() -> None:
    a, b = mark.pattern_for("one"), mark.pattern_for("two")
    assert np.array_equal(a.signs, mark.pattern_for("one").signs)
    assert np.mean(a.signs == b.signs) == pytest.approx(0.5, abs=0.03)
    assert a.sync.mean() == pytest.approx(1 / mark.SYNC_SHARE, abs=0.01)
    counts = np.bincount(a.role[~a.sync], minlength=code.CHIPS)
    assert counts.min() >= counts.max() - 1  # every chip gets the same share of cells
