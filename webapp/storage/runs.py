"""Outcomes of "Test email settings", kept by a fingerprint of what was tested
(the settings and secret themselves are not kept here)."""
from dataclasses import dataclass
from datetime import datetime, timezone

from .db import Database

KEEP_TEST_RUNS = 50


@dataclass(frozen=True)
class TestRun:
    ok: bool
    at: datetime


class TestRuns:
    def __init__(self, db: Database):
        self._db = db

    def record_test(self, fingerprint: str, ok: bool, at: datetime | None = None) -> TestRun:
        run = TestRun(ok=ok, at=at or datetime.now(timezone.utc))
        with self._db.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO test_runs (fingerprint, ok, at) VALUES (?, ?, ?)",
                         (fingerprint, int(ok), run.at.isoformat()))
            conn.execute("DELETE FROM test_runs WHERE fingerprint NOT IN"
                         " (SELECT fingerprint FROM test_runs ORDER BY at DESC LIMIT ?)",
                         (KEEP_TEST_RUNS,))
        return run

    def has_test_runs(self) -> bool:
        return self._db.one("SELECT 1 FROM test_runs LIMIT 1") is not None

    def test_run(self, fingerprint: str) -> TestRun | None:
        row = self._db.one("SELECT ok, at FROM test_runs WHERE fingerprint = ?", (fingerprint,))
        return TestRun(ok=bool(row["ok"]), at=datetime.fromisoformat(row["at"])) if row else None
