"""Bucket event notifications: targets, rules and event records (pure; docs/notifications.md)."""
