"""Notifications: the outbox's notices rendered from packaged templates and sent over SMTP, each exactly once.

- ``rendering``: ``render(template, role, name=..., state=..., event=...)`` -> subject and plain-text body.
- ``smtp``: ``SmtpMailer.from_url(ENTRYPOINT_SMTP_URL)``; the ``Mailer`` protocol.
- ``claims``: atomic, leased claims on outbox messages (no message is sent twice).
- ``delivery``: ``deliver_pending(store, mailer | None, partnership_id=None) -> Delivered``.
- ``activity``: ``NotificationActivities(store, mailer).deliver_notifications`` (Temporal activity); partnerships
  started since the ``record-and-deliver`` patch deliver in ``PartnershipActivities.record_and_deliver`` instead.
"""
