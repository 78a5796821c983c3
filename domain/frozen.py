"""The one base of every domain model: frozen, no unknown fields, and a checked ``replace``."""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """A frozen pydantic model that refuses unknown fields, on input and in :meth:`replace`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes``, built through the constructor (so the values are validated too).

        Unlike ``model_copy(update=...)``, which silently keeps a misspelled key as junk, a name that is
        not a field raises ``TypeError``: an ``evolve`` rule with a typo fails at once.
        """
        fields = type(self).model_fields
        unknown = [name for name in changes if name not in fields]
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {', '.join(sorted(unknown))}")
        values = {name: getattr(self, name) for name in fields}
        values.update(changes)
        return type(self)(**values)
