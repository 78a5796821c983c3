"""The ``deliver_notifications`` activity: deliver a partnership's pending outbox messages.

Safe to retry and to run twice at once: every message is claimed before it is sent (see ``claims``).
A mail server failure raises, so Temporal retries; the messages stay pending meanwhile. With no
mailer configured the activity sends nothing and reports what is pending.
"""

from __future__ import annotations

import structlog
from temporalio import activity

from activities.models import Delivered, DeliverNotifications
from activities.notifications.delivery import deliver_pending
from activities.notifications.smtp import Mailer
from activities.records.store import RecordStore


class NotificationActivities:
    def __init__(self, store: RecordStore, mailer: Mailer | None) -> None:
        self._store = store
        self._mailer = mailer

    @activity.defn(name="deliver_notifications")
    async def deliver_notifications(self, request: DeliverNotifications) -> Delivered:
        """Send the partnership's pending notifications; raises DeliveryFailed if the mail server fails."""
        attempt = activity.info().attempt if activity.in_activity() else 1
        with structlog.contextvars.bound_contextvars(partnership_id=request.partnership_id, attempt=attempt):
            return await deliver_pending(self._store, self._mailer, request.partnership_id)
