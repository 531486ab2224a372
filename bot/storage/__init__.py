"""Storage: SQLAlchemy models, the Database, repositories that never commit, and migrations.

- ``bot.storage.models``: the schema (typed declarative models, UTC timestamps).
- ``bot.storage.db``: ``Database(url)``; a transaction runs whole with ``db.run`` /
  ``db.run_read`` (use cases through ``bot.storage.uow.Transactions``).
- ``bot.storage.repositories``: data access over a session, snapshots out; /forget and /export.
- ``bot.storage.migrate``: Alembic upgrade/downgrade on a Database (no alembic.ini needed).
"""
