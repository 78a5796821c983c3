"""Who is told what: the notices an event causes. Pure; delivery is the activities' business.

A notice names a recipient role and a template; the notification activity resolves the role to a
person id, the id to contact details (in the people registry), and renders the template.
"""

from __future__ import annotations

from domain.frozen import Frozen
from domain.partnership import events as e
from domain.partnership.commands import Party
from domain.partnership.state import PartnershipState
from domain.people import Role

Recipient = Role
"""Who a notice is for: a role (the person is resolved at delivery)."""


class Notice(Frozen):
    recipient: Recipient
    template: str


PAIR = (Recipient.MENTEE, Recipient.MENTOR)


def _parties(parties: tuple[Party, ...]) -> tuple[Recipient, ...]:
    return tuple(Recipient(p.value) for p in parties)


def notices_for(event: e.Event, before: PartnershipState) -> list[Notice]:
    """The notices ``event`` causes, given the state it was applied to."""
    recipients: tuple[Recipient, ...] = ()
    template: str = event.type
    match event:
        case e.ApplicationAccepted() | e.ApplicationRejected():
            recipients = (Recipient.MENTEE,) if before.mentee is not None else ()  # a malformed one: nobody to tell
        case e.MatchProposed():
            recipients = PAIR
        case e.AgreementAmended():
            recipients = PAIR
        case e.SigningReminderDue(parties=parties):
            recipients = _parties(parties)
        case e.SignatureOverdue() | e.MeetingLapsed() | e.ReviewOverdue():
            recipients = (Recipient.COORDINATOR,)
        case e.PartnershipStarted():
            recipients, template = PAIR, "mentoring_toolkit"
        case e.MeetingNudgeDue():
            recipients = PAIR
        case e.CoordinatorIntervened():
            recipients, template = PAIR, "meeting_nudge_due"
        case e.MeetingRescheduled() | e.PartnershipPaused() | e.PartnershipResumed() | e.PartnershipExtended():
            recipients = PAIR
        case e.RematchRequested():
            recipients = (Recipient.MENTEE,)
        case e.PartyWithdrew(party=Party.MENTOR):
            recipients, template = (Recipient.MENTEE, Recipient.COORDINATOR), "mentor_withdrew"
        case e.PartyWithdrew(party=Party.MENTEE):
            has_mentor = before.mentor_id is not None and not before.mentor_withdrawn
            recipients = (Recipient.MENTOR, Recipient.COORDINATOR) if has_mentor else (Recipient.COORDINATOR,)
            template = "mentee_withdrew"
        case e.PartnershipEndedEarly():
            recipients = PAIR if before.mentor_id else (Recipient.MENTEE,)
        case e.ProgrammeEnded():
            recipients, template = PAIR, "closing_review_request"
        case e.ReviewReminderDue(parties=parties):
            recipients = _parties(parties)
        case e.PartnershipCompleted():
            recipients = PAIR
        case e.CheckinRequested():
            recipients, template = PAIR, "checkin_request"
        case e.CheckinNudgeDue(parties=parties):
            recipients = _parties(parties)
        case e.CheckinAnswered(low=True) if before.attention is None:
            recipients, template = (Recipient.COORDINATOR,), "checkin_low"
    if not before.mentor_id or before.mentor_withdrawn:
        recipients = tuple(r for r in recipients if r != Recipient.MENTOR or isinstance(event, e.MatchProposed))
    return [Notice(recipient=r, template=template) for r in recipients]
