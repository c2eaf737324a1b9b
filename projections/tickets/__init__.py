"""One row per ticket: the queues, lists and search read it."""
