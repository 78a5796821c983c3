"""Notifications: the outbox's notices rendered from packaged templates and sent over SMTP, each exactly once."""
