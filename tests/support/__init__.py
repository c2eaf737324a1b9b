"""What tests of every tier share that is not a fixture: a deterministic clock, helpers for real processes."""
