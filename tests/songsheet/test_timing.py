"""Section times from tempo, time signature and bars: pure arithmetic, no database."""

from decimal import Decimal

import pytest

from songsheet.timing import bar_seconds, regions_ready, section_times


@pytest.mark.parametrize(
    ("sig", "tempo", "seconds"),
    [
        ("4/4", 120, 2.0),  # 4 quarters at 2 per second
        ("3/4", 120, 1.5),
        ("6/8", 120, 1.5),  # 6 eighths = 3 quarters
        ("7/8", 120, 1.75),  # 7 eighths = 3.5 quarters
        ("2/2", 60, 4.0),  # 2 halves = 4 quarters
        ("12/8", 90, 4.0),
    ],
)
def test_a_bar_lasts_its_quarter_notes_at_the_tempo(sig, tempo, seconds):
    assert bar_seconds(tempo, sig) == pytest.approx(seconds)


def test_sections_start_after_the_bars_before_them_from_the_first_downbeat():
    times = section_times(
        [4, 8, 8], tempo_bpm=Decimal("120.00"), time_signature="6/8", first_downbeat_s=0.75
    )
    assert [t.start_bar for t in times] == [1, 5, 13]
    assert [t.start_s for t in times] == [0.75, 6.75, 18.75]
    assert [t.end_s for t in times] == [6.75, 18.75, 30.75]


def test_no_tempo_means_no_times_never_a_crash():
    times = section_times([4, 8], tempo_bpm=None, time_signature="4/4", first_downbeat_s=1.0)
    assert [(t.start_bar, t.start_s, t.end_s) for t in times] == [(1, None, None), (5, None, None)]
    assert bar_seconds(0, "4/4") is None
    assert section_times([], tempo_bpm=100, time_signature="4/4", first_downbeat_s=None) == []


def test_regions_wait_for_the_tempo_and_the_first_downbeat():
    assert not regions_ready(None, 0.0)
    assert not regions_ready(Decimal("90"), None)
    assert regions_ready(Decimal("90"), 0.0)
