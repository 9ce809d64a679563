"""The dashboard's pages as data: each page is a list of sections (metric tiles, charts,
tables) computed from one set of filters. The web layer only renders them, so the same
numbers can be tested without a browser and exported as CSV/XLSX."""
