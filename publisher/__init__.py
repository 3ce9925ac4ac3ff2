"""publisher: turns Macedonian press releases into multilingual feeds and digests."""

__version__ = "0.1.0"
