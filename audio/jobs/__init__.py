"""The job runner: a registry of job kinds (registry), one Celery task that runs any job by id
(runner, tasks), the built-in kinds (kinds) and the one sweep (sweep). Importing this package
imports none of them, so the websocket consumer can share the progress throttle (progress)."""
