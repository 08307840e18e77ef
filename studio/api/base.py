"""The shared shape of Studio's viewsets: scoped querysets, declared capabilities, query filters."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from django.db.models import F
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import mixins, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response

from studio.api.filters import DeclaredFilters
from studio.api.permissions import VIEWER_ROLE, HasActionCapability
from studio.parsing import whole_number
from studio.querysets import ProjectScopedQuerySet

READ_ACTIONS = ("list", "retrieve")


def id_param(name: str, what: str, required: bool = False) -> OpenApiParameter:
    """An `?<name>=<id>` list filter, for the schema."""
    return OpenApiParameter(name, OpenApiTypes.INT, description=f"only {what}", required=required)


class ScopedViewSet(viewsets.GenericViewSet):
    """Querysets only ever hold rows of the user's projects (another project's id is 404).

    Subclasses declare `model`, `action_capabilities` (every action, including extra @actions)
    and the list's `filters` / `choice_filters` (studio.api.filters: the same declaration
    filters the list and documents its parameters).
    """

    permission_classes = [HasActionCapability]
    filter_backends = [DeclaredFilters]
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]
    model: ClassVar[Any]
    action_capabilities: ClassVar[dict[str, str | None]] = {}
    filters: ClassVar[dict[str, str]] = {}
    choice_filters: ClassVar[dict[str, tuple[str, Iterable[str]]]] = {}
    select: ClassVar[tuple[str, ...]] = ()

    def base_queryset(self) -> Any:
        return self.model.objects.visible_to(self.request.user)

    def get_queryset(self) -> Any:
        qs = self.base_queryset()
        if self.select:
            qs = qs.select_related(*self.select)
        return qs

    def get_object(self) -> Any:
        """The row by its id in the scoped queryset, with the viewer's role in the same query
        when the scope is the membership join (the object check then reads no more rows)."""
        lookup = self.kwargs.get(self.lookup_url_kwarg or self.lookup_field, "")
        if whole_number(str(lookup)) is None:
            raise Http404
        queryset = self.filter_queryset(self.get_queryset())
        if self._scoped_by_membership():
            path = getattr(self.model, "project_path", "project")
            queryset = queryset.annotate(**{VIEWER_ROLE: F(f"{path}__memberships__role")})
        obj = get_object_or_404(queryset, **{self.lookup_field: lookup})
        self.check_object_permissions(self.request, obj)
        return obj

    def _scoped_by_membership(self) -> bool:
        return type(self).base_queryset is ScopedViewSet.base_queryset and issubclass(
            self.model.objects.get_queryset().__class__, ProjectScopedQuerySet
        )

    def input(self, serializer_class: Any, *, partial: bool = False) -> dict[str, Any]:
        if not isinstance(self.request.data, dict):
            raise ValidationError({"non_field_errors": ["expected a JSON object"]})
        serializer = serializer_class(
            data=self.request.data, partial=partial, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def output(self, instance: Any, *, status: int = 200) -> Response:
        return Response(self.get_serializer(instance).data, status=status)

    def output_fresh(self, instance: Any, *, status: int = 200) -> Response:
        """A written row as a read gives it: read again through the scoped queryset (with its
        joins and annotations), so a write answers exactly what the next GET would."""
        return self.output(self.get_queryset().get(pk=instance.pk), status=status)


class ListRetrieveMixin(mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Plain scoped list and detail reads."""


def no_content(_: Request | None = None) -> Response:
    return Response(status=204)
