"""Rendering of reports for people: text tables and a self-contained HTML page with simple charts."""
