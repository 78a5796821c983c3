"""Issue 15, finding 1: a mentee id equal to a mentor's id must never take over the mentor's record.

People are keyed by role and id; an application never changes a stored contact; contact changes go through
the registry's own command, with an audit record. On SQLite and PostgreSQL, with a real SMTP server.
"""

from __future__ import annotations

from temporalio.testing import ActivityEnvironment

from activities.models import RegisterApplication
from activities.notifications.delivery import deliver_pending
from activities.partnership import PartnershipActivities
from activities.records import PersonErased, RecordStore, UnknownPerson
from activities.records.registry import ContactOutcome
from domain import Contact, MentorProfile, Sector
from tests.notifications.conftest import MailServer
from tests.notifications.seed import MENTEE, MENTOR, Cast, record, seed_people
from tests.notifications.test_delivery import mailer

ATTACKER = Contact(name="Eve Applicant", email="eve@attacker.example")


async def test_an_application_with_a_mentors_id_cannot_take_over_the_mentor(
    store: RecordStore, mail_server: MailServer
) -> None:
    cast = Cast.new()
    await seed_people(store, cast)
    await store.upsert_mentor(
        MentorProfile(mentor_id=cast.mentor_id, organisation_id="org-1", sector=Sector.PRIVATE), MENTOR
    )
    # The hostile application: its mentee_id is the mentor's id, with the applicant's own contact.
    await ActivityEnvironment().run(
        PartnershipActivities(store).register_application,
        RegisterApplication(
            partnership_id=f"partnership-x-{cast.mentor_id}",
            cohort_id=cast.cohort_id,
            mentee_id=cast.mentor_id,
            institution_id="uni-helsinki",
            contact=ATTACKER,
        ),
    )
    assert await store.get_contact(cast.mentor_id, "mentor") == MENTOR  # the mentor's record is untouched
    assert await store.get_contact(cast.mentor_id, "mentee") == ATTACKER  # another person: the mentee x
    assert [str(r) for r in await store.get_roles(cast.mentor_id)] == ["mentee", "mentor"]

    # The mentor's match e-mail still goes to the mentor, with the mentor's name and the real mentee's.
    await record(store, cast.matched())
    await deliver_pending(store, mailer(mail_server), cast.pid)
    to_mentor = [m for m in mail_server.messages if str(MENTOR.email) in str(m["To"])]
    assert len(to_mentor) == 1 and MENTOR.name in str(to_mentor[0]["To"])
    assert not [m for m in mail_server.messages if str(ATTACKER.email) in str(m["To"])]
    assert ATTACKER.name not in str(to_mentor[0].get_content())


async def test_an_application_never_changes_a_stored_contact(store: RecordStore) -> None:
    cast = Cast.new()
    assert await store.register_person(cast.mentee_id, "mentee", MENTEE) == ContactOutcome.REGISTERED
    assert await store.register_person(cast.mentee_id, "mentee", MENTEE) == ContactOutcome.UNCHANGED  # a retry
    assert await store.register_person(cast.mentee_id, "mentee", ATTACKER) == ContactOutcome.KEPT
    assert await store.get_contact(cast.mentee_id, "mentee") == MENTEE

    # Known without contact: the first contact given is stored (nothing is overwritten).
    assert await store.register_person(cast.mentor_id, "mentor", None) == ContactOutcome.REGISTERED
    assert await store.register_person(cast.mentor_id, "mentor", MENTOR) == ContactOutcome.ADDED
    assert await store.get_contact(cast.mentor_id, "mentor") == MENTOR


async def test_contact_changes_go_through_the_registry_command_with_an_audit_record(store: RecordStore) -> None:
    cast = Cast.new()
    await store.register_person(cast.mentee_id, "mentee", MENTEE)
    changed = await store.change_contact(
        cast.mentee_id, "mentee", Contact(name=MENTEE.name, email="new@example.org"), actor="coord-1", reason="moved"
    )
    assert changed == ["email"]
    assert await store.get_contact(cast.mentee_id, "mentee") == Contact(name=MENTEE.name, email="new@example.org")
    assert (
        await store.change_contact(
            cast.mentee_id, "mentee", Contact(name=MENTEE.name, email="new@example.org"), actor="coord-1"
        )
        == []
    )  # nothing to change: no audit record
    trail = await store.person_audit(cast.mentee_id)
    assert [(t["action"], t["fields"], t["actor"], t["reason"]) for t in trail] == [
        ("registered", ["name", "email"], "application", None),
        ("contact_changed", ["email"], "coord-1", "moved"),
    ]
    assert "new@example.org" not in repr(trail) and MENTEE.name not in repr(trail)  # field names, never values

    try:
        await store.change_contact(cast.mentor_id, "mentor", MENTOR, actor="coord-1")
        raise AssertionError("an unknown person's contact was changed")
    except UnknownPerson as error:
        assert str(error) == f"no mentor {cast.mentor_id} in the people registry"
    await store.erase_person(cast.mentee_id)
    try:
        await store.change_contact(cast.mentee_id, "mentee", MENTEE, actor="coord-1")
        raise AssertionError("an erased person's contact was changed")
    except PersonErased:
        pass
    assert [t["action"] for t in await store.person_audit(cast.mentee_id)][-1] == "erased"


async def test_a_mentor_import_changes_a_mentor_contact_with_an_audit_record(store: RecordStore) -> None:
    cast = Cast.new()
    profile = MentorProfile(mentor_id=cast.mentor_id, organisation_id="org-1", sector=Sector.PUBLIC)
    await store.upsert_mentor(profile, MENTOR)
    await store.register_person(cast.mentor_id, "mentee", ATTACKER)
    await store.upsert_mentor(profile, Contact(name=MENTOR.name, email="mikko@new.example"))
    assert await store.get_contact(cast.mentor_id, "mentor") == Contact(name=MENTOR.name, email="mikko@new.example")
    assert await store.get_contact(cast.mentor_id, "mentee") == ATTACKER  # only the mentor record is touched
    trail = await store.person_audit(cast.mentor_id, "mentor")
    assert [(t["action"], t["actor"]) for t in trail] == [
        ("registered", "mentor-import"),
        ("contact_changed", "mentor-import"),
    ]
