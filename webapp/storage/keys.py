"""Key files: the Fernet keys that seal the stored secret, and Flask's SECRET_KEY.

Both live in the instance folder as private (0600) files unless the
environment sets them (SENDWELL_FERNET_KEY, SENDWELL_SECRET_KEY).
"""
import contextlib
import os
import secrets
import threading

from cryptography.fernet import Fernet, MultiFernet

KEY_FILE = "fernet.key"
SECRET_KEY_FILE = "secret.key"


def load_or_create_key(path: str) -> bytes:
    """The random key in the private file at `path`, made on first use.

    Serves both key files: KEY_FILE, and SECRET_KEY_FILE for Flask's
    SECRET_KEY (which signs sessions, CSRF tokens and the test status). A new
    file holds a new Fernet key, 32 random bytes either way. Several workers
    may start at once: each writes its own key to a private temp file and
    links it into place, so exactly one key ever wins.
    """
    with contextlib.suppress(FileNotFoundError):
        with open(path, "rb") as f:
            key = f.read().strip()
        if key:
            return key
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    _write_private(path, Fernet.generate_key(), replace=False)
    with open(path, "rb") as f:
        return f.read().strip()


def fernet_keys(path: str) -> list[bytes]:
    """The key file's keys, newest first; the file is made with one key on first use."""
    load_or_create_key(path)
    return read_keys(path)


def keys_from_setting(value: str) -> list[bytes]:
    """SENDWELL_FERNET_KEY: one or more keys, comma-separated, newest first."""
    return [key.strip().encode() for key in str(value).split(",") if key.strip()]


def keyring(keys: list[bytes]) -> MultiFernet:
    """The first key encrypts; every key decrypts (for rotation)."""
    return MultiFernet([Fernet(k) for k in keys])


class FixedKeys:
    """Keys that never change while the app runs (SENDWELL_FERNET_KEY)."""

    def __init__(self, keys: MultiFernet):
        self._keys = keys

    def current(self) -> MultiFernet:
        return self._keys


class KeyFile:
    """The key file's keys, read again whenever the file changes.

    `flask rotate-key` may run beside a running Sendwell: each worker then
    takes up the new key the next time it seals or opens the secret, so it
    can read what rotation re-encrypted and never seals with a key that has
    left the file (see rotate_key_file).
    """

    def __init__(self, path: str):
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple | None = None
        self._keys: MultiFernet | None = None

    def current(self) -> MultiFernet:
        stamp = _file_stamp(self.path)
        with self._lock:
            if stamp != self._stamp or self._keys is None:
                # Stamp first, then read: a change in between reads again next time.
                self._keys, self._stamp = keyring(read_keys(self.path)), stamp
            return self._keys


def key_source(keys: MultiFernet | KeyFile) -> FixedKeys | KeyFile:
    """What seals and opens: the key file, read again when it changes (a
    rotation beside a running app), or keys fixed by the setting."""
    return keys if isinstance(keys, KeyFile) else FixedKeys(keys)


def _file_stamp(path: str) -> tuple:
    info = os.stat(path)
    return info.st_ino, info.st_mtime_ns, info.st_ctime_ns, info.st_size


def read_keys(path: str) -> list[bytes]:
    """A key file holds one key a line, newest first (more than one only mid-rotation)."""
    with open(path, "rb") as f:
        return [line.strip() for line in f if line.strip()]


def write_keys(path: str, keys: list[bytes]) -> None:
    """Replace the key file atomically, readable by its owner only."""
    _write_private(path, b"".join(key + b"\n" for key in keys), replace=True)


def rotate_key_file(store, path: str) -> int:
    """Encrypt the stored secret under a new key and make it the file's only key.

    Both keys stay in the file until the secret is re-encrypted, so a crash at
    any point leaves a secret that one of the file's keys can read. A running
    Sendwell seals with the first key of the file as it reads it inside the
    save's write transaction (KeyFile), so once the new key leads the file
    every save uses it; the old key leaves the file only inside a write
    transaction that has checked the stored secret opens without it, so no
    save can slip a secret sealed with the old key in after the check.
    """
    old = read_keys(path)
    new = Fernet.generate_key()
    write_keys(path, [new, *old])
    while True:
        count = store.reencrypt(keyring([new, *old]))
        if store.retire_keys(keyring([new]), lambda: write_keys(path, [new])):
            return count


def _write_private(path: str, data: bytes, *, replace: bool) -> None:
    """Put `data` at `path` whole or not at all, readable by its owner only.

    It goes to a private temp file first, so no reader ever sees half a key.
    With replace=False a file already at `path` wins over this one.
    """
    tmp = f"{path}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
