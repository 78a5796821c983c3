"""The gateway's application endpoint takes the contact's preferred_language (en, fi, sv), optional and
validated: the language reaches the people registry, a wrong one is a 422 naming the field, never the value."""

from __future__ import annotations

from domain import Language
from tests.gateway.conftest import Live
from tests.gateway.test_contract import PROBLEM, application, key, submit, wait_stage


async def test_an_application_carries_the_preferred_language_to_the_registry(live: Live) -> None:
    async with live.http() as http:
        contact = {"name": "Saga Lindqvist", "email": "saga@example.org", "preferred_language": "sv"}
        body = application(live.cohort_id, contact=contact)
        pid = await submit(http, live, contact=contact, mentee_id=body["mentee_id"])
        await wait_stage(http, live, pid, "AWAITING_MATCH")
        stored = await live.records.get_contact(body["mentee_id"], "mentee")
        assert stored is not None and stored.preferred_language == Language.SV

        plain = application(live.cohort_id)  # none given: English
        pid = await submit(http, live, mentee_id=plain["mentee_id"])
        await wait_stage(http, live, pid, "AWAITING_MATCH")
        stored = await live.records.get_contact(plain["mentee_id"], "mentee")
        assert stored is not None and stored.preferred_language is None and stored.language == Language.EN


async def test_an_unknown_language_is_a_422_naming_the_field(live: Live) -> None:
    async with live.http() as http:
        contact = {"name": "Secret Person", "email": "secret@example.org", "preferred_language": "klingon"}
        response = await http.post(
            "/v1/applications",
            json=application(live.cohort_id, contact=contact),
            headers=live.headers("coordinator", key()),
        )
        assert response.status_code == 422 and response.headers["content-type"] == PROBLEM
        assert [e["pointer"] for e in response.json()["errors"]] == ["/contact/preferred_language"]
        assert "klingon" not in response.text and "Secret Person" not in response.text
