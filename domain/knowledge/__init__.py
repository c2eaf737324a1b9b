"""The knowledge base: a tenant's help articles, every version kept, and what readers said of them."""
