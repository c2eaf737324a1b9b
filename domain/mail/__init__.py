"""E-mail as a channel: mailboxes, inbound messages and the thread identifiers outgoing mail carries."""
