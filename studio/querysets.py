"""Querysets that scope every read to the user's memberships (NetBox's `restrict` idea)."""

from __future__ import annotations

from typing import Any

from django.db import models


class ProjectQuerySet(models.QuerySet):
    def for_member(self, user: Any) -> ProjectQuerySet:
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(memberships__user=user)


class MembershipQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> MembershipQuerySet:
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(project__memberships__user=user)


class ProjectScopedQuerySet(models.QuerySet):
    """For models that belong to a project through `model.project_path` (default "project")."""

    def visible_to(self, user: Any) -> ProjectScopedQuerySet:
        if not getattr(user, "is_authenticated", False):
            return self.none()
        path = getattr(self.model, "project_path", "project")
        return self.filter(**{f"{path}__memberships__user": user})
