"""``entrypoint outbox``: list the notification outbox, and deliver what is pending now.

The listing shows keys, templates, recipient roles and ids, status and reasons: never names or
e-mail addresses (those stay in the people registry).
"""

from __future__ import annotations

import argparse
import json

from workers.errors import CommandError
from workers.rendering import when
from workers.settings import settings

STATUSES = ("pending", "sent", "undeliverable")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    outbox = subparsers.add_parser(
        "outbox",
        help="list the notification outbox, or deliver what is pending",
        description="List the notifications the partnerships have caused, oldest first: one row per notice "
        "and recipient, with its status (pending, sent, undeliverable) and, when it was not sent, the reason. "
        "Without ENTRYPOINT_SMTP_URL the worker sends nothing and notifications wait here as pending.",
        epilog="Examples: entrypoint outbox --status pending; entrypoint outbox show KEY; "
        "entrypoint outbox deliver --partnership P-1",
    )
    _list_options(outbox, default=None)
    outbox.set_defaults(handler=_list)
    sub = outbox.add_subparsers(dest="outbox_command", metavar="[list | show | deliver]")

    listing = sub.add_parser("list", help="list the outbox (the default)", description="List the outbox.")
    _list_options(listing, default=argparse.SUPPRESS)
    listing.set_defaults(handler=_list)

    show = sub.add_parser(
        "show",
        help="print one notification as rendered (subject and text)",
        description="Print the notification with this KEY (from `entrypoint outbox`) as it is or was sent: its "
        "recipient by role and id, status, subject and text, rendered from the partnership's records.",
    )
    show.add_argument("key", metavar="KEY")
    show.set_defaults(handler=_show)

    deliver = sub.add_parser(
        "deliver",
        help="deliver pending notifications now (needs ENTRYPOINT_SMTP_URL)",
        description="Send the pending notifications now, through the SMTP server in ENTRYPOINT_SMTP_URL "
        "(smtp://[user:password@]host:port[?from=addr&starttls=1]). Safe alongside a running worker: "
        "no notification is sent twice. Recipients without a usable e-mail address are marked undeliverable.",
    )
    # SUPPRESS: an option given before the subcommand (outbox --partnership X deliver) is not reset.
    deliver.add_argument(
        "--partnership", metavar="ID", default=argparse.SUPPRESS, help="only this partnership's notifications"
    )
    deliver.set_defaults(handler=_deliver)


def _list_options(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "--status", choices=STATUSES, type=str.lower, default=default, help="only notifications with this status"
    )
    parser.add_argument("--partnership", metavar="ID", default=default, help="only this partnership's notifications")
    parser.add_argument("--json", action="store_true", default=default, help="JSON lines instead of a table")


def _database_error(error: Exception) -> CommandError:
    from activities.records.engine import display_url

    return CommandError(
        f"cannot use the records database {display_url(settings().database_url)} ({type(error).__name__}); "
        "is it reachable?"
    )


def table(rows: list[list[str]], header: list[str]) -> str:
    from workers.rendering import table as render_table

    return render_table(rows, header)


async def _list(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from workers.commands.records import open_store

    try:
        async with open_store() as store:
            messages = await store.list_outbox(status=args.status, partnership_id=args.partnership)
    except (SQLAlchemyError, OSError) as error:
        raise _database_error(error) from None
    if args.json:
        for message in messages:
            print(json.dumps(message.model_dump(mode="json"), sort_keys=True))
        return 0
    if not messages:
        print("the outbox has no notifications" + (" that match" if args.status or args.partnership else ""))
        return 0
    header = ["KEY", "TEMPLATE", "ROLE", "RECIPIENT", "STATUS", "ATTEMPTS", "CREATED", "REASON"]
    rows = [
        [
            m.key,
            m.template,
            m.recipient_role.value,
            m.recipient_id or "-",
            m.status.value,
            str(m.attempts),
            when(m.created_at),
            m.reason or "",
        ]
        for m in messages
    ]
    print(table(rows, header))
    counts = {status: sum(1 for m in messages if m.status.value == status) for status in STATUSES}
    print(f"\n{len(messages)} notification(s): " + ", ".join(f"{n} {status}" for status, n in counts.items()))
    return 0


async def _show(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from activities.notifications.rendering import TemplateMissing, render
    from domain.partnership import evolve, initial_state
    from domain.partnership.notices import Recipient
    from workers.commands.records import open_store

    try:
        async with open_store() as store:
            found = [m for m in await store.list_outbox() if m.key == args.key]
            if not found:
                raise CommandError(f"no notification {args.key} in the outbox; `entrypoint outbox` lists the keys")
            message = found[0]
            events = [stored.event for stored in await store.read_log(message.partnership_id)]
            if len(events) < message.event_version:
                raise CommandError(
                    f"partnership {message.partnership_id} has no event {message.event_version} recorded; "
                    "check the records with `entrypoint records verify`",
                    exit_code=1,
                )
            state = initial_state(message.partnership_id)
            for event in events[: message.event_version]:
                state = evolve(state, event)
            contact = await store.get_contact(message.recipient_id) if message.recipient_id else None
            counterpart = {Recipient.MENTEE: state.mentor_id, Recipient.MENTOR: state.mentee_id}.get(
                message.recipient_role
            )
            other = await store.get_contact(counterpart) if counterpart else None
    except (SQLAlchemyError, OSError) as error:
        raise _database_error(error) from None
    try:
        rendered = render(
            message.template,
            message.recipient_role,
            name=contact.name if contact else f"{message.recipient_role.value} {message.recipient_id or '-'}",
            state=state,
            event=events[message.event_version - 1],
            counterpart_name=other.name if other else None,
            language=contact.preferred_language if contact else None,  # as the recipient gets it
        )
    except (TemplateMissing, KeyError, ValueError) as error:
        raise CommandError(f"cannot render template {message.template} ({type(error).__name__})", 1) from None
    status = message.status.value + (f" ({message.reason})" if message.reason else "")
    if message.sent_at:
        status += f" at {when(message.sent_at)}"
    print(f"Key:       {message.key}")
    print(f"To:        {message.recipient_role.value} {message.recipient_id or '-'}")
    print(f"Template:  {message.template} (event {message.event_version}: {message.event_type})")
    print(f"Status:    {status}; created {when(message.created_at)}")
    print(f"Subject:   {rendered.subject}")
    print()
    print(rendered.body, end="")
    return 0


async def _deliver(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from activities.notifications.delivery import DeliveryFailed, deliver_pending
    from activities.notifications.gatherings import deliver_gathering_pending
    from activities.notifications.smtp import SmtpMailer, SmtpUrlError

    url = settings().smtp_url
    if not url:
        raise CommandError(
            "ENTRYPOINT_SMTP_URL is not set, so nothing can be sent; set it to "
            "smtp://[user:password@]host:port[?from=addr&starttls=1] (the notifications stay pending meanwhile)"
        )
    try:
        mailer = SmtpMailer.from_url(url)
    except SmtpUrlError as error:
        raise CommandError(f"ENTRYPOINT_SMTP_URL: {error}") from None
    from workers.commands.records import open_store

    try:
        async with open_store() as store:
            result = await deliver_pending(store, mailer, args.partnership)
            if args.partnership is None:  # everything: the gatherings' notices too
                more = await deliver_gathering_pending(store, mailer)
                result = result.model_copy(
                    update={
                        "sent": result.sent + more.sent,
                        "undeliverable": result.undeliverable + more.undeliverable,
                        "pending": result.pending + more.pending,
                    }
                )
    except DeliveryFailed as error:
        raise CommandError(f"{error}; what is not sent stays pending (run this again later)") from None
    except (SQLAlchemyError, OSError) as error:
        raise _database_error(error) from None
    print(f"sent {result.sent}, undeliverable {result.undeliverable}, still pending {result.pending}")
    return 0
