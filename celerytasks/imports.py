"""Tasks for member imports."""
