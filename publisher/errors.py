"""One exception tree for the whole application.

Every error a user can cause carries a message that names the thing that is wrong
and how to fix it; the CLI prints the message without a traceback.
"""


class PublisherError(Exception):
    """Base of every error publisher raises on purpose."""


class ConfigError(PublisherError):
    """Settings are missing, unknown or invalid."""


class StoreError(PublisherError):
    """The database cannot be used as it is (e.g. pending migrations)."""


class SourceError(PublisherError):
    """A whole source could not be read (network down, folder missing, feed not XML)."""


class ItemRejected(PublisherError):
    """One fetched item cannot become a release; it goes to quarantine with this reason."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class TranslationError(PublisherError):
    """A translation engine failed."""


class RenderError(PublisherError):
    """A feed or message could not be rendered."""


class DeliveryError(PublisherError):
    """A message could not be delivered."""
