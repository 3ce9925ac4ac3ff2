"""Alembic environment: runs on the engine publisher hands over in config.attributes."""

from alembic import context

from publisher.store.schema import Base
from publisher.store.search import include_name

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_name=include_name,  # the search index of 0013 is not in the models
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
