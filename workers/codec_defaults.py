"""The codec server's defaults, apart from the server (so the command line's help needs no web stack)."""

DEFAULT_UI_ORIGIN = "http://localhost:8233"
DEFAULT_PORT = 8081
TOKEN_ENV = "ENTRYPOINT_CODEC_TOKEN"
SCOPE = "ops:read"
"""The gateway scope that may read payloads through the codec server."""
