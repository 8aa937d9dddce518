"""The licence page in a real browser (issue 15): an office below the
vendor's thresholds sees, as every user, which option is refused and what it
lacks (the shortfall in new filings, the fee) in Japanese and English, the
same figures its PC's `daicho sync` prints; an admin chooses the option kept
free at 40 to 49 filings; a payment recorded by the vendor restores Internet
backup at once and the PC's offline change is sent."""

import datetime
import os
import subprocess
import unittest

from selenium.webdriver.common.by import By

import harness

CONTRACT = "4567-8901-2345"
ADMIN = "yamada@example.jp"
ADMIN_PASSWORD = "Yamada2024office"
CLERK = "suzuki@example.jp"
CLERK_PASSWORD = "Suzuki2024clerk"
PASSPHRASE = "山田事務所の合言葉 2024"
REFUSED_JA = "インターネットバックアップ: 新規の申請があと2件、または追加料金 11,000円 (税込) でご利用いただけます"
REFUSED_EN = "Internet backup: available with 2 more new filings, or an extra fee of ¥11,000 (tax included)"


def japan_day(days_from_today, years_back=0):
    """A day in Japan (the relay's calendar) as YYYY-MM-DD."""
    day = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=9))).date()
    day += datetime.timedelta(days=days_from_today)
    try:
        day = day.replace(year=day.year - years_back)
    except ValueError:  # 02-29 in a common year
        day = day.replace(year=day.year - years_back, day=28)
    return day.isoformat()


class LicencePage(harness.RelayBrowserTest):
    def setUp(self):
        super().setUp()
        self.relay.run("contract", "add", CONTRACT)
        self.relay.add_user(CONTRACT, ADMIN, ADMIN_PASSWORD, admin=True)
        self.relay.add_user(CONTRACT, CLERK, CLERK_PASSWORD)

    def licence_table(self):
        return self.driver.find_element(By.CSS_SELECTOR, "main table").text

    def test_a_refused_option_is_explained_and_a_payment_restores_it(self):
        pc = harness.OfficePc(self.workdir, "pc1")
        pc.connect(self.relay, CONTRACT, CLERK, CLERK_PASSWORD, "受付のPC")
        pc.key_init(PASSPHRASE)
        pc.run("set", "customers", "c1", "trade_name=株式会社山田建設")
        pc.run("sync")

        # Renewed 30 days ago; the year before had 35 filings, none new.
        self.relay.run("contract", "licence", CONTRACT, "--renews", japan_day(-30, 1), "--options", "backup,billing")
        rows = ["契約番号,会社ID,申請日"]
        for n in range(35):
            rows.append("%s,K-%03d,%s" % (CONTRACT, n, japan_day(-100, 2)))
            rows.append("%s,K-%03d,%s" % (CONTRACT, n, japan_day(-100)))
        filings = os.path.join(self.workdir, "filings.csv")
        with open(filings, "w", encoding="cp932", newline="\r\n") as f:
            f.write("\n".join(rows) + "\n")
        self.relay.run("filings", "import", filings)

        pc.run("set", "customers", "c2", "trade_name=有限会社佐藤工務店")
        refused = subprocess.run([pc.cli, "--db", pc.db, "sync"], capture_output=True, text=True, timeout=120)
        self.assertEqual(refused.returncode, 1, refused.stdout + refused.stderr)
        self.assertIn(REFUSED_JA, refused.stderr)
        self.assertIn(REFUSED_EN, refused.stderr)

        b = self.browser
        b.log_in(self.relay, CONTRACT, CLERK, CLERK_PASSWORD)
        b.follow("ライセンス")
        table = self.licence_table()
        self.assertIn("ご利用いただけません", table)
        self.assertIn(REFUSED_JA, table)
        self.assertIn("判定対象の申請: 35件（うち新規追加 0件）", self.driver.find_element(By.TAG_NAME, "main").text)
        self.assertEqual(self.driver.find_elements(By.NAME, "option"), [], "only an admin chooses")
        b.shot("licence-refused-ja")
        b.follow("English")
        self.assertIn(REFUSED_EN, self.licence_table())
        self.assertIn("Not available", self.licence_table())
        b.shot("licence-en")

        admin = harness.Browser("panel_licence_test/admin", "ja")
        self.addCleanup(admin.quit)
        admin.log_in(self.relay, CONTRACT, ADMIN, ADMIN_PASSWORD)
        admin.follow("ライセンス")
        admin.click(By.CSS_SELECTOR, "input[name=option][value=billing]")
        admin.submit("変更する")
        self.assertIn("無料にするオプションを「請求管理」にしました。", admin.notice())
        admin.shot("free-option-choice")

        self.relay.run("contract", "pay", CONTRACT, "--option", "backup", "--amount", "11000")
        pc.run("sync")
        self.assertIn("有限会社佐藤工務店", pc.run("get", "customers", "c2"))
        b.open(self.relay, "/admin/licence")
        table = self.licence_table()
        self.assertIn("Paid", table)
        self.assertIn("an extra fee of ¥11,000 (tax included) was paid", table)
        b.shot("licence-restored")


if __name__ == "__main__":
    unittest.main()
