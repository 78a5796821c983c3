"""The one place where a Temporal client is made: address, namespace and the data converter.

The data converter is pydantic JSON, then the payload codec (workers/codec.py): every payload AES-256-GCM
encrypted under the keyring (activities/keys.py), and failures too (message and stack trace moved into an
encoded attribute). The worker, the command line, the tests and the benchmarks all use ``data_converter()``.
"""

from __future__ import annotations

import asyncio
import dataclasses

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes

from activities.keys import Keyring, load_keyring
from activities.records.datakeys import DataKeys
from activities.records.engine import Database, create_engine
from workers.codec import EncryptionCodec
from workers.settings import Settings
from workers.settings import settings as current_settings


def data_converter(keyring: Keyring | None = None, data_keys: DataKeys | None = None) -> DataConverter:
    """Pydantic JSON + encryption; the keyring defaults to the process's (ENTRYPOINT_KEYRING or the file).

    Each partnership's payloads are under its own data key, so erasure can shred them (workers/codec.py);
    the data keys default to the process's (``default_data_keys``: ENTRYPOINT_DATA_KEYS_URL, else the
    records database).
    """
    keyring = keyring or load_keyring()
    data_keys = data_keys or default_data_keys(keyring)
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(keyring, data_keys),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


_DEFAULT_DATA_KEYS: dict[tuple[str, str, int], DataKeys] = {}


def default_data_keys(keyring: Keyring) -> DataKeys:
    """The process's data keys (ENTRYPOINT_DATA_KEYS_URL, else ENTRYPOINT_DATABASE_URL), one store per event loop
    (an async engine belongs to the loop it runs in). Nothing connects until a partnership payload is coded."""
    config = current_settings()
    url = config.data_keys_url or config.database_url
    try:
        loop = id(asyncio.get_running_loop())
    except RuntimeError:
        loop = 0
    cache_key = (url, keyring.current, loop)
    if cache_key not in _DEFAULT_DATA_KEYS:
        _DEFAULT_DATA_KEYS[cache_key] = DataKeys(Database(create_engine(url)), keyring)
    return _DEFAULT_DATA_KEYS[cache_key]


async def connect(settings: Settings, data_keys: DataKeys | None = None) -> Client:
    """A client whose converter encrypts, each partnership under its data key."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(data_keys=data_keys),
    )
