"""timesheets models."""
