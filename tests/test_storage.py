"""Settings storage: round trip, the secret at rest, atomic saves."""
import base64
import hashlib
import json
import os
import sqlite3
import stat
from datetime import datetime, timezone

import pytest
from cryptography.fernet import Fernet

from webapp import storage
from webapp.model import MailSettings
from webapp.storage import db

PASSWORD = "correct horse battery staple"

SMTP = MailSettings(protocol="SMTP", smtp_host="smtp.example.com", smtp_port=587,
                    username="accounts@example.com", copy_address="archive@example.com")


@pytest.fixture
def store(tmp_path):
    key = storage.load_or_create_key(str(tmp_path / "fernet.key"))
    s = storage.Store(str(tmp_path / "db.sqlite3"), storage.keyring([key]))
    s.init()
    return s


def raw_bytes(store) -> bytes:
    data = b""
    for suffix in ("", "-wal"):
        path = store.path + suffix
        if os.path.exists(path):
            with open(path, "rb") as f:
                data += f.read()
    return data


def test_round_trip(store):
    assert store.saved() is None
    store.save(SMTP, PASSWORD)
    saved = store.saved()
    assert saved.settings == SMTP
    assert saved.has_secret
    assert store.secret_for(SMTP.destination) == PASSWORD


def test_password_is_not_in_the_database_in_clear_or_base64(store):
    store.save(SMTP, PASSWORD)
    raw = raw_bytes(store)
    assert b"archive@example.com" in raw  # the check would see the password if it were there
    for form in (PASSWORD.encode(), base64.b64encode(PASSWORD.encode()),
                 base64.urlsafe_b64encode(PASSWORD.encode()), PASSWORD.encode("utf-16-le")):
        assert form not in raw


@pytest.mark.parametrize("change", [
    {"smtp_host": "smtp.attacker.example"},
    {"smtp_port": 465},
    {"username": "other@example.com"},
    {"skip_tls_verify": True},
    {"protocol": "HTTP", "http_url": "https://mail.example.com/"},
])
def test_secret_is_only_handed_out_for_its_own_destination(store, change):
    store.save(SMTP, PASSWORD)
    changed = MailSettings.from_dict({**SMTP.to_dict(), **change})
    assert changed.destination != SMTP.destination
    assert store.secret_for(changed.destination) is None


def test_a_tampered_destination_column_does_not_release_the_secret(store):
    store.save(SMTP, PASSWORD)
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE settings SET destination = 'SMTP evil.example:587/starttls verify x'")
    assert store.secret_for("SMTP evil.example:587/starttls verify x") is None


def test_a_secret_that_no_longer_decrypts_reads_as_absent(store, tmp_path):
    store.save(SMTP, PASSWORD)
    other = storage.Store(store.path, storage.keyring([Fernet.generate_key()]))
    assert other.secret_for(SMTP.destination) is None
    assert other.saved().settings == SMTP
    assert not other.saved().has_secret


def test_a_failed_save_leaves_the_previous_settings_whole(store):
    store.save(SMTP, PASSWORD)
    changed = MailSettings.from_dict({**SMTP.to_dict(), "smtp_host": "smtp.other.example"})
    # The database itself refuses the write halfway through the save.
    with sqlite3.connect(store.path) as conn:
        conn.execute("CREATE TRIGGER refuse BEFORE UPDATE ON settings"
                     " BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    with pytest.raises(sqlite3.IntegrityError):
        store.save(changed, "new password")
    assert store.saved().settings == SMTP
    assert store.secret_for(SMTP.destination) == PASSWORD


def test_database_is_in_wal_mode(store):
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_key_file_is_private_and_stable(tmp_path):
    path = str(tmp_path / "keys" / "fernet.key")
    key = storage.load_or_create_key(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert storage.load_or_create_key(path) == key
    Fernet(key)  # a valid Fernet key
    assert os.listdir(tmp_path / "keys") == ["fernet.key"]


def test_signin_token_works_once(store):
    token = store.issue_signin_token(60)
    assert store.consume_signin_token(token)
    assert not store.consume_signin_token(token)
    assert not store.consume_signin_token("made-up")
    expired = store.issue_signin_token(-1)
    assert not store.consume_signin_token(expired)


def test_database_file_is_private(store):
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600


def test_rotation_reencrypts_under_the_new_key(store, tmp_path):
    store.save(SMTP, PASSWORD)
    before = raw_bytes(store)
    new = Fernet.generate_key()
    old_key = storage.read_keys(str(tmp_path / "fernet.key"))
    assert store.reencrypt(storage.keyring([new, *old_key])) == 1
    only_new = storage.Store(store.path, storage.keyring([new]))
    assert only_new.secret_for(SMTP.destination) == PASSWORD
    only_old = storage.Store(store.path, storage.keyring(old_key))
    assert only_old.secret_for(SMTP.destination) is None
    assert raw_bytes(store) != before


def test_a_running_store_follows_a_rotation_made_by_another_and_loses_nothing(tmp_path):
    """Item 9 of issue 12: rotate-key beside a running Sendwell."""
    import threading
    import time

    key_file = str(tmp_path / "rotating.key")
    storage.fernet_keys(key_file)
    path = str(tmp_path / "running.sqlite3")
    running = storage.Store(path, storage.KeyFile(key_file))
    running.init()
    running.save(SMTP, "first-password")
    rotator = storage.Store(path, storage.KeyFile(key_file))
    assert storage.rotate_key_file(rotator, key_file) == 1
    assert running.secret_for(SMTP.destination) == "first-password"
    running.save(SMTP, "saved-after-rotation")
    assert storage.Store(path, storage.KeyFile(key_file)).secret_for(SMTP.destination) == \
        "saved-after-rotation"

    # Saves and rotations at the same time: the last save always opens afterwards.
    stop, saved = threading.Event(), []

    def keep_saving():
        n = 0
        while not stop.is_set():
            n += 1
            running.save(SMTP, f"password-{n}")
            saved.append(f"password-{n}")
            stop.wait(0.002)  # a busy writer, not one that starves the rotation

    saver = threading.Thread(target=keep_saving)
    saver.start()
    try:
        for _ in range(8):
            storage.rotate_key_file(rotator, key_file)
            count = len(saved)
            while len(saved) == count and saver.is_alive():
                time.sleep(0.001)  # a save between each two rotations, and during them
    finally:
        stop.set()
        saver.join(10)
    assert len(saved) >= 8
    assert len(storage.read_keys(key_file)) == 1
    fresh = storage.Store(path, storage.KeyFile(key_file))
    assert fresh.secret_for(SMTP.destination) == saved[-1]
    assert running.secret_for(SMTP.destination) == saved[-1]


def test_the_store_works_on_after_a_failed_save(store):
    store.save(SMTP, PASSWORD)
    with sqlite3.connect(store.path) as conn:
        conn.execute("CREATE TRIGGER refuse BEFORE UPDATE ON settings"
                     " BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    with pytest.raises(sqlite3.IntegrityError):
        store.save(SMTP, "other")
    with sqlite3.connect(store.path) as conn:
        conn.execute("DROP TRIGGER refuse")
    changed = MailSettings.from_dict({**SMTP.to_dict(), "smtp_port": 465})
    store.save(changed, "new password")
    assert store.saved().settings == changed


# -- the schema version ---------------------------------------------------------

# The schema exactly as Sendwell created it before the database had a version
# (storage.py at 788ef2a). Databases made then must keep working.
SCHEMA_BEFORE_VERSIONS = """
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


def user_version(path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA user_version").fetchone()[0]


def test_a_database_from_before_schema_versions_upgrades_with_everything_in_it(tmp_path):
    path, key = str(tmp_path / "old.sqlite3"), Fernet.generate_key()
    sealed = Fernet(key).encrypt(json.dumps({"destination": SMTP.destination,
                                             "secret": PASSWORD}).encode())
    tested = datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(SCHEMA_BEFORE_VERSIONS)
        conn.execute("INSERT INTO settings VALUES (1, ?, ?, ?, ?)",
                     (json.dumps(SMTP.to_dict()), SMTP.destination, sealed, tested.isoformat()))
        conn.execute("INSERT INTO test_runs VALUES ('fingerprint-1', 1, ?)", (tested.isoformat(),))
        conn.execute("INSERT INTO admin VALUES (1, 'scrypt:hash-of-the-password')")
        conn.execute("INSERT INTO signin_tokens VALUES (?, 4102444800)",
                     (hashlib.sha256(b"old-token").hexdigest(),))
        conn.execute("INSERT INTO sends (at, recipients, subject, filename, size, protocol, ok,"
                     " diagnosis, reply) VALUES (?, '[\"a@example.com\"]', 'Invoice 7', 'i.pdf',"
                     " 1234, 'SMTP', 0, 'recipient_refused', '550 no such user')",
                     (tested.isoformat(),))
    assert user_version(path) == 0

    store = storage.Store(path, storage.keyring([key]))
    store.init()

    assert user_version(path) == len(db.MIGRATIONS)
    saved = store.saved()
    assert saved.settings == SMTP and saved.has_secret and saved.updated_at == tested
    assert store.has_settings()
    assert store.secret_for(SMTP.destination) == PASSWORD
    assert store.test_run("fingerprint-1") == storage.TestRun(ok=True, at=tested)
    assert store.admin_password_hash() == "scrypt:hash-of-the-password"
    assert store.sends() == [storage.SendRecord(
        id=1, at=tested, recipients=["a@example.com"], subject="Invoice 7", filename="i.pdf",
        size=1234, protocol="SMTP", ok=False, diagnosis="recipient_refused",
        reply="550 no such user")]
    assert store.consume_signin_token("old-token")


def test_a_new_migration_runs_once_on_a_database_already_up_to_date(store, monkeypatch):
    store.save(SMTP, PASSWORD)
    monkeypatch.setattr(db, "MIGRATIONS", [*db.MIGRATIONS, (
        "CREATE TABLE pins (destination TEXT PRIMARY KEY, sha256 TEXT NOT NULL)",
        "INSERT INTO pins VALUES ('x', 'first')",
    )])
    store.init()
    store.init()  # a second start: already at the newest version, nothing runs again
    assert user_version(store.path) == len(db.MIGRATIONS)
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("SELECT * FROM pins").fetchall() == [("x", "first")]
    assert store.secret_for(SMTP.destination) == PASSWORD


def test_a_database_newer_than_the_code_is_refused(store, monkeypatch):
    version = len(db.MIGRATIONS)
    monkeypatch.setattr(db, "MIGRATIONS", db.MIGRATIONS[:0])
    with pytest.raises(RuntimeError, match=f"schema version {version}"):
        store.init()


def test_has_settings_once_saved(store):
    assert not store.has_settings()
    store.save(SMTP, None)
    assert store.has_settings()


# -- each table's sealed shape stays readable ---------------------------------------
# Rows already in a database were sealed in these shapes: what the code writes
# must stay the same, and what it reads must open them.

SEALED_SHAPES = {
    "settings": lambda: {"destination": SMTP.destination, "secret": PASSWORD, "id": "secret-7"},
    "drafts": lambda: {"destination": SMTP.destination, "secret": PASSWORD},
    "oauth_grants": lambda: {"bound_to": SMTP.destination, "data": {
        "grant_id": "g1", "provider": "microsoft", "account": "a@example.com",
        "refresh_token": "refresh-1", "client_secret": "client-secret-1",
        "access_token": None, "expires_at": None}},
    "oauth_sign_ins": lambda: {"bound_to": "start:" + hashlib.sha256(b"state-1").hexdigest(),
                               "data": {"form": {"smtp_host": "smtp.example.com"}}},
}


def opened(store, table):
    if table == "settings":
        return {"destination": SMTP.destination, "secret": store.secret_for(SMTP.destination),
                "id": store.secret_id_for(SMTP.destination)}
    if table == "drafts":
        return {"destination": SMTP.destination, "secret": store.draft_secret("draft-1", SMTP.destination)}
    if table == "oauth_grants":
        grant = store.grant_for(SMTP.destination)
        return {"bound_to": SMTP.destination, "data": grant and {
            name: getattr(grant, name) for name in grant.__dataclass_fields__}}
    return {"bound_to": "start:" + hashlib.sha256(b"state-1").hexdigest(),
            "data": store.sign_in("start", "state-1")}


def sealed_column(store, table) -> bytes:
    column = "secret" if table == "settings" else "sealed"
    with sqlite3.connect(store.path) as conn:
        return conn.execute(f"SELECT {column} FROM {table}").fetchone()[0]


@pytest.mark.parametrize("table", SEALED_SHAPES)
def test_a_row_sealed_in_its_tables_shape_opens(tmp_path, table):
    key = Fernet.generate_key()
    store = storage.Store(str(tmp_path / "db.sqlite3"), storage.keyring([key]))
    store.init()
    sealed = Fernet(key).encrypt(json.dumps(SEALED_SHAPES[table]()).encode())
    far = 4102444800
    with sqlite3.connect(store.path) as conn:
        if table == "settings":
            conn.execute("INSERT INTO settings VALUES (1, ?, ?, ?, ?)",
                         (json.dumps(SMTP.to_dict()), SMTP.destination, sealed,
                          datetime.now(timezone.utc).isoformat()))
        elif table == "drafts":
            conn.execute("INSERT INTO drafts VALUES (?, ?, ?)",
                         (hashlib.sha256(b"draft-1").hexdigest(), sealed, far))
        elif table == "oauth_grants":
            conn.execute("INSERT INTO oauth_grants VALUES (?, ?, ?)",
                         (SMTP.destination, sealed, datetime.now(timezone.utc).isoformat()))
        else:
            conn.execute("INSERT INTO oauth_sign_ins VALUES (?, ?, ?)",
                         (SEALED_SHAPES[table]()["bound_to"], sealed, far))
    assert opened(store, table) == SEALED_SHAPES[table]()


@pytest.mark.parametrize("table", SEALED_SHAPES)
def test_each_table_seals_in_its_own_shape(tmp_path, table):
    key = Fernet.generate_key()
    store = storage.Store(str(tmp_path / "db.sqlite3"), storage.keyring([key]))
    store.init()
    shape = SEALED_SHAPES[table]()
    if table == "settings":
        store.save(SMTP, PASSWORD, secret_id="secret-7")
    elif table == "drafts":
        store.keep_draft("draft-1", SMTP.destination, PASSWORD, 60)
    elif table == "oauth_grants":
        store.keep_grant(SMTP.destination, storage.Grant(**shape["data"]))
    else:
        store.put_sign_in("start", "state-1", shape["data"], 60)
    assert json.loads(Fernet(key).decrypt(sealed_column(store, table))) == shape
