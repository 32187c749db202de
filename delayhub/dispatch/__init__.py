"""Dispatch: hand queued notices to their channels, record every attempt."""

from .run import dispatch

__all__ = ["dispatch"]
