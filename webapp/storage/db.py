"""The SQLite file: one connection per thread, transactions, and the schema,
whose version (`PRAGMA user_version`) ordered migrations bring up to date."""
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# Migration N brings a database from user_version N-1 to N, in one
# transaction. Append new ones; never change one that has shipped, since a
# database records only how far it has come.
MIGRATIONS: list[tuple[str, ...]] = [
    # 1: the tables as they were before the schema had a version. A database
    # from then is at version 0 with all of them present: IF NOT EXISTS keeps
    # them, rows and all.
    (
        "CREATE TABLE IF NOT EXISTS settings (id INTEGER PRIMARY KEY CHECK (id = 1),"
        " data TEXT NOT NULL, destination TEXT NOT NULL, secret BLOB, updated_at TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS test_runs (fingerprint TEXT PRIMARY KEY,"
        " ok INTEGER NOT NULL, at TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS admin (id INTEGER PRIMARY KEY CHECK (id = 1),"
        " password_hash TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS signin_tokens (token_hash TEXT PRIMARY KEY,"
        " expires_at REAL NOT NULL)",
        "CREATE TABLE IF NOT EXISTS sends (id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " at TEXT NOT NULL, recipients TEXT NOT NULL, subject TEXT NOT NULL,"
        " filename TEXT NOT NULL, size INTEGER NOT NULL, protocol TEXT NOT NULL,"
        " ok INTEGER NOT NULL, diagnosis TEXT, reply TEXT)",
    ),
    # 2: certificates presented to failed tests, for "Trust this certificate".
    (
        "CREATE TABLE certificates (sha256 TEXT PRIMARY KEY, host TEXT NOT NULL,"
        " port INTEGER NOT NULL, der BLOB NOT NULL, seen_at TEXT NOT NULL)",
    ),
    # 3: secrets typed but not saved yet, sealed and short-lived (drafts.py).
    (
        "CREATE TABLE drafts (id_hash TEXT PRIMARY KEY, sealed BLOB NOT NULL,"
        " expires_at REAL NOT NULL)",
    ),
    # 4: OAuth sign-ins (oauth.py): grants sealed with their destination, and
    # sign-ins under way.
    (
        "CREATE TABLE oauth_grants (destination TEXT PRIMARY KEY, sealed BLOB NOT NULL,"
        " updated_at TEXT NOT NULL)",
        "CREATE TABLE oauth_sign_ins (key TEXT PRIMARY KEY, sealed BLOB NOT NULL,"
        " expires_at REAL NOT NULL)",
    ),
    # 5: signed-in sessions, so that signing out and a password change end them.
    (
        "CREATE TABLE sessions (id_hash TEXT PRIMARY KEY, created_at REAL NOT NULL,"
        " last_seen REAL NOT NULL)",
    ),
]


class Database:
    def __init__(self, path: str):
        self.path = path
        self._local = threading.local()

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened once: opening one per query would
        redo the setup and, on the last close, checkpoint and delete the WAL."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():  # a fork must not share it
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None,
                                   check_same_thread=True)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("PRAGMA synchronous = FULL")
            local.conn, local.pid = conn, os.getpid()
        return local.conn

    def one(self, sql: str, params=()) -> sqlite3.Row | None:
        return self.connection().execute(sql, params).fetchone()

    def all(self, sql: str, params=()) -> list[sqlite3.Row]:
        return self.connection().execute(sql, params).fetchall()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            # The connection lives on: it must not stay inside a failed transaction.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def init(self) -> None:
        """Create the file if need be and bring its schema up to date."""
        os.makedirs(os.path.dirname(self.path) or ".", mode=0o700, exist_ok=True)
        # Only the owner may read the database (SQLite gives its -wal and
        # -shm files the same mode).
        os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
        self.connection().execute("PRAGMA journal_mode = WAL")
        self.migrate()

    def migrate(self) -> None:
        # Workers starting together queue on the write lock, and each one
        # reads the version only once it holds it: no migration runs twice.
        with self.transaction() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise RuntimeError(f"{self.path} has schema version {version}; this Sendwell "
                                   f"knows only up to {len(MIGRATIONS)}")
            for statements in MIGRATIONS[version:]:
                for statement in statements:
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
