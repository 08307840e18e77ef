"""Words and forms: one reading of a typed share for the splits form and the server, replies and
comments named as people name themselves, and the activity feed's mark for Studio itself."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import dateformat

from studio.errors import Invalid, SplitTotalInvalid
from studio.models import Split
from studio.parsing import decimal_text
from studio.services import rights


# --- the one parser ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("50,5", Decimal("50.5")),
        ("50.5", Decimal("50.5")),
        ("33,33", Decimal("33.33")),
        ("  25 ", Decimal("25")),
        ("1.234", Decimal("1.234")),  # read as typed; the share rule then refuses 3 places
        (".5", Decimal("0.5")),
        ("-5", Decimal("-5")),
        (50.5, Decimal("50.5")),
        (100, Decimal("100")),
    ],
)
def test_decimal_text_reads_a_point_or_a_comma(typed, value):
    assert decimal_text(typed) == value


@pytest.mark.parametrize(
    "typed",
    [
        "1e2",
        "NaN",
        "nan",
        "Infinity",
        "",
        " ",
        ".",
        "1,2,3",
        "1.000,5",
        "1 000",
        "٣",
        "50%",
        None,
        True,
    ],
)
def test_decimal_text_refuses_what_is_not_a_plain_decimal(typed):
    assert decimal_text(typed) is None


def _shares(*values: str) -> list[dict[str, str]]:
    return [{"party": f"P{i}", "share": v} for i, v in enumerate(values)]


@pytest.mark.parametrize(
    ("shares", "total", "ok"),
    [
        (("50,5", "49,5"), "100.00", True),
        (("50.5", "49.5"), "100.00", True),
        (("33,33", "33,33", "33,34"), "100.00", True),
        (("  25 ", "75"), "100.00", True),
        (("50,5",), "50.50", False),
    ],
)
def test_the_preview_totals_as_the_service_does(shares, total, ok):
    preview = rights.split_preview(shares=_shares(*shares))
    assert preview.total == Decimal(total)
    assert preview.ok is ok
    assert preview.problems == []


@pytest.mark.parametrize(
    ("typed", "sentence"),
    [
        ("33.333", "shares[0].share has more than 2 decimal places"),
        ("1.234", "shares[0].share has more than 2 decimal places"),
        ("1,234", "shares[0].share has more than 2 decimal places"),
        ("-5", "shares[0].share must be more than 0"),
        ("1e2", "shares[0].share '1e2' is not a number"),
        ("NaN", "shares[0].share 'NaN' is not a number"),
        ("inf", "shares[0].share 'inf' is not a number"),
        ("1.000,5", "shares[0].share '1.000,5' is not a number"),  # no thousands mark
        ("", "shares[0].share is empty"),
        ("101", "shares[0].share is over 100"),
    ],
)
def test_preview_and_save_refuse_the_same_shares(scenario, song, typed, sentence):
    """What the running total calls a problem is exactly what saving refuses."""
    preview = rights.split_preview(shares=[{"party": "A", "share": typed}])
    assert preview.problems[0].detail.startswith(sentence)
    assert not preview.ok
    with pytest.raises(Invalid) as refused:
        rights.split_set(
            actor=scenario.users["producer"],
            song=song,
            right="composition",
            shares=[{"party": "A", "share": typed}],
        )
    assert refused.value.detail.startswith(sentence)
    assert "shares[0].share" in refused.value.fields


def test_33_333_three_times_is_three_problems_not_99_99():
    preview = rights.split_preview(shares=_shares("33.333", "33.333", "33.334"))
    assert [p.detail for p in preview.problems] == [
        f"shares[{i}].share has more than 2 decimal places" for i in range(3)
    ]
    assert not preview.ok


def test_the_service_saves_a_decimal_comma(scenario, song):
    rights.split_set(
        actor=scenario.users["producer"],
        song=song,
        right="master",
        shares=[{"party": "Ava", "share": "50,5"}, {"party": "Label", "share": " 49,5 "}],
    )
    assert list(Split.objects.filter(song=song).values_list("party", "share")) == [
        ("Ava", Decimal("50.50")),
        ("Label", Decimal("49.50")),
    ]


def test_a_wrong_total_is_still_refused(scenario, song):
    with pytest.raises(SplitTotalInvalid, match=r"total 99\.99"):
        rights.split_set(
            actor=scenario.users["producer"],
            song=song,
            right="master",
            shares=_shares("33,33", "33,33", "33,33"),
        )


# --- the splits form --------------------------------------------------------------------------
def test_the_form_asks_the_server_for_its_running_total(scenario, song):
    page = scenario.browser("producer").get(reverse("song-detail", args=[song.pk])).content
    text = page.decode()
    assert reverse("splits-preview", args=[song.pk, "composition"]) in text
    assert 'hx-trigger="input delay:200ms from:closest form' in text


def test_the_preview_shows_100_for_50_5_and_49_5(scenario, song):
    client = scenario.browser("producer")
    response = client.get(
        reverse("splits-preview", args=[song.pk, "composition"]),
        {"party": ["Ava", "Label", ""], "share": ["50,5", "49,5", ""]},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-ok="true">100.00</output>' in body
    assert "splits-problems" not in body


def test_the_preview_names_the_row_and_the_field(scenario, song):
    client = scenario.browser("producer")
    response = client.get(
        reverse("splits-preview", args=[song.pk, "composition"]),
        {"party": ["Ava", "Label"], "share": ["33.333", "66,66"]},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert "the share in row 1 has more than 2 decimal places" in body
    assert "shares[0]" not in body
    assert 'data-ok="false">66.66</output>' in body


def test_the_preview_is_for_those_who_edit_rights(scenario, song):
    url = reverse("splits-preview", args=[song.pk, "composition"])
    assert scenario.browser("engineer").get(url, {"share": "1"}).status_code == 403
    assert scenario.browser("outsider").get(url, {"share": "1"}).status_code == 404
    bad_right = reverse("splits-preview", args=[song.pk, "sync"])
    assert scenario.browser("producer").get(bad_right).status_code == 404


def test_the_form_saves_50_5_and_49_5(scenario, song):
    client = scenario.browser("producer")
    response = client.post(
        reverse("splits-set", args=[song.pk, "master"]),
        {"party": ["Ava", "Label", ""], "share": ["50,5", "49,5", ""]},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert Split.objects.filter(song=song, right="master").count() == 2
    assert "100.00 / 100.00" in response.content.decode()


def test_the_form_refuses_33_333_with_the_rows_label(scenario, song):
    client = scenario.browser("producer")
    response = client.post(
        reverse("splits-set", args=[song.pk, "master"]),
        {"party": ["Ava", "Bo", "Cy"], "share": ["33.333", "33.333", "33.334"]},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200  # a form to correct, not a refusal
    assert response["HX-Retarget"] == "#splits-master-error"
    assert "the share in row 1 has more than 2 decimal places" in response.content.decode()
    assert not Split.objects.filter(song=song).exists()


# --- names and times in replies, and Studio's own events ------------------------------------
def test_initials_take_the_first_letters_of_two_words():
    from pages.kit import initials

    assert initials("Mia Rossi") == "MR"
    assert initials("mia") == "MI"
    assert initials("jean-luc picard") == "JL"
    assert initials("  ") == "?"


def test_replies_show_display_names_and_their_time(scenario):
    from sessions.services import comment_add
    from tests.audio.authz import _mix

    artist = scenario.users["artist"]
    artist.first_name = "Ava Stone"
    artist.save()
    mix = _mix(scenario)
    root = comment_add(actor=scenario.users["producer"], mix=mix, body="Louder bass", start_s=0.1)
    reply = comment_add(actor=artist, mix=mix, body="On it", parent=root)
    response = scenario.browser("viewer").get(
        reverse("mix-comments", args=[mix.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    body = response.content.decode()
    item = body[body.index(f'id="comment-{reply.pk}"') :]
    item = item[: item.index("</li>")]
    assert "<strong>Ava Stone</strong>" in item
    assert f"<strong>{artist.username}</strong>" not in item
    when = dateformat.format(reply.created_at, "D j M Y, H:i")
    assert f'<time class="muted" datetime="{reply.created_at:%Y-%m-%d}T' in item
    short = dateformat.format(reply.created_at, "H:i")  # today: the hour is enough
    assert f'title="{when} UTC">{short}</time>' in item  # the full time, with its zone, on hover


def test_system_events_get_studio_s_mark_not_an_st_avatar(scenario, song):
    from django.db import transaction

    from eventlog.services import event_record
    from studio.payloads import song_payload

    with transaction.atomic():
        event_record(
            project=scenario.project.pk,
            type="song.created",
            payload={"song": song_payload(song)},
            actor=None,
        )
    response = scenario.browser("viewer").get(
        reverse("project-dashboard", args=[scenario.project.pk]) + "?part=activity",
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    system = body[body.index('data-system="true"') :]
    system = system[: system.index("</li>")]
    assert 'class="avatar avatar-system"' in system
    assert 'aria-label="Studio"' in system
    assert ">ST<" not in body and ">St<" not in body
    producer = scenario.users["producer"]
    person = (producer.get_short_name() or producer.username)[:2].upper()
    assert f">{person}</span>" in body  # people keep their initials


# --- a new display name reaches the team's open pages -----------------------------------------
def test_a_new_display_name_is_told_in_each_of_the_persons_projects(
    scenario, other_scenario, django_capture_on_commit_callbacks
):
    import jsonschema

    from eventlog.models import Event
    from eventlog.schemas import EVENT_SCHEMAS
    from pages.activity import describe
    from studio.services.accounts import profile_update
    from studio.services.projects import member_add

    viewer = scenario.users["viewer"]
    member_add(
        actor=other_scenario.users["producer"],
        project=other_scenario.project,
        username=viewer.username,
        role="artist",
    )
    with django_capture_on_commit_callbacks() as callbacks:
        profile_update(actor=viewer, display_name="  Vera Lind ", time_zone="Europe/Oslo")
    renamed = list(Event.objects.filter(type="member.renamed").order_by("project_id"))
    assert [e.project_id for e in renamed] == sorted(
        [scenario.project.pk, other_scenario.project.pk]
    )
    assert len(callbacks) == 2  # one broadcast per project, after commit
    for event in renamed:
        jsonschema.validate(event.payload, EVENT_SCHEMAS["member.renamed"])
        assert event.payload["display_name"] == "Vera Lind"
        assert event.payload["previous"] == viewer.username
        assert event.actor_id == viewer.pk
        assert event.seq == event.project.last_event_seq
    viewer.refresh_from_db()
    assert viewer.first_name == "Vera Lind"
    assert describe(renamed[:1])[0].text == f"{viewer.username} is now called Vera Lind"


def test_an_unchanged_name_or_a_new_zone_alone_tells_no_one(scenario):
    from eventlog.models import Event
    from studio.services.accounts import profile_update

    artist = scenario.users["artist"]
    before = Event.objects.count()
    profile_update(actor=artist, display_name=artist.first_name, time_zone="Asia/Tokyo")
    profile_update(actor=artist, time_zone="Europe/Paris")
    assert Event.objects.count() == before


def test_a_refused_profile_change_tells_no_one(scenario):
    from eventlog.models import Event
    from studio.services.accounts import profile_update

    before = Event.objects.count()
    with pytest.raises(Invalid):
        profile_update(actor=scenario.users["artist"], display_name="Ava", time_zone="Mars/Base")
    assert Event.objects.count() == before
    scenario.users["artist"].refresh_from_db()
    assert scenario.users["artist"].first_name != "Ava"


def test_regions_that_show_names_refetch_on_a_rename(scenario, song):
    from tests.audio.authz import _mix

    client = scenario.browser("producer")
    sessions = client.get(reverse("song-detail", args=[song.pk])).content.decode()
    assert "studio:member-renamed from:body" in sessions
    mix = _mix(scenario)
    comments = client.get(reverse("mix-comments", args=[mix.pk]), HTTP_HX_REQUEST="true")
    assert "studio:member-renamed from:body" in comments.content.decode()


# --- the API reads shares by the same parser --------------------------------------------------
def test_the_api_accepts_a_decimal_comma_and_a_json_number(scenario, song):
    response = scenario.client("producer").put(
        f"/api/songs/{song.pk}/splits/",
        {
            "right": "master",
            "shares": [{"party": "A", "share": "50,5"}, {"party": "B", "share": 49.5}],
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["master"] == [
        {"party": "A", "share": "50.50"},
        {"party": "B", "share": "49.50"},
    ]


@pytest.mark.parametrize(
    ("share", "path", "words"),
    [
        ("33.333", "shares[0].share", "more than 2 decimal places"),
        (33.333, "shares[0].share", "more than 2 decimal places"),
        ("1e2", "shares[0].share", "not a number"),
        ("NaN", "shares[0].share", "not a number"),
        (True, "shares", "give the share as a number"),
        ({"n": 1}, "shares", "give the share as a number"),
    ],
)
def test_the_api_refuses_shares_with_their_fields_path(scenario, song, share, path, words):
    response = scenario.client("producer").put(
        f"/api/songs/{song.pk}/splits/",
        {"right": "master", "shares": [{"party": "A", "share": share}]},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert any(key.startswith(path) for key in body["fields"]), body
    assert words in str(body), body
    assert not Split.objects.exists()
