"""Mail servers on 127.0.0.1 for the tests and the benchmarks: a healthy sink, and one that hangs.

Not used by the application. HungMailServer accepts connections and never says
a word, like the mail server that made a hand-over answer 500 after 30 s.
"""

import socket
import threading
from contextlib import contextmanager

from aiosmtpd.controller import Controller


class _Sink:
    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        with self.lock:
            self.messages.append((envelope.rcpt_tos, envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def smtp_sink():
    """A healthy SMTP server on 127.0.0.1; yields (port, the list of (recipients, content) it received)."""
    handler = _Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller.port, handler.messages
    finally:
        controller.stop()


class HungMailServer:
    """Accepts every connection on 127.0.0.1 and never answers; counts the connections."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.accepted = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(conn)  # held open, silent

    def close(self):
        self.listener.close()
        for conn in self.accepted:
            conn.close()


@contextmanager
def hung_mail_server():
    server = HungMailServer()
    try:
        yield server
    finally:
        server.close()
