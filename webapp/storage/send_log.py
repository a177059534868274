"""The log of emailed documents."""
import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime

from .db import Database


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


class SendLog:
    def __init__(self, db: Database):
        self._db = db

    def record_send(self, record: SendRecord) -> SendRecord:
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO sends (at, recipients, subject, filename, size, protocol, ok,"
                " diagnosis, reply) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (record.at.isoformat(), json.dumps(record.recipients), record.subject,
                 record.filename, record.size, record.protocol, int(record.ok),
                 record.diagnosis, record.reply))
        return dataclasses.replace(record, id=cursor.lastrowid)

    def sends(self, limit: int = 200) -> list[SendRecord]:
        """The latest sends, newest first."""
        rows = self._db.all(
            "SELECT id, at, recipients, subject, filename, size, protocol, ok, diagnosis, reply"
            " FROM sends ORDER BY id DESC LIMIT ?", (limit,))
        return [SendRecord(id=row["id"], at=datetime.fromisoformat(row["at"]),
                           recipients=json.loads(row["recipients"]), subject=row["subject"],
                           filename=row["filename"], size=row["size"], protocol=row["protocol"],
                           ok=bool(row["ok"]), diagnosis=row["diagnosis"], reply=row["reply"])
                for row in rows]
