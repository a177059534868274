"""Signed-in sessions, kept on the server so that signing out ends them.

Flask's session is a signed cookie: on its own, a copy of it stays valid
however the administrator signs out. Each sign-in therefore makes a record
here, the cookie carries its random id, and every request checks that the
record is still there and has not been idle too long. Signing out deletes
the record; a password change deletes them all. Only a hash of the id is
stored.
"""
import hashlib
import secrets
import time

from .db import Database

# last_seen is written at most this often (or a tenth of the idle timeout),
# so that an ordinary request only reads.
TOUCH_EVERY_S = 60


class Sessions:
    def __init__(self, db: Database):
        self._db = db

    def start(self, idle_timeout_s: float) -> str:
        """A new session's id; drops the records that have been idle too long."""
        session_id = secrets.token_urlsafe(32)
        now = time.time()
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE last_seen < ?", (now - idle_timeout_s,))
            conn.execute("INSERT INTO sessions (id_hash, created_at, last_seen) VALUES (?, ?, ?)",
                         (_id_hash(session_id), now, now))
        return session_id

    def alive(self, session_id: str | None, idle_timeout_s: float) -> bool:
        """Whether the session is still signed in; counts this as activity."""
        if not session_id or not isinstance(session_id, str):
            return False
        now = time.time()
        row = self._db.one("SELECT last_seen FROM sessions WHERE id_hash = ?",
                           (_id_hash(session_id),))
        if row is None:
            return False
        if row["last_seen"] < now - idle_timeout_s:
            self.end(session_id)
            return False
        if row["last_seen"] < now - min(TOUCH_EVERY_S, idle_timeout_s / 10):
            with self._db.transaction() as conn:
                conn.execute("UPDATE sessions SET last_seen = ? WHERE id_hash = ?",
                             (now, _id_hash(session_id)))
        return True

    def end(self, session_id: str | None) -> None:
        if session_id and isinstance(session_id, str):
            with self._db.transaction() as conn:
                conn.execute("DELETE FROM sessions WHERE id_hash = ?", (_id_hash(session_id),))

    def end_all(self) -> int:
        with self._db.transaction() as conn:
            return conn.execute("DELETE FROM sessions").rowcount


def _id_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()
