"""Route-level authorization: each viewset declares the capability every action needs.

The services check the same capability again (resource level); this early check keeps a denied
request from touching anything, and the declarations are what the authorization matrix test walks.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

from studio.roles import role_can
from studio.selectors import member_role

# The annotation naming the requesting user's role in the object's project.
VIEWER_ROLE = "viewer_role"


def object_project_id(obj: Any) -> int:
    path = getattr(type(obj), "project_path", "project")
    for part in path.split("__")[:-1]:
        obj = getattr(obj, part)
    last = path.split("__")[-1]
    return getattr(obj, f"{last}_id") if last != "" else obj.pk


class HasActionCapability(BasePermission):
    """Requires a signed-in user; object actions need the declared capability in the object's
    project (a non-member never gets here: querysets are scoped, so they see 404)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        capabilities = getattr(view, "action_capabilities", None)
        if capabilities is None or view.action is None:
            return True
        if view.action not in capabilities:
            raise RuntimeError(f"{type(view).__name__}.{view.action} has no declared capability")
        return True

    def has_object_permission(self, request: Any, view: Any, obj: Any) -> bool:
        capability = view.action_capabilities.get(view.action)
        if capability is None:
            return True
        self.message = f"your role may not do this ({capability})"
        if VIEWER_ROLE in obj.__dict__:  # read with the row (ScopedViewSet.get_object)
            return role_can(obj.__dict__[VIEWER_ROLE], capability)
        project_id = obj.pk if type(obj).__name__ == "Project" else object_project_id(obj)
        return role_can(member_role(user=request.user, project_id=project_id), capability)
