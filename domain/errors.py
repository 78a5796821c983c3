"""Domain errors. A rejection carries a message a person can act on; malformed input is described without its values."""

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from domain.limits import payload_problem

M = TypeVar("M", bound=BaseModel)


class DomainRejection(Exception):
    """A command that makes no sense in the current state. Nothing changes."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def problems(error: ValidationError) -> str:
    """A validation error as one line, ``field: message; ...``, without the input values (personal data)."""
    found = []
    for problem in error.errors(include_input=False, include_url=False):
        message = problem["msg"].removeprefix("Value error, ")
        where = ".".join(str(part) for part in problem["loc"])
        found.append(f"{where}: {message}" if where else message)
    return "; ".join(found)


def from_payload(model: type[M], name: str, payload: Any) -> M:
    """The command a signal or update named ``name`` carries (its ``type`` is the name).

    Raises ValueError with a readable reason, never the input values, when the payload is malformed.
    """
    if not isinstance(payload, dict):
        raise ValueError(f"{name} takes one JSON object")
    too_large = payload_problem(payload)
    if too_large is not None:
        raise ValueError(f"invalid {name}: {too_large}")
    try:
        return model.model_validate({**payload, "type": name})
    except ValidationError as error:
        raise ValueError(f"invalid {name}: {problems(error)}") from None
