"""Domain errors. A rejection carries a message a person can act on."""


class DomainRejection(Exception):
    """A command that makes no sense in the current state. Nothing changes."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
