from studio.models.credit import Credit, CreditRole
from studio.models.invitation import Invitation
from studio.models.profile import Profile
from studio.models.project import Membership, Project
from studio.models.rights import Clearance, Right, SampleKind, SampleUse, Split
from studio.models.song import Song, Stage, StageChange
from studio.models.task import Task, TaskStatus

__all__ = [
    "Clearance",
    "Credit",
    "CreditRole",
    "Invitation",
    "Membership",
    "Profile",
    "Project",
    "Right",
    "SampleKind",
    "SampleUse",
    "Song",
    "Split",
    "Stage",
    "StageChange",
    "Task",
    "TaskStatus",
]
