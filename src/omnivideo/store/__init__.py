"""Persistence: SQLAlchemy tables, repository functions returning domain objects, migrations."""
