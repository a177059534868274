"""The saved mail settings (one row) and their secret.

The secret (SMTP password or the HTTP URL's credentials) is sealed under
Fernet together with the destination it was saved for, and handed out only
for that destination.
"""
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from cryptography.fernet import MultiFernet

from ..model import MailSettings
from .db import Database
from .keys import KeyFile
from .sealing import Sealer, reseal_column


@dataclass(frozen=True)
class SavedSettings:
    settings: MailSettings
    has_secret: bool
    updated_at: datetime


class MailSettingsStore:
    def __init__(self, db: Database, keys: MultiFernet | KeyFile):
        self._db = db
        # Stored as {"destination": ..., "secret": ..., "id": ...}; rows saved
        # before secrets had an id lack it.
        self._sealer = Sealer(keys)

    def use_keys(self, keys: MultiFernet) -> None:
        """Seal with the first of `keys` and open with any of them from now on."""
        self._sealer.use_keys(keys)

    def _sealed_row(self, destination: str) -> dict | None:
        """The saved secret's sealed record, for this destination only."""
        for _ in range(2):
            row = self._db.one("SELECT destination, secret FROM settings WHERE id = 1")
            if row is None or row["destination"] != destination or not row["secret"]:
                return None
            sealed = self._sealer.open(row["secret"], destination)
            if sealed is not None:
                return sealed
            # A rotation may have re-encrypted the row between our reading it
            # and the keys: once more, with the keys as they are now.
        return None

    def _open(self, token: bytes | None, destination: str) -> str | None:
        sealed = self._sealer.open(token, destination)
        return sealed.get("secret") if sealed else None

    def has_settings(self) -> bool:
        """Whether settings are saved, without opening the secret (asked on every page)."""
        return self._db.one("SELECT 1 FROM settings WHERE id = 1") is not None

    def saved(self) -> SavedSettings | None:
        row = self._db.one("SELECT data, destination, secret, updated_at FROM settings WHERE id = 1")
        if row is None:
            return None
        return SavedSettings(
            settings=MailSettings.from_dict(json.loads(row["data"])),
            has_secret=self._open(row["secret"], row["destination"]) is not None,
            updated_at=datetime.fromisoformat(row["updated_at"]),
        )

    def secret_for(self, destination: str) -> str | None:
        """The saved secret, only if it was saved for exactly this destination."""
        sealed = self._sealed_row(destination)
        return sealed.get("secret") if sealed else None

    def secret_id_for(self, destination: str) -> str | None:
        """The random id the saved secret was sealed with, only for this
        destination: names the secret (for the test status) without it."""
        sealed = self._sealed_row(destination)
        return sealed.get("id") if sealed and sealed.get("secret") else None

    def save(self, settings: MailSettings, secret: str | None,
             secret_id: str | None = None) -> None:
        """Save `settings` with `secret`, named by `secret_id` (the saved
        secret's own id when it is kept; a new one when None)."""
        destination = settings.destination
        with self._db.transaction() as conn:
            # Sealed inside the write transaction, with the keys as they are
            # now: a rotation cannot retire the key between sealing and saving.
            token = self._sealer.seal(destination, {
                "secret": secret, "id": secret_id or secrets.token_hex(16)}) if secret else None
            conn.execute(
                "INSERT INTO settings (id, data, destination, secret, updated_at) VALUES (1, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET data = excluded.data,"
                " destination = excluded.destination, secret = excluded.secret,"
                " updated_at = excluded.updated_at",
                (json.dumps(settings.to_dict(), sort_keys=True), destination, token,
                 datetime.now(timezone.utc).isoformat()),
            )

    def reencrypt(self, keys: MultiFernet) -> int:
        """Seal the stored secret under the first of `keys` and use `keys` from
        now on; returns how many secrets were sealed again (0 or 1)."""
        with self._db.transaction() as conn:
            count = reseal_column(conn, "settings", "id", "secret", keys)
        self.use_keys(keys)
        return count
