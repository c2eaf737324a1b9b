"""The knowledge base: each article as it stands, its search terms per edition, and readers' votes."""
