"""Ingest: a business date's landing files typed into ``raw.*`` (quarantine with reasons), and the delivery verdict."""
