"""An in-memory :class:`~backup.ports.FilePublisher`: each file readable with its own token only,
as a blob is with its user-delegation SAS."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from backup.ports import PublishedFile

FAKE_ACCOUNT_URL = "https://fakeexports.blob.core.windows.net/job-exports"


class FakeFilePublisher:
    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str, str]] = {}
        """URL -> (content, content type, the one token that reads it)."""
        self._failures: list[BaseException] = []

    async def publish(self, name: str, content: bytes, content_type: str) -> PublishedFile:
        if self._failures:
            raise self._failures.pop(0)
        url = f"{FAKE_ACCOUNT_URL}/{name}"
        token = f"sp=r&spr=https&sig={secrets.token_urlsafe(16)}"
        self.files[url] = (content, content_type, token)
        return PublishedFile(url=url, sas_token=token, expires_at=datetime.now(UTC) + timedelta(hours=24))

    async def close(self) -> None:
        pass

    def read(self, url: str, token: str) -> bytes | None:
        """What a holder of ``url`` and ``token`` downloads; ``None`` where storage would refuse."""
        found = self.files.get(url)
        if found is None or found[2] != token:
            return None
        return found[0]

    def fail_next(self, error: BaseException) -> None:
        self._failures.append(error)
