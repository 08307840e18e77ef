"""The activity feed: every event type is told by the app that records it, or is quiet."""

from eventlog.models import Event
from eventlog.registry import described_types, is_quiet
from eventlog.schemas import EVENT_SCHEMAS
from pages.activity import describe
from studio.services import credits, songs


def test_every_event_type_is_described_or_quiet():
    """A new event type needs a describer in its app's activity.py (or register_quiet)."""
    assert set(EVENT_SCHEMAS) - described_types() == set()


def test_quiet_types_are_not_shown(scenario, song):
    events = list(Event.objects.filter(project=scenario.project).order_by("-seq"))
    shown = describe(events)
    assert all(not is_quiet(a.type) for a in shown)
    assert any(a.type == "song.created" for a in shown)


def test_sentences_name_songs_and_people(scenario, song):
    producer = scenario.users["producer"]
    songs.song_move_stage(actor=producer, song=song, to="recording")
    credit = credits.credit_add(
        actor=producer, song=song, role="composer", contributor_name="Ada Lovelace"
    )
    credits.credit_remove(actor=producer, credit=credit)
    events = list(Event.objects.filter(project=scenario.project).order_by("-seq"))
    texts = [a.text for a in describe(events)]
    who = producer.get_short_name() or producer.username
    assert texts[0] == f"{who} removed a credit from 'Night Drive'"
    assert texts[1] == f"{who} credited Ada Lovelace as composer on 'Night Drive'"
    assert texts[2] == f"{who} moved 'Night Drive' to Recording"


def test_a_page_of_events_costs_one_query_per_kind_of_name(
    scenario, song, django_assert_max_num_queries
):
    producer = scenario.users["producer"]
    for n in range(10):
        credits.credit_add(
            actor=producer, song=song, role="composer", contributor_name=f"Writer {n}"
        )
    events = list(
        Event.objects.filter(project=scenario.project).select_related("actor").order_by("-seq")
    )
    with django_assert_max_num_queries(1):  # the songs' titles, once
        describe(events)


def test_a_member_who_adds_themselves_joined(scenario):
    """ "Mia added mia as producer" (the project's creator, or an invitee accepting) reads as
    "Mia joined as producer"; a producer adding someone else still "added" them."""
    events = list(Event.objects.filter(project=scenario.project).order_by("seq"))
    texts = [a.text for a in describe(events) if a.type == "member.added"]
    producer = scenario.users["producer"]
    who = producer.get_short_name() or producer.username
    assert texts[0] == f"{who} joined as producer"
    assert all(" added " in t for t in texts[1:]), texts
