"""The browser harness itself: chromium as root, headless, reaches a real
relay on loopback and saves a screenshot where the artifacts go."""

import os
import unittest

from selenium.webdriver.common.by import By

import harness


class BrowserReachesTheRelay(harness.RelayBrowserTest):
    def test_health_check_page_shows_ok_and_is_saved(self):
        self.driver.get(self.relay.url("/healthz"))
        self.assertEqual(self.driver.find_element(By.TAG_NAME, "body").text, "ok")
        path = self.browser.shot("healthz")
        with open(path, "rb") as png:
            self.assertEqual(png.read(8), b"\x89PNG\r\n\x1a\n")
        self.assertGreater(os.path.getsize(path), 1000)


if __name__ == "__main__":
    unittest.main()
