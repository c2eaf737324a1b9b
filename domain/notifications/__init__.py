"""E-mail notifications: what is told to whom (recipients.py), templates and opt-outs as tenants set them."""
