"""The job runner: a registry of job kinds (registry), one Celery task that runs any job by id
(runner, and audio.tasks for the task itself), the built-in kinds (kinds), each run's work
folder (workdir), the one sweep (sweep) and the worker's recovery hooks (worker)."""
