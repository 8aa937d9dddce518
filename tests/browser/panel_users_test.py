"""The office's admin panel in a real browser: an administrator logs in,
manages users (with the browser's and the server's messages for a too-short
id and password), looks at the key and the audit log, switches to English,
changes their own password and logs out."""

import unittest

from selenium.webdriver.common.by import By

import harness

CONTRACT = "1234-5678-9012"
ADMIN = "yamada@example.jp"
ADMIN_PASSWORD = "Yamada2024office"


class AdministratorManagesUsers(harness.RelayBrowserTest):
    def setUp(self):
        super().setUp()
        self.relay.run("contract", "add", CONTRACT)
        self.relay.add_user(CONTRACT, ADMIN, ADMIN_PASSWORD, admin=True)

    def field(self, name):
        return self.driver.find_element(By.NAME, name)

    def test_log_in_add_change_and_remove_users(self):
        b = self.browser
        b.open(self.relay, "/admin/")
        self.assertEqual(self.driver.find_element(By.TAG_NAME, "h1").text, "管理画面へのログイン")
        self.assertEqual(self.driver.find_element(By.TAG_NAME, "html").get_attribute("lang"), "ja")
        b.shot("login-ja")

        # A wrong password: the one message that says nothing of which part was wrong.
        b.log_in(self.relay, CONTRACT, ADMIN, "Wrong12345")
        self.assertEqual(b.notice(), "契約番号、ユーザーID、パスワードのいずれかが違います。")
        b.shot("login-failed")

        # Full-width digits, as a Japanese IME types them, are a contract number too.
        b.log_in(self.relay, "１２３４－５６７８－９０１２", ADMIN, ADMIN_PASSWORD)
        self.assertEqual(self.driver.find_element(By.TAG_NAME, "h1").text, "ユーザー一覧")
        self.assertIn(ADMIN, self.driver.find_element(By.TAG_NAME, "table").text)
        b.shot("users")

        # Adding a user: the browser's checks say the server's sentences ...
        b.follow("ユーザーの追加")
        b.fill({"user": "ab", "password": "abc1234", "password2": "abc1234"})
        self.assertEqual(self.field("user").get_attribute("validationMessage"),
                         "ユーザーIDは 3 文字以上で入力してください。")
        self.assertEqual(self.field("password").get_attribute("validationMessage"),
                         "パスワードは 8 文字以上で入力してください。")
        b.shot("add-user-browser-check")
        # ... and the server, asked anyway, answers the same.
        b.submit(validate=False)
        self.assertEqual(b.notice(), "ユーザーIDは 3 文字以上で入力してください。")
        self.assertEqual(self.field("user").get_attribute("value"), "ab")
        b.shot("add-user-short-id")
        b.fill({"user": "sato@example.jp", "password": "abc1234", "password2": "abc1234"})
        b.submit(validate=False)
        self.assertEqual(b.notice(), "パスワードは 8 文字以上で入力してください。")
        b.shot("add-user-short-password")

        b.fill({"user": "sato@example.jp", "password": "Sato2024pass", "password2": "Sato2024pass"})
        b.submit()
        self.assertEqual(b.notice(), "sato@example.jp を追加しました。")
        self.assertIn("sato@example.jp", self.driver.find_element(By.TAG_NAME, "table").text)
        b.shot("user-added")

        # Edit: a new password, disable and enable, admin and back.
        b.follow("sato@example.jp")
        self.assertEqual(self.driver.find_element(By.TAG_NAME, "h1").text, "ユーザーの編集")
        b.shot("edit-user")
        b.fill({"password": "NewSato2025", "password2": "NewSato2025"})
        b.submit("パスワードを変更する")
        self.assertIn("sato@example.jp のパスワードを変更しました。", b.notice())
        self.relay_login_works("sato@example.jp", "NewSato2025")
        b.submit("無効にする")
        self.assertEqual(b.notice(), "sato@example.jp を無効にしました。同期中のPCも止まります。")
        b.submit("有効にする")
        self.assertEqual(b.notice(), "sato@example.jp を有効にしました。")
        b.submit("管理者にする")
        self.assertEqual(b.notice(), "sato@example.jp を管理者にしました。")
        b.submit("管理者から外す")
        self.assertEqual(b.notice(), "sato@example.jp を管理者から外しました。")
        b.shot("edit-user-done")

        # The last administrator cannot demote themselves.
        b.open(self.relay, "/admin/user?id=" + ADMIN)
        b.submit("管理者から外す")
        self.assertEqual(
            b.notice(),
            "管理者がいなくなるため、この操作はできません。先に別のユーザーを管理者にしてください。")
        b.shot("last-admin")

        # Remove, confirmed.
        b.open(self.relay, "/admin/user?id=sato@example.jp")
        b.click(By.NAME, "confirm")
        b.submit("このユーザーを削除する")
        self.assertEqual(b.notice(), "sato@example.jp を削除しました。")
        self.assertNotIn("sato@example.jp", self.driver.find_element(By.TAG_NAME, "table").text)

        # The office key's status, the audit log.
        b.follow("事務所キー")
        self.assertIn("事務所キーはまだ設定されていません", self.driver.find_element(By.TAG_NAME, "main").text)
        b.shot("key")
        b.follow("操作履歴")
        audit = self.driver.find_element(By.TAG_NAME, "table").text
        for action in ("ユーザー追加", "パスワード変更（管理者）", "ユーザーを無効化", "管理者に設定",
                       "ユーザー削除", "ログイン失敗", "ログイン", "サービス運営者"):
            self.assertIn(action, audit)
        b.shot("audit")

        # English by the switch, remembered.
        b.follow("English")
        self.assertEqual(self.driver.find_element(By.TAG_NAME, "h1").text, "Audit log")
        b.follow("Users")
        self.assertEqual(self.driver.find_element(By.TAG_NAME, "html").get_attribute("lang"), "en")
        b.shot("users-en")
        b.follow("日本語")

        # My own password, then log out.
        b.follow("パスワード変更")
        b.fill({"current": ADMIN_PASSWORD, "password": "Yamada2025new", "password2": "Yamada2025new"})
        b.submit()
        self.assertTrue(b.notice().startswith("パスワードを変更しました。"), b.notice())
        b.shot("my-password")
        mail = self.relay.wait_for_mails(1)[-1]
        self.assertEqual(mail["To"], ADMIN)
        self.assertIn("パスワードが変更されました", mail["Subject"])
        b.submit("ログアウト")
        self.assertEqual(b.notice(), "ログアウトしました。")
        b.open(self.relay, "/admin/users")
        self.assertEqual(self.driver.find_element(By.TAG_NAME, "h1").text, "管理画面へのログイン")
        b.log_in(self.relay, CONTRACT, ADMIN, "Yamada2025new")
        self.assertEqual(self.driver.find_element(By.TAG_NAME, "h1").text, "ユーザー一覧")

    def relay_login_works(self, user, password):
        """The user's new password logs in through the API (a second session)."""
        status, body = harness.api(self.relay, "POST", "/api/v1/login",
                                   {"contract": CONTRACT, "user": user, "password": password})
        self.assertEqual(status, 200, body)


class WithoutJavaScript(harness.RelayBrowserTest):
    javascript = False

    def test_every_form_works_without_javascript(self):
        self.relay.run("contract", "add", CONTRACT)
        self.relay.add_user(CONTRACT, ADMIN, ADMIN_PASSWORD, admin=True)
        b = self.browser
        b.log_in(self.relay, CONTRACT, ADMIN, ADMIN_PASSWORD)
        b.follow("ユーザーの追加")
        # The browser's own check still stops a short id, in its own words (no
        # script put the server's sentence there), and the server says it too.
        b.fill({"user": "ab", "password": "abc1234", "password2": "abc1234"})
        own_words = self.driver.find_element(By.NAME, "user").get_attribute("validationMessage")
        self.assertNotEqual(own_words, "")
        self.assertNotEqual(own_words, "ユーザーIDは 3 文字以上で入力してください。")
        b.submit(validate=False)
        self.assertEqual(b.notice(), "ユーザーIDは 3 文字以上で入力してください。")
        b.fill({"user": "kato@example.jp", "password": "Kato2024pass", "password2": "Kato2024pass"})
        b.submit()
        self.assertEqual(b.notice(), "kato@example.jp を追加しました。")
        b.follow("kato@example.jp")
        b.submit("無効にする")
        self.assertEqual(b.notice(), "kato@example.jp を無効にしました。同期中のPCも止まります。")
        b.shot("no-javascript")
        b.submit("ログアウト")
        self.assertEqual(b.notice(), "ログアウトしました。")


class EnglishBrowser(harness.RelayBrowserTest):
    language = "en"

    def test_an_english_browser_gets_english_pages(self):
        self.browser.open(self.relay, "/admin/login")
        self.assertEqual(self.driver.find_element(By.TAG_NAME, "h1").text, "Log in to the admin panel")
        self.assertEqual(self.driver.find_element(By.LINK_TEXT, "Forgot your password?").get_attribute("href"),
                         self.relay.url("/admin/reset"))
        self.browser.shot("login-en")


if __name__ == "__main__":
    unittest.main()
