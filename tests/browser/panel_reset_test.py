""""パスワードを忘れた方" in a real browser: the whole reset flow with the
code read from the outbox, then again through a real SMTP server
(python3-aiosmtpd, STARTTLS with AUTH) started by the test. The new
password logs in; the old one, the user's other panel session and the
PC's saved login are gone; the change is mailed."""

import os
import re
import subprocess
import unittest

from selenium.webdriver.common.by import By

import harness
from smtp_server import SmtpServer

CONTRACT = "2345-6789-0123"
USER = "tanaka@example.jp"
OLD_PASSWORD = "Tanaka2024old"


def code_in(mail):
    match = re.search(r"^    ([0-9]{8})\r?$", mail.get_content(), re.M)
    if not match:
        raise AssertionError("no code in the mail:\n" + mail.get_content())
    return match.group(1)


class ResetFlow:
    """The steps, shared by the outbox and the SMTP variant."""

    def reset_in_browser(self, read_code, tag):
        b = self.browser
        self.relay.run("contract", "add", CONTRACT)
        self.relay.add_user(CONTRACT, USER, OLD_PASSWORD, admin=True)
        # A PC syncing live with the user's saved login, which the reset must end.
        pc = harness.OfficePc(self.workdir, "pc-" + tag)
        pc.connect(self.relay, CONTRACT, USER, OLD_PASSWORD, "事務所のPC")
        pc.key_init("合言葉 2024 " + tag)
        watch = pc.watch()
        self.addCleanup(lambda: watch.poll() is None and watch.kill())
        # A panel session from elsewhere, which the reset must end too.
        status, other = harness.api(self.relay, "POST", "/api/v1/login",
                                    {"contract": CONTRACT, "user": USER, "password": OLD_PASSWORD})
        self.assertEqual(status, 200, other)

        b.open(self.relay, "/admin/login")
        b.follow("パスワードを忘れた方")
        self.assertEqual(self.driver.find_element(By.TAG_NAME, "h1").text, "パスワードの再設定")
        b.shot("reset-request-" + tag)
        b.fill({"contract": CONTRACT, "user": USER})
        b.submit()
        self.assertEqual(self.driver.find_element(By.TAG_NAME, "h1").text, "メールをご確認ください")
        b.shot("reset-sent-" + tag)

        code = read_code()
        b.follow("確認番号と新しいパスワードを入力する")
        # A wrong code first: one message for every kind of failure.
        wrong = "00000000" if code != "00000000" else "11111111"
        b.fill({"contract": CONTRACT, "user": USER, "code": wrong, "password": "Tanaka2025new",
                "password2": "Tanaka2025new"})
        b.submit()
        self.assertEqual(b.notice(), "確認番号が違うか、有効期限が切れています。確認番号をもう一度請求してください。")
        b.shot("reset-wrong-code-" + tag)
        b.fill({"contract": CONTRACT, "user": USER, "code": code, "password": "Tanaka2025new",
                "password2": "Tanaka2025new"})
        b.shot("reset-confirm-" + tag)
        b.submit()
        self.assertTrue(b.notice().startswith("パスワードを再設定しました。"), b.notice())
        b.shot("reset-done-" + tag)

        # The PC's live sync ended, its saved login refused from now on.
        try:
            output, _ = watch.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.fail("`daicho sync --watch` still runs after the password was reset")
        self.assertNotEqual(watch.returncode, 0, output)
        self.assertIn("connect", output)
        # The code worked once; the old password and the other session are gone.
        status, _ = harness.api(self.relay, "GET", "/api/v1/users", token=other["token"])
        self.assertEqual(status, 401)
        status, _ = harness.api(self.relay, "POST", "/api/v1/login",
                                {"contract": CONTRACT, "user": USER, "password": OLD_PASSWORD})
        self.assertEqual(status, 401)
        status, body = harness.api(self.relay, "POST", "/api/v1/reset/confirm",
                                   {"contract": CONTRACT, "user": USER, "code": code,
                                    "password": "Another2026pw"})
        self.assertEqual(status, 401, body)

        b.log_in(self.relay, CONTRACT, USER, "Tanaka2025new")
        self.assertEqual(self.driver.find_element(By.TAG_NAME, "h1").text, "ユーザー一覧")
        b.shot("logged-in-after-reset-" + tag)


class ResetThroughTheOutbox(harness.RelayBrowserTest, ResetFlow):
    def test_reset_with_the_code_from_the_outbox(self):
        def read_code():
            [mail] = self.relay.wait_for_mails(1)
            self.assertEqual(mail["To"], USER)
            self.assertEqual(mail["Subject"], "【台帳】パスワード再設定の確認番号 / password reset code")
            self.assertIn("Your daicho password reset code", mail.get_content())
            return code_in(mail)

        self.reset_in_browser(read_code, "outbox")
        mails = self.relay.wait_for_mails(2)
        self.assertEqual(mails[1]["Subject"], "【台帳】パスワードが変更されました / your password was changed")


class ResetThroughSmtp(harness.RelayBrowserTest, ResetFlow):
    def setUp(self):
        self.smtp_dir = harness.tempfile.mkdtemp(prefix="daicho-smtp-")
        self.smtp = SmtpServer(self.smtp_dir, "starttls")
        self.addCleanup(self.smtp.stop)
        password_file = os.path.join(self.smtp_dir, "smtp-password")
        with open(password_file, "w") as f:
            f.write(self.smtp.password + "\n")
        self.relay_args = ("--smtp-url", self.smtp.url(), "--smtp-user", self.smtp.user,
                           "--smtp-password-file", password_file, "--smtp-ca-file", self.smtp.ca_file,
                           "--mail-from", "noreply@relay.example.jp")
        super().setUp()

    def test_reset_with_the_code_from_a_real_smtp_server(self):
        import email
        import email.policy

        def read_code():
            [(sender, recipients, content)] = self.smtp.wait_for_messages(1)
            self.assertEqual(sender, "noreply@relay.example.jp")
            self.assertEqual(recipients, [USER])
            return code_in(email.message_from_bytes(content, policy=email.policy.default))

        self.reset_in_browser(read_code, "smtp")
        messages = self.smtp.wait_for_messages(2)
        notice = email.message_from_bytes(messages[1][2], policy=email.policy.default)
        self.assertEqual(notice["Subject"], "【台帳】パスワードが変更されました / your password was changed")
        self.assertEqual(self.relay.mails(), [])  # nothing went to the outbox
        self.assertIn("event=mail_sent", self.relay.log())


if __name__ == "__main__":
    unittest.main()
