"""The benchmark's database and broker: taken from the environment or the local defaults, the
database created when missing."""

import os

import environ
import psycopg
from psycopg import sql

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/partstatus_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


def urls() -> tuple[str, str]:
    return os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL, os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL


def conninfo(database_url: str, *, dbname: str | None = None) -> str:
    """A psycopg connection string for the URL (or for another database on the same server)."""
    config = environ.Env.db_url_config(database_url)
    if config["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit(f"The benchmark needs PostgreSQL; DATABASE_URL is {config['ENGINE']}.")
    parts = {
        "dbname": dbname or config["NAME"],
        "user": config.get("USER"),
        "password": config.get("PASSWORD"),
        "host": config.get("HOST"),
        "port": config.get("PORT"),
    }
    return psycopg.conninfo.make_conninfo(**{key: str(value) for key, value in parts.items() if value})


def database_ensure(database_url: str) -> bool:
    """Create the database when it does not exist; True when it was created."""
    name = environ.Env.db_url_config(database_url)["NAME"]
    with psycopg.connect(conninfo(database_url, dbname="postgres"), autocommit=True) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return False
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return True
