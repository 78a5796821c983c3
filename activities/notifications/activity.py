"""The ``deliver_notifications`` activity: deliver a partnership's pending outbox messages.

Safe to retry and to run twice at once: every message is claimed before it is sent (see ``claims``),
and claims end with the attempt that took them (see ``attempt_ends``).
A mail server failure raises, so Temporal retries; the messages stay pending meanwhile. With no
mailer configured the activity sends nothing and reports what is pending.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from temporalio import activity

from activities.models import Delivered, DeliverNotifications
from activities.notifications.delivery import deliver_pending
from activities.notifications.smtp import Mailer
from activities.records.store import RecordStore

ATTEMPT_MARGIN = timedelta(seconds=1)


class NotificationActivities:
    def __init__(self, store: RecordStore, mailer: Mailer | None) -> None:
        self._store = store
        self._mailer = mailer

    @activity.defn(name="deliver_notifications")
    async def deliver_notifications(self, request: DeliverNotifications) -> Delivered:
        """Send the partnership's pending notifications; raises DeliveryFailed if the mail server fails."""
        info = activity.info()
        with structlog.contextvars.bound_contextvars(partnership_id=request.partnership_id, attempt=info.attempt):
            return await deliver_pending(self._store, self._mailer, request.partnership_id, until=attempt_ends(info))


def attempt_ends(info: activity.Info) -> datetime | None:
    """When Temporal gives up on this attempt (start-to-close), less a second for clock skew.

    Sends finish before it and claims expire at it, so the retry that follows a timed-out or killed
    attempt finds that attempt's messages free at once, while no two live attempts ever send the same
    one. (A message an attempt sent but was killed before recording is sent again, with the same
    Message-ID, so the receiver can drop the copy.)
    """
    if info.start_to_close_timeout is None:
        return None
    return info.started_time + info.start_to_close_timeout - ATTEMPT_MARGIN
