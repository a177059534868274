"""What Sendwell keeps, in one SQLite file (WAL), without Flask.

Every write is one transaction, so a failed or killed save leaves the
previous record whole. Each table has a small store of its own (mail_settings,
runs, send_log, admin, certificates, drafts, oauth, sessions) over one
`Database` (db.py); `Store` is the one object the app holds and reaches
them all through.

To add a table or a column: append a migration to `db.MIGRATIONS`, write a
small store for it, and give `Store` its methods.
"""
from datetime import datetime

from cryptography.fernet import InvalidToken, MultiFernet

from ..model import MailSettings
from .admin import Admin
from .certificates import SeenCertificate, SeenCertificates
from .db import Database
from .drafts import Drafts
from .keys import (KEY_FILE, SECRET_KEY_FILE, KeyFile, fernet_keys, key_source, keyring, keys_from_setting,
                   load_or_create_key, read_keys, rotate_key_file, write_keys)
from .mail_settings import MailSettingsStore, SavedSettings
from .oauth import Grant, OAuthGrants, SignIns
from .runs import TestRun, TestRuns
from .send_log import SendLog, SendRecord
from .sessions import Sessions

__all__ = ["Store", "SavedSettings", "SeenCertificate", "SendRecord", "TestRun", "Grant", "KEY_FILE",
           "SECRET_KEY_FILE", "KeyFile",
           "fernet_keys", "keyring", "keys_from_setting", "load_or_create_key", "read_keys",
           "rotate_key_file", "write_keys"]

# Where a secret sealed with the key ring is kept: (table, column).
SEALED_COLUMNS = (("settings", "secret"), ("oauth_grants", "sealed"), ("oauth_sign_ins", "sealed"))


class Store:
    def __init__(self, path: str, keys: MultiFernet | KeyFile):
        self._db = Database(path)
        self._keys = key_source(keys)
        self._settings = MailSettingsStore(self._db, keys)
        self._test_runs = TestRuns(self._db)
        self._send_log = SendLog(self._db)
        self._admin = Admin(self._db)
        self._oauth_grants = OAuthGrants(self._db, keys)
        self._sign_ins = SignIns(self._db, keys)
        self._certificates = SeenCertificates(self._db)
        self._drafts = Drafts(self._db, keys)
        self._sessions = Sessions(self._db)

    @property
    def path(self) -> str:
        return self._db.path

    def init(self) -> None:
        """Create the database, or bring an existing one's schema up to date."""
        self._db.init()

    # -- the saved settings and their secret (mail_settings.py) ---------------

    def has_settings(self) -> bool:
        return self._settings.has_settings()

    def saved(self) -> SavedSettings | None:
        return self._settings.saved()

    def secret_for(self, destination: str) -> str | None:
        return self._settings.secret_for(destination)

    def secret_id_for(self, destination: str) -> str | None:
        return self._settings.secret_id_for(destination)

    def save(self, settings: MailSettings, secret: str | None, secret_id: str | None = None) -> None:
        """Save the settings; of the OAuth grants, only theirs is kept."""
        self._settings.save(settings, secret, secret_id)
        self._oauth_grants.keep_only(settings.destination if settings.credential_kind == "oauth"
                                    else None)

    def use_keys(self, keys: MultiFernet) -> None:
        self._keys = key_source(keys)
        for store in (self._settings, self._drafts, self._oauth_grants, self._sign_ins):
            store.use_keys(keys)

    def reencrypt(self, keys: MultiFernet) -> int:
        """Seal every stored secret (password, OAuth grants, sign-ins under
        way) under the first of ``keys``; returns how many were sealed again."""
        count = sum(store.reencrypt(keys) for store in (self._settings, self._oauth_grants,
                                                        self._sign_ins))
        self.use_keys(keys)
        return count

    # -- OAuth grants and sign-ins under way (oauth.py) -----------------------------

    def grant_for(self, destination: str) -> Grant | None:
        return self._oauth_grants.grant_for(destination)

    def keep_grant(self, destination: str, grant: Grant) -> None:
        self._oauth_grants.keep(destination, grant)

    def grant_after_refresh(self, destination: str, used_refresh_token: str,
                            token: dict) -> Grant | None:
        return self._oauth_grants.after_refresh(destination, used_refresh_token, token)

    def set_grant_client_secret(self, destination: str, client_secret: str) -> None:
        self._oauth_grants.set_client_secret(destination, client_secret)

    def forget_grant(self, destination: str) -> Grant | None:
        return self._oauth_grants.forget(destination)

    def refreshing_grants(self, timeout: float):
        return self._oauth_grants.refreshing(timeout)

    def put_sign_in(self, kind: str, key: str, data: dict, ttl_seconds: float) -> None:
        self._sign_ins.put(kind, key, data, ttl_seconds)

    def sign_in(self, kind: str, key: str | None) -> dict | None:
        return self._sign_ins.get(kind, key)

    def take_sign_in(self, kind: str, key: str | None) -> dict | None:
        return self._sign_ins.take(kind, key)

    def drop_sign_in(self, kind: str, key: str | None) -> None:
        self._sign_ins.delete(kind, key)

    def retire_keys(self, keys: MultiFernet, retire) -> bool:
        """Inside one write transaction: if every stored secret (the password,
        OAuth grants, sign-ins under way) opens with `keys` alone, call
        `retire()` (which drops the other keys) and return True; else change
        nothing and return False."""
        in_use = self._keys.current()
        with self._db.transaction() as conn:
            for table, column in SEALED_COLUMNS:
                for row in conn.execute(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL"):
                    token = bytes(row[0])
                    try:
                        keys.decrypt(token)
                    except InvalidToken:
                        if _opens(in_use, token):
                            return False  # not sealed under the new key yet
                        # No key opens it: it is lost already (asked for again) and
                        # must not hold the rotation up.
            retire()
        return True

    # -- tests of settings (runs.py) -------------------------------------------

    def record_test(self, fingerprint: str, ok: bool, at: datetime | None = None) -> TestRun:
        return self._test_runs.record_test(fingerprint, ok, at)

    def has_test_runs(self) -> bool:
        return self._test_runs.has_test_runs()

    def test_run(self, fingerprint: str) -> TestRun | None:
        return self._test_runs.test_run(fingerprint)

    # -- certificates servers presented (certificates.py) ------------------------

    def remember_certificate(self, host: str, port: int, der: bytes):
        """Keep a certificate a server presented; its CertificateFacts, or None."""
        saved = self._settings.saved()
        pinned = saved.settings.trusted_certificate if saved else ""
        return self._certificates.remember(host, port, der, keep=pinned)

    def seen_certificate(self, sha256: str) -> SeenCertificate | None:
        return self._certificates.get(sha256)

    # -- the send log (send_log.py) ----------------------------------------------

    def record_send(self, record: SendRecord) -> SendRecord:
        return self._send_log.record_send(record)

    def sends(self, limit: int = 200) -> list[SendRecord]:
        return self._send_log.sends(limit)

    # -- secrets typed but not saved yet (drafts.py) -----------------------------

    def keep_draft(self, draft_id: str, destination: str, secret: str, ttl_seconds: float) -> None:
        self._drafts.keep(draft_id, destination, secret, ttl_seconds)

    def draft_secret(self, draft_id: str, destination: str) -> str | None:
        return self._drafts.secret_for(draft_id, destination)

    def has_draft(self, draft_id: str) -> bool:
        return self._drafts.exists(draft_id)

    def drop_draft(self, draft_id: str) -> None:
        self._drafts.drop(draft_id)

    # -- the administrator (admin.py) ----------------------------------------------

    def admin_password_hash(self) -> str | None:
        return self._admin.admin_password_hash()

    def set_admin_password_hash(self, password_hash: str) -> None:
        self._admin.set_admin_password_hash(password_hash)

    def issue_signin_token(self, ttl_seconds: float) -> str:
        return self._admin.issue_signin_token(ttl_seconds)

    def consume_signin_token(self, token: str) -> bool:
        return self._admin.consume_signin_token(token)

    # -- signed-in sessions (sessions.py) ---------------------------------------------

    def start_session(self, idle_timeout_s: float) -> str:
        return self._sessions.start(idle_timeout_s)

    def session_alive(self, session_id: str | None, idle_timeout_s: float) -> bool:
        return self._sessions.alive(session_id, idle_timeout_s)

    def end_session(self, session_id: str | None) -> None:
        self._sessions.end(session_id)

    def end_all_sessions(self) -> int:
        return self._sessions.end_all()


def _opens(keys: MultiFernet, token: bytes) -> bool:
    try:
        keys.decrypt(token)
    except InvalidToken:
        return False
    return True
