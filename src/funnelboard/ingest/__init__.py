"""Import: read a file, map it to a canonical table, validate, and load it in one transaction."""
