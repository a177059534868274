"""The administrator: the password hash and the one-time sign-in tokens."""
import hashlib
import secrets
import time

from .db import Database


class Admin:
    def __init__(self, db: Database):
        self._db = db

    def admin_password_hash(self) -> str | None:
        row = self._db.one("SELECT password_hash FROM admin WHERE id = 1")
        return row["password_hash"] if row else None

    def set_admin_password_hash(self, password_hash: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("INSERT INTO admin (id, password_hash) VALUES (1, ?)"
                         " ON CONFLICT (id) DO UPDATE SET password_hash = excluded.password_hash",
                         (password_hash,))

    def issue_signin_token(self, ttl_seconds: float) -> str:
        token = secrets.token_urlsafe(32)
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM signin_tokens WHERE expires_at < ?", (time.time(),))
            conn.execute("INSERT INTO signin_tokens (token_hash, expires_at) VALUES (?, ?)",
                         (_token_hash(token), time.time() + ttl_seconds))
        return token

    def consume_signin_token(self, token: str) -> bool:
        """True once for a valid, unexpired token; it cannot be used again."""
        with self._db.transaction() as conn:
            deleted = conn.execute(
                "DELETE FROM signin_tokens WHERE token_hash = ? AND expires_at >= ?",
                (_token_hash(token), time.time())).rowcount
        return deleted == 1


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
