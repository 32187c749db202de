"""Every error delayhub raises on purpose.

DelayhubError
├── ConfigError            a mappings file, registry file or setting is wrong (names file and field)
├── SourceError            a back office could not be read
│   ├── SourceAuthError        credentials refused (401/403): retrying will not help
│   └── SourceUnavailable      timeouts, 429, 5xx after retries: retry later
├── RecordError            one record cannot become a standard request (goes to quarantine)
└── DeliveryError          a notice could not be handed to its channel
    ├── TemporaryDeliveryError  try again later
    │   └── InDoubtDeliveryError    the connection broke after the message was handed over
    └── PermanentDeliveryError  the address or message is refused: do not retry
"""

from __future__ import annotations


class DelayhubError(Exception):
    pass


class ConfigError(DelayhubError):
    def __init__(self, source: str, path: str, problem: str) -> None:
        self.source, self.path, self.problem = source, path, problem
        where = f"{source}: {path}" if path else source
        super().__init__(f"{where}: {problem}")


class SourceError(DelayhubError):
    pass


class SourceAuthError(SourceError):
    pass


class SourceUnavailable(SourceError):
    pass


class RecordError(DelayhubError):
    def __init__(self, field: str, reason: str) -> None:
        self.field, self.reason = field, reason
        super().__init__(f"{field}: {reason}")


class DeliveryError(DelayhubError):
    pass


class TemporaryDeliveryError(DeliveryError):
    pass


class PermanentDeliveryError(DeliveryError):
    pass


class InDoubtDeliveryError(TemporaryDeliveryError):
    """The server may hold the message already: the retry is sent marked as in doubt."""

    PREFIX = "in doubt: "
