"""Suggestions from each tenant's history (docs/suggestions.md): the model (scikit-learn), its versions, the process."""
