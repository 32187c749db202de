"""The hub store: SQLite by default, PostgreSQL when DELAYHUB_DATABASE_URL says so."""

from .repo import HubStore, UpsertStats

__all__ = ["HubStore", "UpsertStats"]
