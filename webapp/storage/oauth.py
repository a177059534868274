"""What an OAuth sign-in leaves behind: the grant, and the sign-ins under way.

A grant (the refresh token, the client secret it goes with, the last access
token and its expiry, the signed-in account) is sealed under Fernet together
with the destination it was signed in for, exactly like the password, and
handed out only for that destination: a changed server, port, security,
username, sign-in method, client ID or directory needs a new sign-in. There
is a row per destination, so signing in anew leaves the saved settings' grant
alone until the new settings are saved.

A sign-in under way (the form as it was when the user left for the provider,
the client secret typed in it) and its outcome once the user is back are kept
here too, sealed, under a hash of a key that only the administrator's session
holds, and only for a while.
"""
import contextlib
import fcntl
import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone

from cryptography.fernet import MultiFernet

from .db import Database
from .keys import KeyFile
from .sealing import Sealer, reseal_column


@dataclass(frozen=True)
class Grant:
    grant_id: str                  # stays the same when the refresh token rotates
    provider: str                  # 'microsoft' or 'google'
    account: str | None            # the signed-in account (id_token), if it said
    refresh_token: str = field(repr=False)
    client_secret: str = field(repr=False)
    access_token: str | None = field(default=None, repr=False)
    expires_at: float | None = None

    @classmethod
    def from_dict(cls, data: dict) -> "Grant":
        return cls(**{name: data.get(name) for name in cls.__dataclass_fields__})

    def with_token(self, token: dict) -> "Grant":
        """This grant after a refresh: the new access token, and the new
        refresh token if the provider rotated it."""
        return replace(self, access_token=token["access_token"], expires_at=token.get("expires_at"),
                       refresh_token=token.get("refresh_token") or self.refresh_token)


class OAuthGrants:
    def __init__(self, db: Database, keys: MultiFernet | KeyFile):
        self._db = db
        self._sealed = Sealer(keys, bound_field="bound_to", data_field="data")
        self._lock_path = f"{db.path}.oauth-lock"

    def use_keys(self, keys: MultiFernet) -> None:
        self._sealed.use_keys(keys)

    def grant_for(self, destination: str) -> Grant | None:
        row = self._db.one("SELECT sealed FROM oauth_grants WHERE destination = ?", (destination,))
        return self._grant(row["sealed"] if row else None, destination)

    def _grant(self, token: bytes | None, destination: str) -> Grant | None:
        data = self._sealed.open(token, destination)
        try:
            return Grant.from_dict(data) if data else None
        except TypeError:
            return None

    def keep(self, destination: str, grant: Grant) -> None:
        with self._db.transaction() as conn:
            self._write(conn, destination, grant)

    def _write(self, conn, destination: str, grant: Grant) -> None:
        conn.execute(
            "INSERT INTO oauth_grants (destination, sealed, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (destination) DO UPDATE SET sealed = excluded.sealed,"
            " updated_at = excluded.updated_at",
            (destination, self._sealed.seal(destination, asdict(grant)),
             datetime.now(timezone.utc).isoformat()))

    def after_refresh(self, destination: str, used_refresh_token: str, token: dict) -> Grant | None:
        """Store a refresh's outcome in one transaction, unless the grant was
        replaced or refreshed elsewhere meanwhile (then that one stands).
        Returns the grant as stored now."""
        with self._db.transaction() as conn:
            row = conn.execute("SELECT sealed FROM oauth_grants WHERE destination = ?",
                               (destination,)).fetchone()
            current = self._grant(row["sealed"] if row else None, destination)
            if current is None or current.refresh_token != used_refresh_token:
                return current
            updated = current.with_token(token)
            self._write(conn, destination, updated)
            return updated

    def set_client_secret(self, destination: str, client_secret: str) -> None:
        with self._db.transaction() as conn:
            row = conn.execute("SELECT sealed FROM oauth_grants WHERE destination = ?",
                               (destination,)).fetchone()
            current = self._grant(row["sealed"] if row else None, destination)
            if current is not None and current.client_secret != client_secret:
                self._write(conn, destination, replace(current, client_secret=client_secret))

    def forget(self, destination: str) -> Grant | None:
        """Remove the grant for ``destination``; returns it (to revoke it)."""
        with self._db.transaction() as conn:
            row = conn.execute("SELECT sealed FROM oauth_grants WHERE destination = ?",
                               (destination,)).fetchone()
            conn.execute("DELETE FROM oauth_grants WHERE destination = ?", (destination,))
        return self._grant(row["sealed"] if row else None, destination)

    def keep_only(self, destination: str | None) -> None:
        """Forget every grant but the one for ``destination`` (the saved settings')."""
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM oauth_grants WHERE destination IS NOT ?", (destination,))

    def reencrypt(self, keys: MultiFernet) -> int:
        with self._db.transaction() as conn:
            count = reseal_column(conn, "oauth_grants", "destination", "sealed", keys)
        self.use_keys(keys)
        return count

    @contextlib.contextmanager
    def refreshing(self, timeout: float) -> Iterator[bool]:
        """Hold the refresh lock, shared by every thread and worker process,
        so that one refresh at a time uses a refresh token (a provider that
        rotates them refuses the second user of the old one). Yields False
        when it could not be had within ``timeout`` seconds."""
        fd = os.open(self._lock_path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            give_up = time.monotonic() + max(0.0, timeout)
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= give_up:
                        yield False
                        return
                    time.sleep(0.01)
            yield True
        finally:
            os.close(fd)  # closing releases the lock


class SignIns:
    """Sign-ins under way and their outcomes, each kept under
    ``kind`` + a hash of a key the administrator's session holds."""

    def __init__(self, db: Database, keys: MultiFernet | KeyFile):
        self._db = db
        self._sealed = Sealer(keys, bound_field="bound_to", data_field="data")

    def use_keys(self, keys: MultiFernet) -> None:
        self._sealed.use_keys(keys)

    @staticmethod
    def _row_key(kind: str, key: str) -> str:
        return f"{kind}:{hashlib.sha256(key.encode()).hexdigest()}"

    def put(self, kind: str, key: str, data: dict, ttl_seconds: float) -> None:
        row_key = self._row_key(kind, key)
        now = time.time()
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM oauth_sign_ins WHERE expires_at < ?", (now,))
            conn.execute("INSERT OR REPLACE INTO oauth_sign_ins (key, sealed, expires_at)"
                         " VALUES (?, ?, ?)", (row_key, self._sealed.seal(row_key, data), now + ttl_seconds))

    def get(self, kind: str, key: str | None) -> dict | None:
        if not key:
            return None
        row_key = self._row_key(kind, key)
        row = self._db.one("SELECT sealed FROM oauth_sign_ins WHERE key = ? AND expires_at >= ?",
                           (row_key, time.time()))
        return self._sealed.open(row["sealed"], row_key) if row else None

    def take(self, kind: str, key: str | None) -> dict | None:
        """The record, removed in the same transaction: it serves once."""
        if not key:
            return None
        row_key = self._row_key(kind, key)
        with self._db.transaction() as conn:
            row = conn.execute("SELECT sealed, expires_at FROM oauth_sign_ins WHERE key = ?",
                               (row_key,)).fetchone()
            conn.execute("DELETE FROM oauth_sign_ins WHERE key = ?", (row_key,))
        if row is None or row["expires_at"] < time.time():
            return None
        return self._sealed.open(row["sealed"], row_key)

    def delete(self, kind: str, key: str | None) -> None:
        if key:
            with self._db.transaction() as conn:
                conn.execute("DELETE FROM oauth_sign_ins WHERE key = ?", (self._row_key(kind, key),))

    def reencrypt(self, keys: MultiFernet) -> int:
        with self._db.transaction() as conn:
            count = reseal_column(conn, "oauth_sign_ins", "key", "sealed", keys)
        self.use_keys(keys)
        return count
