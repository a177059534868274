"""Where an OAuth sign-in is kept: grants sealed with their destination, the
sign-ins under way, key rotation, and one refresh at a time."""
import sqlite3
import threading
import time

import pytest
from cryptography.fernet import Fernet

from webapp import storage
from webapp.model import MailSettings
from webapp.storage import Grant

MICROSOFT = MailSettings(smtp_host="smtp.office365.com", smtp_port=587, username="a@example.com",
                         sign_in_method="microsoft", oauth_client_id="client-1")
GRANT = Grant(grant_id="g1", provider="microsoft", account="a@example.com",
              refresh_token="refresh-token-0123456789", client_secret="client-secret-0123456789",
              access_token="access-token-0123456789", expires_at=time.time() + 3600)


KEY = Fernet.generate_key()


@pytest.fixture
def store(tmp_path):
    made = storage.Store(str(tmp_path / "db.sqlite3"), storage.keyring([KEY]))
    made.init()
    return made


def database_bytes(store) -> bytes:
    with open(store.path, "rb") as main:
        data = main.read()
    try:
        with open(store.path + "-wal", "rb") as wal:
            data += wal.read()
    except FileNotFoundError:
        pass
    return data


def test_the_destination_names_the_app_and_directory():
    assert MICROSOFT.credential_kind == "oauth"
    assert MICROSOFT.destination.endswith("oauth=microsoft client=client-1 tenant=organizations")
    google = MailSettings(smtp_host="smtp.gmail.com", smtp_port=587, username="a@example.com",
                          sign_in_method="google", oauth_client_id="c")
    assert google.destination.endswith("oauth=google client=c")
    # A password's destination is what it always was, so saved passwords stay usable.
    password = MailSettings(smtp_host="smtp.example.com", smtp_port=587, username="a@example.com")
    assert password.destination == "SMTP smtp.example.com:587/starttls verify a@example.com"


@pytest.mark.parametrize("change", [
    {"smtp_host": "smtp.elsewhere.example"}, {"smtp_port": 465}, {"username": "b@example.com"},
    {"oauth_client_id": "client-2"}, {"oauth_tenant": "contoso.onmicrosoft.com"},
    {"sign_in_method": "google"}, {"skip_tls_verify": True},
])
def test_a_grant_is_handed_out_only_for_its_destination(store, change):
    store.keep_grant(MICROSOFT.destination, GRANT)
    assert store.grant_for(MICROSOFT.destination) == GRANT
    moved = MailSettings.from_dict({**MICROSOFT.to_dict(), **change})
    assert store.grant_for(moved.destination) is None


def test_tokens_and_the_client_secret_are_not_in_the_database_in_clear(store):
    store.keep_grant(MICROSOFT.destination, GRANT)
    store.put_sign_in("pending", "state-abc", {"client_secret": GRANT.client_secret}, 60)
    data = database_bytes(store)
    for secret in (GRANT.refresh_token, GRANT.access_token, GRANT.client_secret, "state-abc"):
        assert secret.encode() not in data


def test_a_tampered_destination_column_does_not_release_the_grant(store):
    store.keep_grant(MICROSOFT.destination, GRANT)
    other = MailSettings.from_dict({**MICROSOFT.to_dict(), "smtp_host": "evil.example"})
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE oauth_grants SET destination = ?", (other.destination,))
    assert store.grant_for(other.destination) is None


def test_a_refresh_replaces_the_rotated_token_unless_another_got_there_first(store):
    store.keep_grant(MICROSOFT.destination, GRANT)
    rotated = {"access_token": "access-2", "refresh_token": "refresh-2", "expires_at": 1.0}
    kept = store.grant_after_refresh(MICROSOFT.destination, GRANT.refresh_token, rotated)
    assert (kept.refresh_token, kept.access_token, kept.grant_id) == ("refresh-2", "access-2", "g1")
    # A refresh that started from the old token finds the new one and changes nothing.
    stale = {"access_token": "access-3", "refresh_token": "refresh-3", "expires_at": 2.0}
    assert store.grant_after_refresh(MICROSOFT.destination, GRANT.refresh_token, stale) == kept
    # Google keeps the refresh token: only the access token changes.
    same = {"access_token": "access-4", "refresh_token": "refresh-2", "expires_at": 3.0}
    assert store.grant_after_refresh(MICROSOFT.destination, "refresh-2", same).refresh_token == "refresh-2"


def test_saving_settings_keeps_only_their_grant(store):
    other = MailSettings.from_dict({**MICROSOFT.to_dict(), "username": "b@example.com"})
    store.keep_grant(MICROSOFT.destination, GRANT)
    store.keep_grant(other.destination, GRANT)
    store.save(MICROSOFT, None)
    assert store.grant_for(MICROSOFT.destination) == GRANT
    assert store.grant_for(other.destination) is None
    # Settings that sign in with a password keep no grant at all.
    store.save(MailSettings(smtp_host="smtp.example.com", smtp_port=587, username="a@example.com"), "pw")
    assert store.grant_for(MICROSOFT.destination) is None


def test_sign_ins_under_way_serve_once_and_expire(store):
    store.put_sign_in("pending", "state-1", {"values": {"a": "b"}}, 60)
    assert store.sign_in("pending", "state-1") == {"values": {"a": "b"}}
    assert store.take_sign_in("pending", "state-1") == {"values": {"a": "b"}}
    assert store.take_sign_in("pending", "state-1") is None
    assert store.sign_in("draft", "state-1") is None  # kinds do not mix
    store.put_sign_in("pending", "state-2", {}, -1)
    assert store.take_sign_in("pending", "state-2") is None


def test_rotation_reencrypts_grants_and_sign_ins(store):
    store.keep_grant(MICROSOFT.destination, GRANT)
    store.put_sign_in("draft", "key-1", {"values": {}}, 60)
    new = Fernet.generate_key()
    assert store.reencrypt(storage.keyring([new, KEY])) == 2
    # The new key alone opens them now.
    reopened = storage.Store(store.path, storage.keyring([new]))
    assert reopened.grant_for(MICROSOFT.destination) == GRANT
    assert reopened.sign_in("draft", "key-1") == {"values": {}}


def test_a_grant_no_key_opens_reads_as_absent(store, tmp_path):
    store.keep_grant(MICROSOFT.destination, GRANT)
    other = storage.Store(store.path, storage.keyring([Fernet.generate_key()]))
    assert other.grant_for(MICROSOFT.destination) is None


def test_one_refresh_at_a_time_across_threads(store):
    inside, overlaps = [], []

    def refresh():
        with store.refreshing_grants(5.0) as held:
            assert held
            if inside:
                overlaps.append(True)
            inside.append(1)
            time.sleep(0.05)
            inside.pop()

    threads = [threading.Thread(target=refresh) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == []


def test_the_refresh_lock_gives_up_in_time(store):
    with store.refreshing_grants(1.0):
        started = time.monotonic()
        result = []

        def wait():
            with store.refreshing_grants(0.2) as held:
                result.append(held)

        thread = threading.Thread(target=wait)
        thread.start()
        thread.join()
    assert result == [False] and time.monotonic() - started < 1.0


def test_a_running_store_keeps_its_grant_through_a_rotation_made_by_another(tmp_path):
    """rotate-key beside a running Sendwell (issue 12, item 9) re-seals the
    OAuth grant too, and the running store reads the key file again."""
    key_file = str(tmp_path / "rotating.key")
    storage.fernet_keys(key_file)
    path = str(tmp_path / "running.sqlite3")
    running = storage.Store(path, storage.KeyFile(key_file))
    running.init()
    running.keep_grant(MICROSOFT.destination, GRANT)
    old_keys = storage.read_keys(key_file)
    assert storage.rotate_key_file(storage.Store(path, storage.KeyFile(key_file)), key_file) == 1
    assert storage.read_keys(key_file) != old_keys and len(storage.read_keys(key_file)) == 1
    assert running.grant_for(MICROSOFT.destination) == GRANT
    assert storage.Store(path, storage.KeyFile(key_file)).grant_for(MICROSOFT.destination) == GRANT


def test_a_secret_no_key_opens_does_not_hold_a_rotation_up(tmp_path):
    key_file = str(tmp_path / "rotating.key")
    storage.fernet_keys(key_file)
    path = str(tmp_path / "lost.sqlite3")
    lost = storage.Store(path, storage.keyring([Fernet.generate_key()]))
    lost.init()
    lost.keep_grant(MICROSOFT.destination, GRANT)  # sealed with a key that is gone
    assert storage.rotate_key_file(storage.Store(path, storage.KeyFile(key_file)), key_file) == 0
    assert len(storage.read_keys(key_file)) == 1
