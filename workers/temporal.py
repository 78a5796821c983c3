"""The one place where a Temporal client is made: address, namespace and the data converter.

The data converter is pydantic JSON, then the payload codec (workers/codec.py): every payload AES-256-GCM
encrypted under the keyring (activities/keys.py), and failures too (message and stack trace moved into an
encoded attribute). The worker, the command line, the tests and the benchmarks all use ``data_converter()``.
"""

from __future__ import annotations

import dataclasses

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes

from activities.keys import Keyring, load_keyring
from workers.codec import EncryptionCodec
from workers.settings import Settings


def data_converter(keyring: Keyring | None = None) -> DataConverter:
    """Pydantic JSON + encryption; the keyring defaults to the process's (ENTRYPOINT_KEYRING or the file)."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(keyring or load_keyring()),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address, namespace=settings.temporal_namespace, data_converter=data_converter()
    )
