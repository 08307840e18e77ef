"""A person's profile (display name, time zone), and where it shows: pages draw times in the
viewer's zone with its abbreviation, and a typed session time is read in that zone."""

from __future__ import annotations

import pytest
from django.urls import reverse

from studio.errors import Invalid
from studio.models import Profile
from studio.services.accounts import profile_get, profile_update

pytestmark = pytest.mark.django_db


# --- the service ----------------------------------------------------------------------------
def test_a_profile_is_made_on_first_use_in_utc(scenario):
    user = scenario.users["artist"]
    assert not Profile.objects.filter(user=user).exists()
    assert profile_get(user=user).time_zone == "UTC"
    assert Profile.objects.filter(user=user).count() == 1


def test_profile_update_sets_the_name_and_the_zone(scenario):
    user = scenario.users["artist"]
    profile_update(actor=user, display_name="  Ava Stone ", time_zone="Europe/Paris")
    user.refresh_from_db()
    assert user.first_name == "Ava Stone"
    assert Profile.objects.get(user=user).time_zone == "Europe/Paris"


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "utc+2", "Europe/Paris\x00", "x" * 200])
def test_an_unknown_zone_is_refused_with_a_sentence(scenario, zone):
    user = scenario.users["artist"]
    with pytest.raises(Invalid) as refused:
        profile_update(actor=user, display_name="Ava", time_zone=zone)
    assert "is not a time zone Studio knows" in refused.value.detail
    assert refused.value.fields == {"time_zone": ["unknown time zone"]}
    user.refresh_from_db()
    assert user.first_name == ""  # nothing stored when one field is refused


def test_a_display_name_over_150_characters_is_refused(scenario):
    with pytest.raises(Invalid, match="at most 150 characters"):
        profile_update(actor=scenario.users["artist"], display_name="x" * 151)


# --- the page -------------------------------------------------------------------------------
def test_the_header_name_links_to_the_profile(scenario):
    page = scenario.browser("viewer").get(reverse("project-list")).content.decode()
    assert f'href="{reverse("profile")}"' in page


def test_the_profile_page_lists_zones_and_links_the_password_change(scenario):
    response = scenario.browser("viewer").get(reverse("profile"))
    body = response.content.decode()
    assert response.status_code == 200
    assert '<option value="Asia/Tokyo">' in body
    assert '<option value="UTC" selected>' in body
    assert f'href="{reverse("password_change")}"' in body


def test_the_profile_form_saves_and_comes_back_in_the_new_zone(scenario):
    client = scenario.browser("viewer")
    response = client.post(
        reverse("profile"), {"display_name": "Vic", "time_zone": "Asia/Tokyo"}, follow=True
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Saved." in body
    assert '<option value="Asia/Tokyo" selected>' in body
    assert " JST</time>" in body  # the page is already drawn in Tokyo's time
    assert 'value="Vic"' in body


def test_the_profile_form_refuses_an_unknown_zone_with_400_and_keeps_the_input(scenario):
    client = scenario.browser("viewer")
    response = client.post(reverse("profile"), {"display_name": "Vic", "time_zone": "Mars/Base"})
    body = response.content.decode()
    assert response.status_code == 400
    assert "&#x27;Mars/Base&#x27; is not a time zone Studio knows" in body
    assert 'value="Vic"' in body
    assert Profile.objects.get(user=scenario.users["viewer"]).time_zone == "UTC"


def test_the_profile_page_needs_a_sign_in(scenario):
    response = scenario.browser(None).get(reverse("profile"))
    assert response.status_code == 302 and "/login/" in response["Location"]


# --- the API --------------------------------------------------------------------------------
def test_api_me_reads_and_patches_the_profile(scenario):
    client = scenario.client("engineer")
    me = client.get("/api/me/").json()
    assert me == {
        "id": scenario.users["engineer"].pk,
        "username": "engineer",
        "display_name": "",
        "time_zone": "UTC",
    }
    response = client.patch(
        "/api/me/", {"display_name": "Eli", "time_zone": "America/New_York"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["display_name"] == "Eli"
    assert response.json()["time_zone"] == "America/New_York"
    response = client.patch("/api/me/", {"time_zone": "Asia/Tokyo"}, format="json")
    assert response.json()["display_name"] == "Eli"  # a field not sent stays


def test_api_me_refuses_an_unknown_zone_with_its_field(scenario):
    response = scenario.client("engineer").patch(
        "/api/me/", {"time_zone": "Atlantis/Capital"}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["fields"] == {"time_zone": ["unknown time zone"]}
    assert "Atlantis/Capital" in body["detail"]


@pytest.mark.parametrize(
    "body", [[1, 2], {"time_zone": 5}, {"display_name": "x" * 151}, {"time_zone": None}]
)
def test_api_me_refuses_bad_shapes_with_a_4xx(scenario, body):
    response = scenario.client("engineer").patch("/api/me/", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["detail"]


def test_api_me_is_for_the_signed_in(scenario):
    assert scenario.client(None).get("/api/me/").status_code == 401
    assert scenario.client(None).patch("/api/me/", {}, format="json").status_code == 401
    assert scenario.client("outsider").get("/api/me/").status_code == 200
    assert scenario.client("outsider").post("/api/me/", {}, format="json").status_code == 405


# --- the outside pass, on the profile's two doors (they are not in the matrix's tables) ------
def test_the_profile_form_given_hostile_values_never_fails(scenario):
    from urllib.parse import urlencode

    from tests.studio.test_outside_pass import HOSTILE_FORM_VALUES

    client = scenario.browser("artist")
    for field in ("display_name", "time_zone", "unexpected"):
        for value in HOSTILE_FORM_VALUES:
            form = {"display_name": "Ava", "time_zone": "Europe/Paris", field: value}
            data = urlencode(form, encoding="utf-8", errors="surrogatepass")
            response = client.generic(
                "POST", reverse("profile"), data, content_type="application/x-www-form-urlencoded"
            )
            assert response.status_code in (302, 400), f"{field}={value[:30]!r}"


def test_api_me_given_hostile_values_and_bodies_never_fails(scenario):
    from tests.studio.test_outside_pass import HOSTILE_BODIES, HOSTILE_VALUES, _dumps

    client = scenario.client("artist")
    for field in ("display_name", "time_zone", "unexpected"):
        for value in HOSTILE_VALUES:
            body = _dumps({"display_name": "Ava", "time_zone": "Europe/Paris", field: value})
            response = client.generic("PATCH", "/api/me/", body, content_type="application/json")
            assert response.status_code in (200, 400), f"{field}={str(value)[:30]!r}"
    for content_type, data in HOSTILE_BODIES:  # (a form of unknown fields changes nothing: 200)
        response = client.generic("PATCH", "/api/me/", data, content_type=content_type)
        assert response.status_code < 500, f"{content_type} {data[:30]!r}"
    assert Profile.objects.get(user=scenario.users["artist"]).time_zone == "Europe/Paris"


# --- comment times ----------------------------------------------------------------------------
def test_short_times_say_as_much_as_tells_them_apart():
    import datetime

    from django.utils import timezone

    from pages.templatetags.studio_pages import local_time, short_time

    now = timezone.now()
    with timezone.override("Asia/Tokyo"):
        here = timezone.localtime(now)
        assert short_time(now) == here.strftime("%H:%M")
        assert local_time(now).endswith(" JST")
    old = datetime.datetime(2020, 3, 4, 23, 30, tzinfo=datetime.UTC)
    with timezone.override("Asia/Tokyo"):
        assert short_time(old) == "5 Mar 2020"  # already the 5th in Tokyo
        assert local_time(old) == "Thu 5 Mar 2020, 08:30 JST"
    assert short_time(None) == ""


def test_a_comment_and_its_reply_show_their_time_in_the_viewers_zone(scenario):
    from django.utils import dateformat, timezone

    from sessions.services import comment_add
    from tests.audio.authz import _mix

    Profile.objects.create(user=scenario.users["viewer"], time_zone="America/New_York")
    mix = _mix(scenario)
    root = comment_add(actor=scenario.users["producer"], mix=mix, body="Louder", start_s=0.1)
    reply = comment_add(actor=scenario.users["artist"], mix=mix, body="Done", parent=root)
    body = (
        scenario.browser("viewer")
        .get(reverse("mix-comments", args=[mix.pk]), HTTP_HX_REQUEST="true")
        .content.decode()
    )
    with timezone.override("America/New_York"):
        for comment in (root, reply):
            local = timezone.localtime(comment.created_at)
            full = dateformat.format(local, "D j M Y, H:i T")
            assert f'datetime="{local.isoformat()}"' in body
            assert f'title="{full}">' in body
    assert " EST" in body or " EDT" in body
    assert " UTC" not in body
