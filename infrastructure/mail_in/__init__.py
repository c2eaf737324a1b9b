"""Inbound e-mail (docs/email.md): parse once, then a pipeline of small steps, behind an SMTP/LMTP receiver or a pipe.

`parsing.py` reads the raw message (charsets, encoded words, parts); `bodies.py` makes its text and
sanitised HTML; `replies.py` cuts quoted history; `files.py` is how its attachments leave; the
steps (`automatic.py`, `threading.py`, `delivery.py`) decide what it becomes; `codes.py` answers
the mail server; `smtp.py` and `pipe.py` are the two ways mail arrives.
"""
