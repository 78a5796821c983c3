"""The one place where a Temporal client is made: address, namespace and the data converter.

Payload encryption (the roadmap's AES-GCM codec) is one line here: ``dataclasses.replace(converter,
payload_codec=...)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import DataConverter
from temporalio.service import TLSConfig

from domain.errors import problems
from workers.settings import Settings


class QuietPydanticPayloadConverter(PydanticPayloadConverter):
    """Pydantic's converter, except that a payload that does not validate fails with the problems only: the
    SDK would put pydantic's text, which quotes the input (``input_value=...``: an e-mail address, a diary
    entry), into the workflow-task failure in the history and into the worker log (issue 15, finding 8)."""

    def from_payloads(self, payloads: Sequence[Payload], type_hints: list[type] | None = None) -> list[Any]:
        try:
            return super().from_payloads(payloads, type_hints)
        except Exception as error:
            found: BaseException | None = error
            while found is not None and not isinstance(found, ValidationError):
                found = found.__cause__ or found.__context__
            if found is None:
                raise
            raise ValueError(f"invalid {found.title}: {problems(found)}") from None


DATA_CONVERTER = DataConverter(payload_converter_class=QuietPydanticPayloadConverter)


def data_converter() -> DataConverter:
    return DATA_CONVERTER


def tls_config(settings: Settings) -> TLSConfig | bool:
    """TLS to the frontend when any TEMPORAL_TLS_* is set (mutual TLS with a certificate and key), else none."""
    paths = (settings.temporal_tls_ca, settings.temporal_tls_cert, settings.temporal_tls_key)
    if not any(paths) and settings.temporal_tls_server_name is None:
        return False
    if bool(settings.temporal_tls_cert) != bool(settings.temporal_tls_key):
        raise ValueError("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (mutual TLS)")
    ca, cert, key = (path.read_bytes() if path else None for path in paths)
    return TLSConfig(
        server_root_ca_cert=ca, client_cert=cert, client_private_key=key, domain=settings.temporal_tls_server_name
    )


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(),
        tls=tls_config(settings),
    )
