"""`daicho-relay mail test` against a real SMTP server (aiosmtpd) on
loopback: STARTTLS and SMTPS with AUTH deliver a proper MIME message; a
wrong password, a server without TLS, and a certificate the relay does not
trust all end with a clear error and nothing sent in clear."""

import email
import email.policy
import os
import shutil
import subprocess
import tempfile
import unittest

from smtp_server import SmtpServer

RELAY = os.environ.get("DAICHO_RELAY") or "daicho-relay"


class MailTestThroughSmtp(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="daicho-smtp-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.data = os.path.join(self.dir, "relay")
        self.password_file = os.path.join(self.dir, "smtp-password")
        with open(self.password_file, "w") as f:
            f.write("smtp-pass-123\n")

    def server(self, mode):
        server = SmtpServer(self.dir, mode)
        self.addCleanup(server.stop)
        return server

    def mail_test(self, server, *extra, password_file=None):
        args = [RELAY, "--data", self.data, "mail", "test", "--to", "taro@example.jp",
                "--mail-from", "noreply@relay.example.jp", "--smtp-url", server.url()]
        if server.mode != "plain":
            args += ["--smtp-user", "relay-mailer", "--smtp-password-file",
                     password_file or self.password_file]
        return subprocess.run(args + list(extra), capture_output=True, text=True, timeout=120)

    def assert_delivered_test_mail(self, server):
        [(sender, recipients, content)] = server.wait_for_messages(1)
        self.assertEqual(sender, "noreply@relay.example.jp")
        self.assertEqual(recipients, ["taro@example.jp"])
        message = email.message_from_bytes(content, policy=email.policy.default)
        self.assertEqual(message["Subject"], "daicho-relay メール送信テスト / mail test")
        self.assertEqual(message["From"].addresses[0].display_name, "daicho 台帳")
        self.assertEqual(message.get_content_type(), "text/plain")
        self.assertEqual(message.get_content_charset(), "utf-8")
        body = message.get_content()
        self.assertIn("パスワード再設定のメールも届きます", body)
        self.assertIn("This is a test mail from daicho-relay", body)
        self.assertEqual(server.logins, [("relay-mailer", True)])

    def test_starttls_with_login_delivers_the_mail(self):
        server = self.server("starttls")
        result = self.mail_test(server, "--smtp-ca-file", server.ca_file)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("sent a test mail to taro@example.jp (%s)" % server.url(), result.stdout)
        self.assert_delivered_test_mail(server)

    def test_smtps_with_login_delivers_the_mail(self):
        server = self.server("smtps")
        result = self.mail_test(server, "--smtp-ca-file", server.ca_file)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assert_delivered_test_mail(server)

    def test_a_wrong_smtp_password_is_reported_and_nothing_is_sent(self):
        server = self.server("starttls")
        wrong = os.path.join(self.dir, "wrong-password")
        with open(wrong, "w") as f:
            f.write("not-the-password\n")
        result = self.mail_test(server, "--smtp-ca-file", server.ca_file, password_file=wrong)
        self.assertEqual(result.returncode, 1)
        self.assertIn("the SMTP server refused the login", result.stderr)
        self.assertEqual(server.received(), [])
        self.assertEqual(server.logins, [("relay-mailer", False)])

    def test_a_server_without_tls_gets_nothing(self):
        server = self.server("plain")
        result = self.mail_test(server)
        self.assertEqual(result.returncode, 1)
        self.assertIn("the test mail was not sent", result.stderr)
        self.assertEqual(server.received(), [])

    def test_a_certificate_the_relay_does_not_trust_is_refused(self):
        server = self.server("starttls")
        result = self.mail_test(server)  # no --smtp-ca-file: the system's CAs do not know it
        self.assertEqual(result.returncode, 1)
        self.assertIn("the test mail was not sent", result.stderr)
        self.assertEqual(server.received(), [])
        self.assertEqual(server.logins, [])


if __name__ == "__main__":
    unittest.main()
