"""W1's plain-SQL baseline: the ticket commands without event sourcing, served beside the product's own routes.

`router` holds the endpoints, `app` the app that mounts them on the product's API, and
`python -m bench.w1_baseline` serves that app as `ledgerdesk serve` serves the product's.
"""
