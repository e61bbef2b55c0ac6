"""SQL storage, the system of record: SQLModel tables, engine and migrations."""
