"""The integration gateway: the only door for integrations (university application systems, the e-signature
service, calendars). HTTP with bearer tokens and scopes, idempotency keys and signed webhooks, in front of the
same typed client facades the command line uses (``workers.partnerships``, ``workers.cohorts``,
``workers.gatherings``). Integrations never reach the Temporal frontend themselves."""
