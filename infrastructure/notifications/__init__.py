"""The notifier: follows the event log and sends the e-mail the notification rules call for (docs/notifications.md)."""
