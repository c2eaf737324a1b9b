"""Personal data: per-person encryption and erasure by destroying keys."""
