"""Tests of bot.storage: models, Database, repositories, migrations."""
