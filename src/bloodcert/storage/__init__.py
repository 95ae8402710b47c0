"""The only package that imports SQLAlchemy: tables, repositories, the engine and migrations."""
