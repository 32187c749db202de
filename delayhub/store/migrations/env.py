"""Alembic environment: the URL comes from the caller (delayhub.store.migrate) or the environment."""

from alembic import context
from sqlalchemy import create_engine

from delayhub.config import database_url
from delayhub.store.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url") or database_url()
connection = config.attributes.get("connection")


def _run(conn) -> None:
    context.configure(connection=conn, target_metadata=Base.metadata,
                      render_as_batch=conn.dialect.name == "sqlite", compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:
    engine = create_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()
