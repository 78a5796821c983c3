"""The one place where a Temporal client is made: address, namespace and the data converter.

Payload encryption (the roadmap's AES-GCM codec) is one line here: ``dataclasses.replace(converter,
payload_codec=...)``.
"""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter

from workers.settings import Settings


def data_converter() -> DataConverter:
    return pydantic_data_converter


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address, namespace=settings.temporal_namespace, data_converter=data_converter()
    )
