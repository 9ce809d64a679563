"""The web dashboard and the REST API: a thin transport over the services (DESIGN.md)."""
