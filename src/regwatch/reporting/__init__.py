"""Reporting: every report and filing rendered from the warehouse (Jinja, charts, PII masking, CSV cells)."""
