"""An embedded PostgreSQL of a test's own that the test can stop and start under a running hub.

The test process starts the server (``hub.store.db.embedded_url``) and gives the hub
subprocess its URL (a Unix socket), so stopping it with ``pg_ctl stop -m fast``
(pgserver's own binaries, as the user pgserver runs it as) is a real outage:
every connection drops and new ones are refused until ``start`` brings the
same cluster back on the same socket.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from hub.store import db


def _pg_ctl(pgdata: Path, *args: str) -> None:
    from pgserver import _commands  # type: ignore[import-untyped]

    user = "pgserver" if os.geteuid() == 0 else None
    _commands.pg_ctl(["-w", *args], pgdata=pgdata, user=user, timeout=60)


class OwnPostgres:
    """A PostgreSQL cluster in a temporary folder; ``stop()``/``start()`` make an outage."""

    def __init__(self) -> None:
        # Not tmp_path: the server runs as another user when tests run as root.
        self.root = Path(tempfile.mkdtemp(prefix="cuiban-outage-"))
        self.pgdata = self.root / "data"
        self.url = db.embedded_url(self.pgdata)

    def database_url(self, name: str) -> str:
        return self.url.replace("/postgres?", f"/{name}?", 1)

    def stop(self) -> None:
        """A fast shutdown: sessions are ended, nothing new is accepted."""
        _pg_ctl(self.pgdata, "-m", "fast", "stop")

    def start(self) -> None:
        """Start the same cluster again on the same socket, as pgserver started it."""
        socket_dir = self.url.rsplit("host=", 1)[1]
        log = str(self.pgdata / "log")
        _pg_ctl(self.pgdata, "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", log, "start")

    def close(self) -> None:
        db.stop_embedded(self.pgdata)
        shutil.rmtree(self.root, ignore_errors=True)
