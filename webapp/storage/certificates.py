"""Certificates that servers presented to a failed test, kept so that
"Trust this certificate" trusts what the server really showed and the form
shows facts read from the certificate itself, never facts sent back by the
browser. A few recent ones are kept, and always the one the saved settings
trust."""
from dataclasses import dataclass
from datetime import datetime, timezone

from ..mail.certificates import CertificateFacts
from .db import Database

KEEP_CERTIFICATES = 20


@dataclass(frozen=True)
class SeenCertificate:
    host: str       # where it was presented, last
    port: int
    facts: CertificateFacts
    seen_at: datetime


class SeenCertificates:
    def __init__(self, db: Database):
        self._db = db

    def remember(self, host: str, port: int, der: bytes, *, keep: str = "") -> CertificateFacts | None:
        """Keep the certificate ``der`` as presented by ``host``:``port``; the
        oldest beyond KEEP_CERTIFICATES go, except ``keep`` (a fingerprint)."""
        facts = CertificateFacts.from_der(der)
        if facts is None:
            return None
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO certificates (sha256, host, port, der, seen_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (facts.sha256, host, int(port), der, datetime.now(timezone.utc).isoformat()))
            conn.execute("DELETE FROM certificates WHERE sha256 != ? AND sha256 NOT IN"
                         " (SELECT sha256 FROM certificates ORDER BY seen_at DESC LIMIT ?)",
                         (keep, KEEP_CERTIFICATES))
        return facts

    def get(self, sha256: str) -> SeenCertificate | None:
        row = self._db.one("SELECT host, port, der, seen_at FROM certificates WHERE sha256 = ?",
                           (sha256,))
        if row is None:
            return None
        facts = CertificateFacts.from_der(bytes(row["der"]))
        if facts is None or facts.sha256 != sha256:
            return None
        return SeenCertificate(row["host"], row["port"], facts, datetime.fromisoformat(row["seen_at"]))
