"""Attachments stored for real: files sniffed, hashed, encrypted with their owner's data key and kept in a blob store.

`AttachmentStore` (store.py) is the one entry point; docs/attachments.md describes the layout.
"""
