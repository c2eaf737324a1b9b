"""Analyst exports: the tickets, events, SLA targets and comments as typed Parquet or CSV files (docs/analytics.md).

One module per dataset says its columns (a pyarrow schema) and yields its rows as record batches,
a page at a time; `files` writes the batches as they come, so memory stays bounded by one page
however large the desk. No personal data leaves in an export (`personal`).
"""
