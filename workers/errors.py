"""The command line's user error, in its own module so that every command module can import it normally."""


class CommandError(Exception):
    """A user error: printed as one line on stderr, exit code 2."""
