"""``entrypoint people``: the people registry; ``people erase`` forgets a person by destroying their keys."""

from __future__ import annotations

import argparse

from workers.errors import CommandError
from workers.settings import settings

ERASE_DESCRIPTION = (
    "Erase a person (GDPR art. 17) by crypto-shredding: destroy their data key (name and e-mail in the people "
    "registry) and the data key of every partnership they took part in (every Temporal payload of it: the "
    "application, diary, meeting notes, review comments), so that no copy (Temporal history with or without the "
    "codec server, the records database, backups made afterwards) yields their data. Records a person_erased "
    "entry (ids, role, reason, time). Counts and ids stay: the cohort report still counts them and "
    "`records verify` still passes. Refused (exit 1) while the person is in an open partnership."
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = subparsers.add_parser("people", help="the people registry: show a person, erase a person")
    sub = group.add_subparsers(dest="people_command", metavar="SUBCOMMAND", required=True)
    show = sub.add_parser("show", help="a person's role and contact (or 'erased')")
    show.add_argument("person_id", metavar="PERSON_ID")
    show.set_defaults(handler=_show)
    erase = sub.add_parser(
        "erase", help="erase a person: destroy their data keys (crypto-shredding)", description=ERASE_DESCRIPTION
    )
    erase.add_argument("person_id", metavar="PERSON_ID")
    erase.add_argument(
        "--reason",
        required=True,
        help="why: a case reference such as 'GDPR request 2026-114' (no personal data; 200 chars)",
    )
    erase.add_argument(
        "--delete-workflows",
        action="store_true",
        help="also delete the person's closed workflow executions from Temporal",
    )
    erase.set_defaults(handler=_erase)


async def _show(args: argparse.Namespace) -> int:
    from activities.records import RecordStore
    from activities.records.datakeys import ERASED
    from activities.records.erasure_read import erased_at

    store = RecordStore.from_url(settings().database_url)
    try:
        role = await store.get_role(args.person_id)
        if role is None:
            raise CommandError(f"no person {args.person_id} in the people registry")
        when = await erased_at(store, args.person_id)
        contact = None if when else await store.get_contact(args.person_id)
        print(f"{args.person_id}  {role.value}")
        if when:
            print(f"  name:  {ERASED}\n  email: {ERASED}\n  erased at {when:%Y-%m-%d %H:%M} UTC")
        else:
            email = contact.email if contact and contact.email else "-"
            print(f"  name:  {contact.name if contact else '-'}\n  email: {email}")
            if contact is not None:
                given = contact.preferred_language
                print(f"  language: {contact.language.value}" + ("" if given else " (not given: the default)"))
        return 0
    finally:
        await store.close()


async def _erase(args: argparse.Namespace) -> int:
    from activities.records import RecordStore
    from workers.commands.common import temporal_client
    from workers.erasure import ErasureRefused, UnknownPerson, erase_person
    from workers.temporal import default_data_keys

    store = RecordStore.from_url(settings().database_url)
    try:
        client = await temporal_client()
        keys = default_data_keys(store.data_keys.keyring)
        try:
            done = await erase_person(client, store, keys, args.person_id, args.reason, args.delete_workflows)
        except ErasureRefused as refused:
            print(f"refused: {refused}")
            return 1
        except (UnknownPerson, ValueError) as error:
            raise CommandError(str(error)) from None
        if done.already:
            print(f"person {done.person_id} was erased already; keys checked again")
        print(
            f"erased person {done.person_id} ({done.role}): {done.keys_destroyed} data key(s) destroyed, "
            f"{len(done.partnerships)} partnership(s) no longer readable"
            + (f", {done.executions_deleted} workflow execution(s) deleted" if args.delete_workflows else "")
        )
        return 0
    finally:
        await store.close()
