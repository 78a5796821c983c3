"""The public contract of the engine's workflows: the names and payloads integrations depend on. Keep them stable.

One module per workflow (``partnership``, ``gathering``, ``cohort``): its workflow type, id function, the messages
(signal and update names) and the command each one carries, the status view its ``status`` query returns, and its
search attributes. Pure declarations: pydantic models, Temporal's typed search-attribute keys, the domain's
command models; no I/O. Below both ``workflows/`` and ``activities/``: both import it, it imports neither.
"""

from contract.common import (
    RECEIVED_AT_HEADER,
    STATUS_QUERY,
    TASK_QUEUE,
    Deadline,
    SearchAttributes,
    message_name,
    message_table,
)

__all__ = [
    "RECEIVED_AT_HEADER",
    "STATUS_QUERY",
    "TASK_QUEUE",
    "Deadline",
    "SearchAttributes",
    "message_name",
    "message_table",
]
