"""Invitations by e-mail (issue 13): only producers invite; the link works once, for the invited
address's account, until it expires or is withdrawn; a newcomer creates an account from it and
lands in the project with the invited role. Password change and reset use Django's views."""

from __future__ import annotations

import datetime
import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.utils import timezone

from eventlog.models import Event
from studio.models import Invitation, Membership

pytestmark = pytest.mark.django_db


@pytest.fixture
def invite(scenario, django_capture_on_commit_callbacks):
    """Send an invitation from the members page; the e-mail goes once the commit runs."""

    def send(email="newcomer@example.test", role="engineer", who="producer"):
        with django_capture_on_commit_callbacks(execute=True):
            return scenario.browser(who).post(
                f"/p/{scenario.project.pk}/invitations/",
                {"email": email, "role": role},
                HTTP_HX_REQUEST="true",
            )

    return send


def _link() -> str:
    (message,) = mail.outbox[-1:]
    match = re.search(r"http://testserver(/invite/[^/\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_producer_invites_and_a_newcomer_joins_with_a_new_account(scenario, invite):
    r = invite()
    assert r.status_code == 200
    assert "newcomer@example.test" in r.content.decode()
    assert mail.outbox[-1].to == ["newcomer@example.test"]
    assert scenario.project.name in mail.outbox[-1].subject
    link = _link()
    invitation = Invitation.objects.get()
    assert link.split("/")[2] not in invitation.token_sha256  # only the hash is stored
    assert Event.objects.filter(type="member.invited").count() == 1

    stranger = Client()
    page = stranger.get(link)
    assert page.status_code == 200
    assert "Create account and join" in page.content.decode()
    r = stranger.post(
        link,
        {
            "display_name": "Nia",
            "username": "nia",
            "password": "a long pass phrase 42",
            "password_again": "a long pass phrase 42",
        },
    )
    assert r.status_code == 302 and r["Location"] == f"/p/{scenario.project.pk}/"
    user = get_user_model().objects.get(username="nia")
    assert user.email == "newcomer@example.test"
    assert Membership.objects.get(project=scenario.project, user=user).role == "engineer"
    assert stranger.get(f"/p/{scenario.project.pk}/").status_code == 200
    added = Event.objects.get(type="member.added", actor=user)
    assert added.payload["member"]["role"] == "engineer"

    again = Client().post(
        link, {"username": "nia2", "password": "x" * 12, "password_again": "x" * 12}
    )
    assert again.status_code == 409
    assert "used already" in again.content.decode()


def test_only_producers_invite(scenario, invite):
    for who, status in (("engineer", 403), ("artist", 403), ("viewer", 403), ("outsider", 404)):
        r = invite(who=who)
        assert r.status_code == status, who
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_link_is_for_the_invited_address_only(scenario, invite):
    invite(email="ava.new@example.test")
    link = _link()
    other = scenario.browser("outsider")  # signed in with another address
    assert "whose e-mail is not" in other.get(link).content.decode()
    r = other.post(link)
    assert r.status_code == 403
    assert not Membership.objects.filter(user=scenario.users["outsider"]).exists()


def test_existing_account_signs_in_then_joins(scenario, invite):
    outsider = scenario.users["outsider"]
    invite(email=outsider.email.upper(), role="artist")
    link = _link()
    anonymous = Client()
    assert "Sign in to join" in anonymous.get(link).content.decode()
    r = anonymous.post(link, {"username": "x", "password": "y" * 12, "password_again": "y" * 12})
    assert r.status_code == 409  # no second account for that address
    signed_in = scenario.browser("outsider")
    r = signed_in.post(link)
    assert r.status_code == 302
    assert Membership.objects.get(project=scenario.project, user=outsider).role == "artist"


def test_expired_and_withdrawn_links_are_refused(scenario, invite):
    invite(email="late@example.test")
    late_link = _link()
    Invitation.objects.filter(email="late@example.test").update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    form = {"username": "late", "password": "p" * 14, "password_again": "p" * 14}
    r = Client().post(late_link, form)
    assert r.status_code == 409 and "expired" in r.content.decode()

    invite(email="gone@example.test")
    gone_link = _link()
    invitation = Invitation.objects.get(email="gone@example.test")
    r = scenario.browser("producer").post(
        f"/invitations/{invitation.pk}/revoke/", HTTP_HX_REQUEST="true"
    )
    assert r.status_code == 200
    r = Client().post(gone_link, form | {"username": "gone"})
    assert r.status_code == 409 and "withdrawn" in r.content.decode()
    assert not get_user_model().objects.filter(username__in=["late", "gone"]).exists()
    assert Client().get("/invite/not-a-token/").status_code == 404


def test_a_second_invitation_replaces_the_open_one(scenario, invite):
    invite(email="twice@example.test")
    first = _link()
    invite(email="twice@example.test", role="artist")
    second = _link()
    assert first != second
    form = {"username": "twice", "password": "q" * 14, "password_again": "q" * 14}
    assert Client().post(first, form).status_code == 409
    assert Client().post(second, form).status_code == 302
    user = get_user_model().objects.get(username="twice")
    assert Membership.objects.get(user=user).role == "artist"


@pytest.mark.parametrize(
    ("email", "role", "needle"),
    [
        ("not-an-address", "viewer", "not an e-mail address"),
        ("", "viewer", "not an e-mail address"),
        ("ok@example.test", "admin", "unknown role"),
    ],
)
def test_bad_invitations_say_why(scenario, email, role, needle, invite):
    r = invite(email=email, role=role)
    assert r.status_code == 200
    assert needle in r.content.decode()
    assert not Invitation.objects.exists()


def test_inviting_a_member_is_refused(scenario, invite):
    r = invite(email=scenario.users["artist"].email)
    assert "already a member" in r.content.decode()
    assert not Invitation.objects.exists()


@pytest.mark.parametrize(
    ("form", "needle"),
    [
        ({"username": "ok", "password": "abc", "password_again": "abc"}, "too short"),
        ({"username": "ok", "password": "long enough 123", "password_again": "other"}, "differ"),
        (
            {"username": "", "password": "long enough 123", "password_again": "long enough 123"},
            "user name",
        ),
        (
            {
                "username": "producer",
                "password": "long enough 123",
                "password_again": "long enough 123",
            },
            "taken",
        ),
        (
            {
                "username": "bad name!",
                "password": "long enough 123",
                "password_again": "long enough 123",
            },
            "username",
        ),
    ],
)
def test_bad_account_forms_say_why_and_create_nothing(scenario, form, needle, invite):
    invite(email="form@example.test")
    link = _link()
    before = get_user_model().objects.count()
    r = Client().post(link, form)
    assert r.status_code == 400, r.content
    assert needle in r.content.decode().lower()
    assert get_user_model().objects.count() == before
    assert Invitation.objects.get().state == "open"


def test_password_reset_by_email_then_sign_in(scenario):
    user = scenario.users["artist"]
    client = Client()
    r = client.post("/password/reset/", {"email": user.email})
    assert r.status_code == 302
    body = mail.outbox[-1].body
    path = re.search(r"http://testserver(/password/reset/\S+/)", body).group(1)
    r = client.get(path, follow=True)
    assert "Choose a new password" in r.content.decode()
    r = client.post(
        r.redirect_chain[-1][0],
        {"new_password1": "fresh pass phrase 9", "new_password2": "fresh pass phrase 9"},
    )
    assert r.status_code == 302
    assert Client().login(username=user.username, password="fresh pass phrase 9")


def test_password_change(scenario):
    client = scenario.browser("viewer")
    assert client.get("/password/").status_code == 200
    r = client.post(
        "/password/",
        {
            "old_password": "correct-horse-battery",
            "new_password1": "another pass phrase 7",
            "new_password2": "another pass phrase 7",
        },
    )
    assert r.status_code == 302
    assert Client().login(
        username=scenario.users["viewer"].username, password="another pass phrase 7"
    )


def test_open_sign_up_is_off_by_default_and_works_when_on(settings):
    assert Client().get("/signup/").status_code == 404
    assert "Create an account" not in Client().get("/login/").content.decode()
    settings.STUDIO_OPEN_SIGNUP = True
    client = Client()
    assert "Create an account" in client.get("/login/").content.decode()
    form = {
        "display_name": "Kai",
        "email": "kai@example.test",
        "username": "kai",
        "password": "kai pass phrase 11",
        "password_again": "kai pass phrase 11",
    }
    bad = client.post("/signup/", form | {"email": "kai"})
    assert bad.status_code == 400 and "not an e-mail address" in bad.content.decode()
    r = client.post("/signup/", form)
    assert r.status_code == 302
    assert get_user_model().objects.get(username="kai").email == "kai@example.test"
    again = Client().post("/signup/", form | {"username": "kai2"})
    assert again.status_code == 400 and "exists already" in again.content.decode()
