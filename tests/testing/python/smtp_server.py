"""A real SMTP server for tests (Debian's python3-aiosmtpd) on 127.0.0.1 with
a port the kernel picks, in one of three modes:
  "starttls"  plain port, STARTTLS required before anything else, AUTH after it
  "smtps"     TLS from the first byte, AUTH
  "plain"     no TLS offered at all (a relay must refuse to send through it)
Its certificate is for 127.0.0.1 and localhost; `ca_file` is what a client
trusts to verify it. Received messages and logins are kept in order.
"""

import asyncio
import os
import ssl
import subprocess
import threading
import warnings

import polling

try:
    from aiosmtpd.smtp import SMTP, AuthResult
except ImportError as error:  # a missing package is a failure, never a skip
    raise SystemExit(
        "python3-aiosmtpd is missing (%s): run scripts/install_deps.sh as root" % error)


def make_certificate(directory):
    """A self-signed certificate for 127.0.0.1/localhost: (cert, key) paths."""
    cert = os.path.join(directory, "smtp-cert.pem")
    key = os.path.join(directory, "smtp-key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
         "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True)
    return cert, key


class SmtpServer:
    def __init__(self, directory, mode="starttls", user="relay-mailer", password="smtp-pass-123"):
        if mode not in ("starttls", "smtps", "plain"):
            raise ValueError(mode)
        self.mode = mode
        self.user = user
        self.password = password
        self.messages = []  # (envelope sender, [recipients], message bytes)
        self.logins = []    # (user, succeeded)
        self._lock = threading.Lock()
        self.ca_file, key = make_certificate(directory)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.ca_file, key)

        # aiosmtpd counts only STARTTLS as TLS: on smtps it would refuse AUTH
        # unless told not to require TLS, and then warns about it.
        warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")

        def factory():
            if mode == "plain":
                return SMTP(_Handler(self), hostname="localhost")
            return SMTP(_Handler(self), hostname="localhost",
                        tls_context=context if mode == "starttls" else None,
                        require_starttls=mode == "starttls",
                        authenticator=self._authenticate, auth_required=True,
                        auth_require_tls=mode == "starttls")

        self._loop = asyncio.new_event_loop()
        started = threading.Event()

        def run():
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(self._loop.create_server(
                factory, "127.0.0.1", 0, ssl=context if mode == "smtps" else None))
            started.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise AssertionError("the SMTP server did not start")
        self.port = self._server.sockets[0].getsockname()[1]

    def url(self):
        scheme = "smtps" if self.mode == "smtps" else "smtp"
        return "%s://127.0.0.1:%d" % (scheme, self.port)

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login.decode() == self.user and auth_data.password.decode() == self.password)
        with self._lock:
            self.logins.append((auth_data.login.decode(), ok))
        # handled=False: aiosmtpd then answers 535 itself.
        return AuthResult(success=ok, handled=False)

    def _received(self, envelope):
        with self._lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))

    def received(self):
        with self._lock:
            return list(self.messages)

    def wait_for_messages(self, count):
        """The messages once `count` arrived."""
        return polling.wait_for_count(self.received, count, "message(s) at the SMTP server")

    def stop(self):
        def close():
            self._server.close()
            self._loop.stop()
        self._loop.call_soon_threadsafe(close)
        self._thread.join(10)
        self._loop.close()


class _Handler:
    def __init__(self, server):
        self._server = server

    async def handle_DATA(self, server, session, envelope):
        self._server._received(envelope)
        return "250 Message accepted for delivery"
