"""Errors a sink raises when it cannot start or must stop."""


class SinkConfigError(Exception):
    """The sink cannot start: bad option, missing credential, unreachable broker. One line."""


class SinkFatalError(Exception):
    """The sink must stop mid-run (for example the credential was refused). One line."""
