"""The event log: one row per change others should see, numbered per project."""

from typing import Any

from django.conf import settings
from django.db import models


class Event(models.Model):
    """One change others should see, numbered per project. The log is the truth; websocket
    delivery is best effort. Written only by `eventlog.services.event_record`."""

    project = models.ForeignKey("studio.Project", on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveBigIntegerField()
    type = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["project", "seq"], name="event_unique_seq"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.type}"

    def to_frame(self) -> dict[str, Any]:
        """The websocket/API form: {seq, type, payload, actor, at}."""
        return {
            "seq": self.seq,
            "type": self.type,
            "payload": self.payload,
            "actor": (
                {"id": self.actor_id, "username": self.actor.username} if self.actor else None
            ),
            "at": self.created_at.isoformat(),
        }
