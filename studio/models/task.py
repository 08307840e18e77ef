from django.conf import settings
from django.db import models

from studio.models.song import Stage
from studio.querysets import ProjectScopedQuerySet

# A task planned at more than 1,000 hours is a typo, not a plan.
ESTIMATE_MAX_MINUTES = 60_000


class TaskStatus(models.TextChoices):
    TODO = "todo", "To do"
    DOING = "doing", "Doing"
    REVIEW = "review", "Review"
    DONE = "done", "Done"


class Task(models.Model):
    """A piece of work on a song in one stage. `rank` orders it within its board column.

    A column is (project, status); ranks in a column are dense 0..n-1, kept so by the services
    under the project lock.
    """

    project = models.ForeignKey("studio.Project", on_delete=models.CASCADE, related_name="tasks")
    song = models.ForeignKey("studio.Song", on_delete=models.CASCADE, related_name="tasks")
    stage = models.CharField(max_length=20, choices=Stage.choices)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=10000)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tasks",
    )
    due_date = models.DateField(null=True, blank=True)
    # The time planned for the task, in minutes (timesheets sums it against the time logged).
    estimate_minutes = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=TaskStatus.choices, default=TaskStatus.TODO)
    rank = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProjectScopedQuerySet.as_manager()

    class Meta:
        ordering = ["project_id", "status", "rank", "id"]
        indexes = [models.Index(fields=["project", "status", "rank"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(estimate_minutes__isnull=True)
                | models.Q(estimate_minutes__lte=ESTIMATE_MAX_MINUTES),
                name="task_estimate_sane",
            ),
        ]

    def __str__(self) -> str:
        return self.title
