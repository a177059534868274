"""Sealing: a JSON object encrypted with the key ring together with what it
is bound to (a destination, a row key), and opened only for that same one.

The saved secret (mail_settings.py), the drafts (drafts.py) and the OAuth
records (oauth.py) all keep their secrets this way. Each table has its own
stored shape, which rows already in a database are sealed in and must keep:
the bound value under ``bound_field``, and the fields beside it, or nested
under ``data_field`` when there is one:

    settings, drafts:  {"destination": ..., "secret": ..., "id": ...}
    OAuth tables:      {"bound_to": ..., "data": {...}}
"""
import json

from cryptography.fernet import InvalidToken, MultiFernet

from .keys import KeyFile, key_source


class Sealer:
    def __init__(self, keys: MultiFernet | KeyFile, bound_field: str = "destination",
                 data_field: str | None = None):
        self._bound_field, self._data_field = bound_field, data_field
        self.use_keys(keys)

    def use_keys(self, keys: MultiFernet | KeyFile) -> None:
        """Seal with the first of ``keys`` and open with any of them from now on."""
        self._keys = key_source(keys)

    def seal(self, bound_to: str, data: dict) -> bytes:
        sealed = {self._bound_field: bound_to, **({self._data_field: data} if self._data_field else data)}
        return self._keys.current().encrypt(json.dumps(sealed).encode())

    def open(self, token: bytes | None, bound_to: str) -> dict | None:
        """What was sealed, only if it was sealed for ``bound_to``; None when
        there is nothing, or no key of the ring opens it."""
        if not token:
            return None
        try:
            sealed = json.loads(self._keys.current().decrypt(bytes(token)))
        except (InvalidToken, ValueError):
            return None  # a lost or changed key: the user types the secret or signs in again
        if not isinstance(sealed, dict) or sealed.get(self._bound_field) != bound_to:
            return None
        return sealed.get(self._data_field) if self._data_field else sealed


def reseal_column(conn, table: str, key_column: str, column: str, keys: MultiFernet) -> int:
    """Seal every value of ``table.column`` under the first of ``keys``
    (inside the caller's transaction); returns how many. A value no key opens
    stays as it is: it reads as absent, and is asked for again."""
    count = 0
    for row in conn.execute(f"SELECT {key_column} AS key, {column} AS sealed FROM {table}"
                            f" WHERE {column} IS NOT NULL").fetchall():
        try:
            token = keys.rotate(bytes(row["sealed"]))
        except InvalidToken:
            continue
        conn.execute(f"UPDATE {table} SET {column} = ? WHERE {key_column} = ?", (token, row["key"]))
        count += 1
    return count
