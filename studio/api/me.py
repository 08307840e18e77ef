"""GET/PATCH /api/me/: the signed-in person's own profile (display name and time zone). It needs
no capability: everyone who is signed in has exactly one, their own."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from studio.errors import Invalid
from studio.services.accounts import DISPLAY_NAME_MAX, profile_get, profile_update


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    display_name = serializers.CharField(help_text="shown to the team; empty shows the username")
    time_zone = serializers.CharField(help_text="IANA name, e.g. Europe/Paris")


class MeUpdateSerializer(serializers.Serializer):
    """Shapes only: whether the zone exists is the service's rule (one sentence for both doors)."""

    display_name = serializers.CharField(
        required=False, allow_blank=True, max_length=DISPLAY_NAME_MAX, trim_whitespace=True
    )
    time_zone = serializers.CharField(required=False, max_length=64)


def _me(user: Any) -> dict[str, Any]:
    profile = profile_get(user=user)
    return {
        "id": user.pk,
        "username": user.username,
        "display_name": user.first_name,
        "time_zone": profile.time_zone,
    }


class MeView(APIView):
    """The signed-in user's profile. PATCH changes the fields it names."""

    http_method_names = ["get", "patch", "head", "options"]

    @extend_schema(responses={200: MeSerializer})
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(_me(request.user)).data)

    @extend_schema(request=MeUpdateSerializer, responses={200: MeSerializer})
    def patch(self, request: Request) -> Response:
        user: Any = request.user
        if not isinstance(request.data, dict):
            raise Invalid("expected a JSON object with display_name and/or time_zone")
        data = MeUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        profile_update(
            actor=user,
            display_name=data.validated_data.get("display_name"),
            time_zone=data.validated_data.get("time_zone"),
        )
        return Response(MeSerializer(_me(user)).data)
