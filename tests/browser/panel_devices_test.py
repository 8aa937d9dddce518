"""Devices in a real browser: the office PCs that saved their login, with
their short id, last sync, address and records not backed up as last
reported; revoking one stops its running `daicho sync --watch` at once.
Names and ids holding markup are shown as text."""

import subprocess
import time
import unittest

from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By

import harness

CONTRACT = "3456-7890-1234"
ADMIN = "yamada@example.jp"
ADMIN_PASSWORD = "Yamada2024office"
CLERK = "suzuki@example.jp"
CLERK_PASSWORD = "Suzuki2024clerk"
XSS = "<script>alert(1)</script>"
PASSPHRASE = "山田事務所の合言葉 2024"


class OfficePcs(harness.RelayBrowserTest):
    def setUp(self):
        super().setUp()
        self.relay.run("contract", "add", CONTRACT)
        self.relay.add_user(CONTRACT, ADMIN, ADMIN_PASSWORD, admin=True)
        self.relay.add_user(CONTRACT, CLERK, CLERK_PASSWORD)

    def connect(self, name, device_name, passphrase=None):
        pc = harness.OfficePc(self.workdir, name)
        return pc, pc.connect(self.relay, CONTRACT, CLERK, CLERK_PASSWORD, device_name, passphrase)

    def devices(self, token):
        status, body = harness.api(self.relay, "GET", "/api/v1/devices", token=token)
        self.assertEqual(status, 200, body)
        return body["devices"]

    def test_revoking_a_device_stops_its_watch(self):
        reception, replica = self.connect("pc1", "受付のPC")
        reception.key_init(PASSPHRASE)
        for n in range(3):
            reception.run("set", "customers", "c%03d" % n, "name=株式会社山田建設 %d" % n)
        self.connect("pc2", XSS, PASSPHRASE)

        status, login = harness.api(self.relay, "POST", "/api/v1/login",
                                    {"contract": CONTRACT, "user": ADMIN, "password": ADMIN_PASSWORD})
        self.assertEqual(status, 200, login)
        # The sync reports the 3 records the relay lacked as it began.
        reception.run("sync")
        [pc1] = [d for d in self.devices(login["token"]) if d["name"] == "受付のPC"]
        self.assertEqual(pc1["unsynced_records"], 3)
        self.assertEqual(pc1["replica"], replica)

        watch = reception.watch()
        self.addCleanup(lambda: watch.poll() is None and watch.kill())
        # Connected once the relay records its report: nothing left to back up.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            [pc1] = [d for d in self.devices(login["token"]) if d["name"] == "受付のPC"]
            if pc1["unsynced_records"] == 0:
                break
            time.sleep(0.1)
        self.assertEqual(pc1["unsynced_records"], 0)
        self.assertIsNone(watch.poll())

        b = self.browser
        b.log_in(self.relay, CONTRACT, ADMIN, ADMIN_PASSWORD)
        b.follow("端末")
        table = self.driver.find_element(By.TAG_NAME, "table").text
        self.assertIn("受付のPC", table)
        self.assertIn(replica[:8], table)
        self.assertIn("127.0.0.1", table)
        self.assertIn("0 件", table)
        # The PC named with markup is a name, not a script.
        self.assertIn(XSS, table)
        with self.assertRaises(NoAlertPresentException):
            self.driver.switch_to.alert.text
        b.shot("devices")

        row = self.driver.find_element(By.XPATH, "//tr[td[normalize-space()='受付のPC']]")
        b.click_and_wait(row.find_element(By.TAG_NAME, "button"))
        self.assertEqual(b.notice(), "受付のPC のログインを取り消しました。同期中だった場合も止まりました。")
        b.shot("device-revoked")
        try:
            output, _ = watch.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.fail("`daicho sync --watch` still runs after its login was revoked")
        self.assertNotEqual(watch.returncode, 0)
        self.assertIn("connect", output)  # says to connect again
        self.assertNotIn("受付のPC", self.driver.find_element(By.TAG_NAME, "table").text)

    def test_an_id_holding_markup_is_shown_as_text(self):
        self.relay.add_user(CONTRACT, XSS, "Markup2024pw")
        b = self.browser
        b.log_in(self.relay, CONTRACT, ADMIN, ADMIN_PASSWORD)
        self.assertIn(XSS, self.driver.find_element(By.TAG_NAME, "table").text)
        with self.assertRaises(NoAlertPresentException):
            self.driver.switch_to.alert.text
        self.assertNotIn("<script>alert", self.driver.page_source.split("<main>")[1])
        b.shot("users-markup-id")
        b.follow(XSS)
        self.assertIn(XSS, self.driver.find_element(By.TAG_NAME, "table").text)
        b.shot("edit-markup-id")


if __name__ == "__main__":
    unittest.main()
