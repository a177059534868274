"""Secrets typed but not saved yet ("drafts"): kept for a few minutes, so that
a page rendered again without JavaScript (after Test, a language switch, a
save that asks to confirm) does not ask for the password once more.

A draft is sealed like the saved secret (Fernet, together with the
destination it was typed for) and handed out only for that same destination.
It is found by a random id that only the user's session holds; the table keeps
a hash of it. Drafts expire, and each write removes the expired ones. A key
rotation leaves old drafts unreadable: the user types the password again.
"""
import hashlib
import time

from cryptography.fernet import MultiFernet

from .db import Database
from .keys import KeyFile
from .sealing import Sealer


class Drafts:
    def __init__(self, db: Database, keys: MultiFernet | KeyFile):
        self._db = db
        self._sealer = Sealer(keys)

    def use_keys(self, keys: MultiFernet) -> None:
        self._sealer.use_keys(keys)

    def keep(self, draft_id: str, destination: str, secret: str, ttl_seconds: float) -> None:
        sealed = self._sealer.seal(destination, {"secret": secret})
        now = time.time()
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM drafts WHERE expires_at < ?", (now,))
            conn.execute("INSERT INTO drafts (id_hash, sealed, expires_at) VALUES (?, ?, ?)"
                         " ON CONFLICT (id_hash) DO UPDATE SET sealed = excluded.sealed,"
                         " expires_at = excluded.expires_at",
                         (_id_hash(draft_id), sealed, now + ttl_seconds))

    def secret_for(self, draft_id: str, destination: str) -> str | None:
        """The draft's secret, only if it is unexpired and was typed for this destination."""
        row = self._db.one("SELECT sealed FROM drafts WHERE id_hash = ? AND expires_at >= ?",
                           (_id_hash(draft_id), time.time()))
        draft = self._sealer.open(row["sealed"], destination) if row else None
        return draft.get("secret") if draft else None

    def exists(self, draft_id: str) -> bool:
        return self._db.one("SELECT 1 FROM drafts WHERE id_hash = ? AND expires_at >= ?",
                            (_id_hash(draft_id), time.time())) is not None

    def drop(self, draft_id: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM drafts WHERE id_hash = ? OR expires_at < ?",
                         (_id_hash(draft_id), time.time()))


def _id_hash(draft_id: str) -> str:
    return hashlib.sha256(draft_id.encode()).hexdigest()
