"""The one owner of the analytics database connection."""
