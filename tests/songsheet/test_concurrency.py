"""Reorders at once on PostgreSQL: each move reads and renumbers under the project lock, so
however the moves interleave the order stays dense (1..n, no repeat) and no section is lost."""

from __future__ import annotations

import random
import threading

import pytest
from django.db import close_old_connections, connection

from songsheet.models import Section
from songsheet.services import section_add, section_move


@pytest.mark.django_db(transaction=True)
def test_concurrent_moves_keep_the_order_dense():
    assert connection.vendor == "postgresql", "select_for_update needs PostgreSQL"
    from studio.services.songs import song_create
    from tests.conftest import make_scenario

    s = make_scenario()
    artist, producer = s.users["artist"], s.users["producer"]
    song = song_create(actor=producer, project=s.project, title="Crowded", tempo_bpm="100")
    ids = [
        section_add(actor=producer, song=song, data={"name": f"part {i}", "bars": 4}).pk
        for i in range(8)
    ]
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def work(n: int) -> None:
        rng = random.Random(n)
        try:
            barrier.wait()
            for _ in range(10):
                section = Section.objects.select_related("song").get(pk=rng.choice(ids))
                section_move(
                    actor=artist if n % 2 else producer, section=section, position=rng.randint(1, 8)
                )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    rows = list(Section.objects.filter(song=song).values_list("pk", "position"))
    assert sorted(p for _, p in rows) == list(range(1, 9))
    assert sorted(pk for pk, _ in rows) == sorted(ids)
