"""The command-line interface (Typer + Rich): thin commands over :mod:`funnelboard.services`."""
