"""songsheet models."""
