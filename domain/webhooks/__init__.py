"""A tenant's webhook endpoints as they are put on record: where its events go, which ones, and whether they go."""
