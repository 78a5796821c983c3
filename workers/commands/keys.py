"""``entrypoint keys``: the keyring that encrypts every Temporal payload (see README, Data protection)."""

from __future__ import annotations

import argparse
import json

from activities.keys import KEYRING_ENV, Keyring, ensure_keyring, keyring_file, load_keyring, rotate_keyring

DESCRIPTION = (
    "The keyring: AES-256 keys that encrypt every Temporal payload and wrap each person's data key. "
    f"It comes from {KEYRING_ENV} (the keyring's JSON) or from ENTRYPOINT_KEYRING_FILE (default var/keyring.json). "
    "Key material is never printed."
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "keys", help="the payload-encryption keyring (init, list, rotate)", description=DESCRIPTION
    )
    commands = parser.add_subparsers(dest="keys_command", metavar="SUBCOMMAND", required=True)
    init = commands.add_parser(
        "init",
        help="create the keyring file when there is none (setup and make run do this too)",
        description="Create the keyring file (mode 0600) with one new key, unless a keyring exists already.",
    )
    init.set_defaults(handler=_init)
    generate = commands.add_parser(
        "generate",
        help=f"print a new keyring's JSON (for {KEYRING_ENV} in a secret store); writes nothing",
        description=f"Print a new keyring (one key) as JSON on stdout, to keep in a secret store and pass as "
        f"{KEYRING_ENV} (docker compose does). Treat the output as a secret.",
    )
    generate.set_defaults(handler=_generate)
    listing = commands.add_parser("list", help="list the key ids, which one is current, and when each was made")
    listing.set_defaults(handler=_list)
    rotate = commands.add_parser(
        "rotate",
        help="add a new current key; older keys stay so every older payload stays readable",
        description="Add a new key to the keyring file and make it current. New payloads are encrypted under it; "
        "payloads under the older keys stay readable. Restart the workers, the codec server and any long-running "
        "client afterwards so they pick it up. Refused when the keyring comes from ENTRYPOINT_KEYRING.",
    )
    rotate.set_defaults(handler=_rotate)


async def _init(args: argparse.Namespace) -> int:
    keyring, created = ensure_keyring()
    print(f"keyring {keyring.source}: {'created, key ' + keyring.current if created else 'exists already'}")
    return 0


async def _generate(args: argparse.Namespace) -> int:
    print(json.dumps(json.loads(Keyring.generate(source=KEYRING_ENV).to_json()), separators=(",", ":")))
    return 0


async def _list(args: argparse.Namespace) -> int:
    keyring = load_keyring()
    print(f"keyring {keyring.source}: {len(keyring.keys)} key(s)")
    for key in sorted(keyring.keys.values(), key=lambda k: k.created_at):
        print(f"  {key.id}  created {key.created_at or '?'}{'  (current)' if key.id == keyring.current else ''}")
    return 0


async def _rotate(args: argparse.Namespace) -> int:
    keyring = rotate_keyring()
    print(f"keyring {keyring_file()}: new current key {keyring.current}; {len(keyring.keys) - 1} older key(s) kept")
    print("restart the workers and the codec server so they encrypt under the new key")
    return 0
