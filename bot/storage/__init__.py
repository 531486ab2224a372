"""Storage: SQLAlchemy models, the Database, repositories that never commit, and migrations.

- ``bot.storage.models``: the schema (typed declarative models, UTC timestamps).
- ``bot.storage.db``: ``Database(url)`` with ``async with db.transaction() as session``.
- ``bot.storage.repositories``: data access over a session, snapshots out; /forget and /export.
- ``bot.storage.migrate``: Alembic upgrade/downgrade on a Database (no alembic.ini needed).
"""
