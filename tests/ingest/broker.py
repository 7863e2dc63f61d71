"""A Mosquitto of a test's own on a free port, which a test may stop, kill and restart.

Fault scenario 2 (broker restarted during a burst) needs a broker that can go
down without disturbing other tests, so each ``MosquittoBroker`` runs its own
``mosquitto -c <conf>`` on 127.0.0.1 and a port picked free.  ``restart()``
brings it back on the same port.  ``persistence false``: a restart loses every
session and queued message, the harshest case for the uplink.

Readiness is read from the broker's own log line (``… running``), not timed.

``MosquittoBroker(secure=True)`` listens with TLS only (a CA and server
certificate made with ``openssl`` for 127.0.0.1) and requires a user name and
password (``broker.username``/``broker.password``, in a ``mosquitto_passwd``
file); ``broker.ca_file`` is what a client must trust.
"""

from __future__ import annotations

import getpass
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MosquittoBroker:
    """``with MosquittoBroker() as broker:`` gives ``broker.port`` with a broker listening."""

    def __init__(self, port: int | None = None, start_timeout_s: float = 10.0,
                 secure: bool = False) -> None:
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self._start_timeout_s = start_timeout_s
        self._dir = Path(tempfile.mkdtemp(prefix="meterbill-mosquitto-"))
        self.config_file = self._dir / "mosquitto.conf"
        self.ca_file: Path | None = None
        self.username = "gateway"
        self.password = "test-only-" + self._dir.name[-8:]
        access = "allow_anonymous true\n"
        if secure:
            self.ca_file, cert, key = _make_certificates(self._dir, self.host)
            passwd = self._dir / "passwd"
            subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwd), self.username,
                            self.password], check=True, capture_output=True)
            access = (f"cafile {self.ca_file}\ncertfile {cert}\nkeyfile {key}\n"
                      f"allow_anonymous false\npassword_file {passwd}\n")
        self.config_file.write_text(
            f"listener {self.port} {self.host}\n"
            # started as root, mosquitto drops to user "mosquitto", which cannot
            # read this test's private folder; stay the user who runs the tests
            f"user {getpass.getuser()}\n"
            + access +
            "persistence false\n"
            "log_dest stderr\n"
            "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n")
        self._process: subprocess.Popen[str] | None = None
        self.log: list[str] = []

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        if self.running:
            return
        process = subprocess.Popen(["mosquitto", "-c", str(self.config_file)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        started = threading.Event()
        running = threading.Event()

        def read_log() -> None:
            assert process.stderr is not None
            for line in process.stderr:
                self.log.append(line.rstrip())
                if " running" in line:
                    running.set()
                    started.set()
            started.set()  # the broker exited: stop waiting, the check below says why

        threading.Thread(target=read_log, daemon=True).start()
        if not started.wait(self._start_timeout_s) or not running.is_set():
            process.kill()
            process.wait()
            raise RuntimeError(f"mosquitto on port {self.port} did not start: "
                               + " | ".join(self.log[-5:]))
        self._process = process

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(sig)
        self._process.wait(timeout=10)
        self._process = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> MosquittoBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _make_certificates(folder: Path, host: str) -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate for ``host`` (an IP address), via openssl."""
    ca_key, ca, key, csr, cert = (folder / n for n in
                                  ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem"))
    ext = folder / "san.cnf"
    ext.write_text(f"subjectAltName=IP:{host}\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for command in (
        ["openssl", "req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2",
         "-subj", "/CN=meterbill test CA"],
        ["openssl", "req", *ec, "-keyout", key, "-out", csr, "-subj", f"/CN={host}"],
        ["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
         "-out", cert, "-days", "2", "-extfile", ext],
    ):
        subprocess.run([str(part) for part in command], check=True, capture_output=True)
    return ca, cert, key
