import pytest

from webapp.mail.attempt import Attempt


@pytest.fixture
def attempt():
    """Factory: ``attempt(deadline_s, host="127.0.0.1")``, closed after the test."""
    attempts: list[Attempt] = []

    def start(deadline_s: float, host: str = "127.0.0.1") -> Attempt:
        attempts.append(Attempt(deadline_s, host=host))
        return attempts[-1]

    yield start
    for started in attempts:
        started.close()
