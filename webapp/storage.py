"""Settings, sign-in state and the send log in SQLite; the secret under Fernet.

Every write is one transaction, so a failed or killed save leaves the
previous record whole. The secret (SMTP password or the HTTP URL's
credentials) is encrypted together with the destination it was saved for,
and handed out only for that destination.
"""
import hashlib
import json
import os
import secrets
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from .model import MailSettings

SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    data TEXT NOT NULL,
    destination TEXT NOT NULL,
    secret BLOB,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS test_runs (
    fingerprint TEXT PRIMARY KEY,
    ok INTEGER NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS admin (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    password_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS signin_tokens (
    token_hash TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sends (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    recipients TEXT NOT NULL,
    subject TEXT NOT NULL,
    filename TEXT NOT NULL,
    size INTEGER NOT NULL,
    protocol TEXT NOT NULL,
    ok INTEGER NOT NULL,
    diagnosis TEXT,
    reply TEXT
);
"""

KEEP_TEST_RUNS = 50


def load_or_create_key(path: str) -> bytes:
    """The Fernet key in a 0600 file, created atomically on first use.

    Several workers may start at once: the key is written to a private temp
    file and linked into place, so exactly one key ever wins.
    """
    try:
        with open(path, "rb") as f:
            key = f.read().strip()
        if key:
            return key
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(Fernet.generate_key())
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)
    with open(path, "rb") as f:
        return f.read().strip()


def keyring(keys: list[bytes]) -> MultiFernet:
    """The first key encrypts; every key decrypts (for rotation)."""
    return MultiFernet([Fernet(k) for k in keys])


KEY_FILE = "fernet.key"


def keys_from_setting(value: str) -> list[bytes]:
    """SENDWELL_FERNET_KEY: one or more keys, comma-separated, newest first."""
    return [key.strip().encode() for key in str(value).split(",") if key.strip()]


def rotate_key_file(store: "Store", path: str) -> int:
    """Encrypt the stored secret under a new key and make it the file's only key.

    Both keys stay in the file until the secret is re-encrypted, so a crash at
    any point leaves a secret that one of the file's keys can read.
    """
    old = read_keys(path)
    new = Fernet.generate_key()
    write_keys(path, [new, *old])
    count = store.reencrypt(keyring([new, *old]))
    write_keys(path, [new])
    store.reencrypt(keyring([new]))
    return count


def read_keys(path: str) -> list[bytes]:
    """A key file holds one key a line, newest first (more than one only mid-rotation)."""
    with open(path, "rb") as f:
        return [line.strip() for line in f if line.strip()]


def write_keys(path: str, keys: list[bytes]) -> None:
    """Replace the key file atomically, readable by its owner only."""
    tmp = f"{path}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(b"".join(key + b"\n" for key in keys))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class SavedSettings:
    settings: MailSettings
    has_secret: bool
    updated_at: datetime


@dataclass(frozen=True)
class SendRecord:
    """One emailed document. Nothing about the password is ever recorded."""
    at: datetime
    recipients: list[str]
    subject: str
    filename: str
    size: int
    protocol: str
    ok: bool
    diagnosis: str | None = None   # the diagnosis code on failure
    reply: str | None = None       # the server's words on failure, shortened
    id: int | None = None


@dataclass(frozen=True)
class TestRun:
    ok: bool
    at: datetime


class Store:
    def __init__(self, path: str, keys: MultiFernet):
        self.path = path
        self._keys = keys
        self._local = threading.local()

    @contextmanager
    def _connect(self):
        """This thread's connection, opened once: opening one per query would
        redo the setup and, on the last close, checkpoint and delete the WAL."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():  # a fork must not share it
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None,
                                   check_same_thread=True)
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("PRAGMA synchronous = FULL")
            local.conn, local.pid = conn, os.getpid()
        yield local.conn

    @contextmanager
    def _transaction(self):
        with self._connect() as conn:
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
        os.makedirs(os.path.dirname(self.path) or ".", mode=0o700, exist_ok=True)
        # Only the owner may read the database (SQLite gives its -wal and
        # -shm files the same mode).
        os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(SCHEMA)

    # -- settings ---------------------------------------------------------

    def _encrypt(self, destination: str, secret: str) -> bytes:
        return self._keys.encrypt(json.dumps({"destination": destination, "secret": secret}).encode())

    def _decrypt(self, token: bytes | None, destination: str) -> str | None:
        if not token:
            return None
        try:
            sealed = json.loads(self._keys.decrypt(bytes(token)))
        except (InvalidToken, ValueError):
            return None  # a lost or changed key: the user types the password again
        if sealed.get("destination") != destination:
            return None
        return sealed.get("secret")

    def saved(self) -> SavedSettings | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT data, destination, secret, updated_at FROM settings WHERE id = 1").fetchone()
        if row is None:
            return None
        settings = MailSettings.from_dict(json.loads(row[0]))
        return SavedSettings(
            settings=settings,
            has_secret=self._decrypt(row[2], row[1]) is not None,
            updated_at=datetime.fromisoformat(row[3]),
        )

    def secret_for(self, destination: str) -> str | None:
        """The saved secret, only if it was saved for exactly this destination."""
        with self._connect() as conn:
            row = conn.execute("SELECT destination, secret FROM settings WHERE id = 1").fetchone()
        if row is None or row[0] != destination:
            return None
        return self._decrypt(row[1], destination)

    def reencrypt(self, keys: MultiFernet) -> int:
        """Encrypt the stored secret under the first of `keys`; returns how many were."""
        with self._transaction() as conn:
            row = conn.execute("SELECT secret FROM settings WHERE id = 1").fetchone()
            if not row or not row[0]:
                self._keys = keys
                return 0
            try:
                token = keys.rotate(bytes(row[0]))
            except InvalidToken:
                return 0  # unreadable under every key: it stays as it is, and is asked for again
            conn.execute("UPDATE settings SET secret = ? WHERE id = 1", (token,))
        self._keys = keys
        return 1

    def save(self, settings: MailSettings, secret: str | None) -> None:
        destination = settings.destination
        token = self._encrypt(destination, secret) if secret else None
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO settings (id, data, destination, secret, updated_at) VALUES (1, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET data = excluded.data,"
                " destination = excluded.destination, secret = excluded.secret,"
                " updated_at = excluded.updated_at",
                (json.dumps(settings.to_dict(), sort_keys=True), destination, token,
                 _now().isoformat()),
            )

    # -- tests of settings --------------------------------------------------

    def record_test(self, fingerprint: str, ok: bool) -> TestRun:
        run = TestRun(ok=ok, at=_now())
        with self._transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO test_runs (fingerprint, ok, at) VALUES (?, ?, ?)",
                         (fingerprint, int(ok), run.at.isoformat()))
            conn.execute("DELETE FROM test_runs WHERE fingerprint NOT IN"
                         " (SELECT fingerprint FROM test_runs ORDER BY at DESC LIMIT ?)",
                         (KEEP_TEST_RUNS,))
        return run

    def has_test_runs(self) -> bool:
        with self._connect() as conn:
            return conn.execute("SELECT 1 FROM test_runs LIMIT 1").fetchone() is not None

    def test_run(self, fingerprint: str) -> TestRun | None:
        with self._connect() as conn:
            row = conn.execute("SELECT ok, at FROM test_runs WHERE fingerprint = ?",
                               (fingerprint,)).fetchone()
        return TestRun(ok=bool(row[0]), at=datetime.fromisoformat(row[1])) if row else None

    # -- the send log ---------------------------------------------------------

    def record_send(self, record: SendRecord) -> SendRecord:
        with self._transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO sends (at, recipients, subject, filename, size, protocol, ok,"
                " diagnosis, reply) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (record.at.isoformat(), json.dumps(record.recipients), record.subject,
                 record.filename, record.size, record.protocol, int(record.ok),
                 record.diagnosis, record.reply))
        return SendRecord(**{**record.__dict__, "id": cursor.lastrowid})

    def sends(self, limit: int = 200) -> list[SendRecord]:
        """The latest sends, newest first."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT id, at, recipients, subject, filename, size, protocol, ok, diagnosis,"
                " reply FROM sends ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [SendRecord(id=row[0], at=datetime.fromisoformat(row[1]),
                           recipients=json.loads(row[2]), subject=row[3], filename=row[4],
                           size=row[5], protocol=row[6], ok=bool(row[7]), diagnosis=row[8],
                           reply=row[9]) for row in rows]

    # -- administrator ------------------------------------------------------

    def admin_password_hash(self) -> str | None:
        with self._connect() as conn:
            row = conn.execute("SELECT password_hash FROM admin WHERE id = 1").fetchone()
        return row[0] if row else None

    def set_admin_password_hash(self, password_hash: str) -> None:
        with self._transaction() as conn:
            conn.execute("INSERT INTO admin (id, password_hash) VALUES (1, ?)"
                         " ON CONFLICT (id) DO UPDATE SET password_hash = excluded.password_hash",
                         (password_hash,))

    def issue_signin_token(self, ttl_seconds: float) -> str:
        token = secrets.token_urlsafe(32)
        with self._transaction() as conn:
            conn.execute("DELETE FROM signin_tokens WHERE expires_at < ?", (time.time(),))
            conn.execute("INSERT INTO signin_tokens (token_hash, expires_at) VALUES (?, ?)",
                         (_token_hash(token), time.time() + ttl_seconds))
        return token

    def consume_signin_token(self, token: str) -> bool:
        """True once for a valid, unexpired token; it cannot be used again."""
        with self._transaction() as conn:
            deleted = conn.execute(
                "DELETE FROM signin_tokens WHERE token_hash = ? AND expires_at >= ?",
                (_token_hash(token), time.time())).rowcount
        return deleted == 1


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
