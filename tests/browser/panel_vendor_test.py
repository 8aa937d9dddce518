"""The vendor view of the admin panel in a real browser: a staff user of the
vendor's staff contract logs in, records an office's licence, uploads a
Shift_JIS filings file with a bad row (nothing imported, the row's line
shown), fixes it and imports it, and records a payment that makes the
office's Internet backup available."""

import datetime
import os
import unittest

from selenium.webdriver.common.by import By

import harness

VENDOR = "9999-0000-0001"
STAFF = "suzuki@vendor.example.jp"
STAFF_PASSWORD = "Suzuki2024vendor"
OFFICE = "1234-5678-9012"


def japan_today():
    return datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=9))).date()


def a_year_before(day):
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


class VendorStaffRecordForAnOffice(harness.RelayBrowserTest):
    def setUp(self):
        super().setUp()
        self.relay.run("vendor", "init", VENDOR)
        self.relay.add_user(VENDOR, STAFF, STAFF_PASSWORD)
        self.relay.run("contract", "add", OFFICE)

    def text(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css).text

    def upload(self, rows, name):
        """Uploads a CP932 filings file of `rows` (after the header)."""
        path = os.path.join(self.workdir, name)
        with open(path, "wb") as f:
            f.write(("契約番号,会社ID,会社名,申請日\r\n" + "".join(r + "\r\n" for r in rows)).encode("cp932"))
        self.driver.find_element(By.NAME, "file").send_keys(path)
        self.browser.submit("取り込む")

    def test_licence_filings_and_payment(self):
        b = self.browser
        today = japan_today()
        renewed = a_year_before(today - datetime.timedelta(days=30))
        filed = (today - datetime.timedelta(days=60)).isoformat()

        b.log_in(self.relay, VENDOR, STAFF, STAFF_PASSWORD)
        self.assertEqual(self.text("h1"), "契約一覧（ベンダー）")
        self.assertIn("管理対象外", self.text("main table"))
        b.shot("vendor-login")

        # The office's licence: renewed a month ago, both options, no filings.
        b.follow(OFFICE)
        self.assertEqual(self.text("h1"), "契約の詳細（ベンダー）")
        b.fill({"renews": renewed.isoformat(), "licences": "1"})
        for box in self.driver.find_elements(By.NAME, "options"):
            if not box.is_selected():
                box.click()
        b.shot("vendor-licence-form")
        b.submit("記録する")
        self.assertEqual(b.notice(), "契約 %s のライセンスを記録しました。" % OFFICE)
        self.assertIn("インターネットバックアップ: 新規の申請があと2件、または追加料金 11,000円 (税込) でご利用いただけます",
                      self.text("main"))
        b.shot("vendor-licence-recorded")

        b.follow("契約一覧")
        row = self.text("main tbody tr")
        self.assertIn(OFFICE, row)
        self.assertIn("ご利用いただけません", row)
        self.assertIn("38,500円", row)
        b.shot("vendor-contracts")

        # A file with a bad day: every bad row with its line, nothing imported.
        b.follow("申請記録の取り込み")
        self.upload(["%s,K-001,㈱髙橋建設,%s" % (OFFICE, filed), "%s,K-002,山田商店,2026/13/01" % OFFICE],
                    "filings-bad.csv")
        self.assertEqual(b.notice(), "問題のある行が 1件あるため、何も取り込んでいません。")
        self.assertIn("3", self.text("main .panel tbody tr td.num"))
        self.assertIn("2026/13/01", self.text("main .panel tbody"))
        b.shot("vendor-import-errors")
        self.assertNotIn("K-001", self.relay.run("filings", "list", OFFICE))

        self.upload(["%s,K-001,㈱髙橋建設,%s" % (OFFICE, filed), "%s,K-002,山田商店,%s" % (OFFICE, filed)],
                    "filings-fixed.csv")
        self.assertIn("2行: 新規 2件、取り込み済み 0件（1契約）。文字コード: Shift_JIS (CP932)", self.text("main .panel"))
        self.assertIn("K-002", self.relay.run("filings", "list", OFFICE))

        # Two new companies made backup free; billing is paid for.
        b.follow("契約一覧")
        b.follow(OFFICE)
        b.click(By.CSS_SELECTOR, "select[name=option] option[value=billing]")
        b.fill({"amount": "11,000", "reference": "T-0042", "note": "振込"})
        # (Both forms' buttons say 記録する: the payment form's.)
        b.click_and_wait(self.driver.find_element(By.CSS_SELECTOR, "form[action='/admin/vendor/contract/pay'] button"))
        self.assertEqual(b.notice(), "入金 11,000円を記録しました。")
        payments = self.driver.find_elements(By.CSS_SELECTOR, "main table")[-2].text
        self.assertIn("T-0042", payments)
        self.assertIn(STAFF, payments)
        lines = {row.find_element(By.TAG_NAME, "th").text: row.text
                 for row in self.driver.find_elements(By.CSS_SELECTOR, "main .panel table")[0].find_elements(
                     By.CSS_SELECTOR, "tbody tr")}
        self.assertIn("無料", lines["インターネットバックアップ"])
        self.assertIn("お支払い済み", lines["請求管理"])
        b.shot("vendor-payment-recorded")
        self.assertIn("payment.record", self.relay.run("audit", "list", OFFICE))


if __name__ == "__main__":
    unittest.main()
