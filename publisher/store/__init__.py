"""The store: the only package that touches SQL."""

from .repo import Store

__all__ = ["Store"]
