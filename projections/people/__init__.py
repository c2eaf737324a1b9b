"""People: which tickets hold whose personal data (what an erasure visits)."""
