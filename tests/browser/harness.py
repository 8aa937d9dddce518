"""Shared pieces of the browser tests: a real daicho-relay on loopback and a
headless Debian chromium driven by selenium.

Run by ctest with Debian's /usr/bin/python3 (the python3-selenium and
python3-aiosmtpd packages install there, not into other Pythons on PATH).
Environment, set by tests/browser/CMakeLists.txt:
  DAICHO_RELAY      the daicho-relay binary under test
  DAICHO_ARTIFACTS  where screenshots go (under the build directory)
"""

import email
import email.policy
import glob
import http.client
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

import polling

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError as error:  # a missing package is a failure, never a skip
    raise SystemExit(
        "python3-selenium is missing (%s): run scripts/install_deps.sh as root" % error)

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
STARTUP_DEADLINE_S = 30


def xpath_literal(text):
    """`text` as an XPath string literal."""
    if "'" not in text:
        return "'%s'" % text
    return 'concat(%s)' % ", \"'\", ".join("'%s'" % part for part in text.split("'"))


def require_env(name):
    value = os.environ.get(name)
    if not value:
        raise SystemExit("%s is not set: run this test through ctest" % name)
    return value


class Relay:
    """`daicho-relay serve` on 127.0.0.1 with a port the kernel picks; its
    log lines are kept (a thread drains them so the relay never blocks)."""

    def __init__(self, data_dir, extra_args=()):
        self.binary = require_env("DAICHO_RELAY")
        self.data_dir = data_dir
        self.outbox = os.path.join(data_dir, "outbox")
        self.lines = []
        self._lock = threading.Lock()
        self.run("init")
        self.process = subprocess.Popen(
            [self.binary, "--data", data_dir, "serve", "--listen", "127.0.0.1:0", *extra_args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.port = self._wait_for_port()
        threading.Thread(target=self._drain, daemon=True).start()

    def _wait_for_port(self):
        deadline = time.monotonic() + STARTUP_DEADLINE_S
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            match = re.search(r"event=relay_started listen=127\.0\.0\.1:(\d+)", line)
            if match:
                return int(match.group(1))
        self.process.kill()
        raise AssertionError("the relay did not start:\n" + "".join(self.lines))

    def _drain(self):
        for line in self.process.stdout:
            with self._lock:
                self.lines.append(line)

    def log(self):
        with self._lock:
            return "".join(self.lines)

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def run(self, *args):
        """An administration subcommand on the same store (the operator's CLI)."""
        result = subprocess.run([self.binary, "--data", self.data_dir, *args],
                                capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise AssertionError("daicho-relay %s failed (%d): %s%s" % (
                " ".join(args), result.returncode, result.stdout, result.stderr))
        return result.stdout

    def add_user(self, contract, user, password, admin=False):
        """A user added by the vendor's operator (the CLI), made admin if asked."""
        password_file = os.path.join(self.data_dir, "..", "password-%s" % user.replace("/", "_"))
        with open(password_file, "w") as f:
            f.write(password + "\n")
        self.run("user", "add", contract, user, "--password-file", password_file)
        if admin:
            self.run("user", "admin", contract, user)

    def mails(self):
        """The outbox's messages, oldest first, parsed."""
        messages = []
        for path in sorted(glob.glob(os.path.join(self.outbox, "*.eml"))):
            with open(path, "rb") as f:
                messages.append(email.message_from_bytes(f.read(), policy=email.policy.default))
        return messages

    def wait_for_mails(self, count):
        return polling.wait_for_count(self.mails, count, "mail(s) in the outbox")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class OfficePc:
    """An office PC's replica, driven by the `daicho` CLI (DAICHO_CLI)."""

    def __init__(self, workdir, name):
        self.cli = require_env("DAICHO_CLI")
        self.workdir = workdir
        self.db = os.path.join(workdir, name)

    def run(self, *args):
        """A command that must succeed; its stdout."""
        result = subprocess.run([self.cli, "--db", self.db, *args], capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise AssertionError("daicho %s failed (%d): %s%s" % (
                " ".join(args), result.returncode, result.stdout, result.stderr))
        return result.stdout

    def connect(self, relay, contract, user, password, device_name, passphrase=None):
        """A new replica connected to `relay` with a saved login; its replica id.
        With `passphrase`, the office key is unlocked too."""
        replica = re.search(r"[0-9a-f]{32}", self.run("init")).group(0)
        extra = []
        if passphrase is not None:
            extra = ["--passphrase-file", self.secret_file("passphrase", passphrase)]
        self.run("connect", "ws://127.0.0.1:%d/sync" % relay.port, "--contract", contract, "--user", user,
                 "--password-file", self.secret_file("password", password), "--save-password",
                 "--device-name", device_name, *extra)
        return replica

    def key_init(self, passphrase):
        self.run("key", "init", "--passphrase-file", self.secret_file("passphrase", passphrase))

    def watch(self):
        """`daicho sync --watch` running in the background (output kept)."""
        return subprocess.Popen([self.cli, "--db", self.db, "sync", "--watch"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def secret_file(self, what, text):
        path = self.db + "-" + what
        with open(path, "w") as f:
            f.write(text + "\n")
        return path


def api(relay, method, path, body=None, token=None, headers=None):
    """One JSON API call: (status, parsed body)."""
    connection = http.client.HTTPConnection("127.0.0.1", relay.port, timeout=30)
    all_headers = {"Content-Type": "application/json"}
    if token:
        all_headers["Authorization"] = "Bearer " + token
    all_headers.update(headers or {})
    connection.request(method, path, json.dumps(body) if body is not None else None, all_headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, json.loads(data) if data else None


class Browser:
    """Headless chromium at the laptop size the panel is made for (1366x768),
    saving numbered screenshots into DAICHO_ARTIFACTS/<test name>/."""

    def __init__(self, name, language="ja", javascript=True):
        for program in (CHROMIUM, CHROMEDRIVER):
            if not os.access(program, os.X_OK):
                raise AssertionError(
                    "%s is missing: run scripts/install_deps.sh as root" % program)
        self.profile = tempfile.mkdtemp(prefix="daicho-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        # Root in a container: no sandbox, and no reliance on a large /dev/shm
        # (containers often give it 64 MB); nothing may reach past loopback.
        for flag in ("--headless", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--disable-quic",
                     "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync",
                     "--user-data-dir=" + self.profile, "--window-size=1366,768",
                     "--lang=" + language):
            options.add_argument(flag)
        prefs = {"intl.accept_languages": language}
        if not javascript:
            prefs["profile.managed_default_content_settings.javascript"] = 2
        options.add_experimental_option("prefs", prefs)
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.artifacts = os.path.join(require_env("DAICHO_ARTIFACTS"), name)
        shutil.rmtree(self.artifacts, ignore_errors=True)
        os.makedirs(self.artifacts)
        self.shots = 0

    def open(self, relay, path):
        self.driver.get(relay.url(path))
        self.wait_until_loaded()

    def fill(self, values):
        """Types into the form fields named by `values` (cleared first)."""
        for name, value in values.items():
            def type_value(name=name, value=value):
                field = self.driver.find_element(By.NAME, name)
                field.clear()
                field.send_keys(value)
            self.once_more_if_reattached(type_value)

    def click(self, by, selector):
        """Clicks the element (a checkbox, an option) without leaving the page."""
        self.once_more_if_reattached(lambda: self.driver.find_element(by, selector).click())

    def submit(self, button_text=None, validate=True):
        """Submits the page's main form (the one whose button says
        `button_text`, else the first in <main>). validate=False skips the
        browser's own checks, to see what the server answers."""
        def press():
            if button_text is None:
                button = self.driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]")
            else:
                button = self.driver.find_element(
                    By.XPATH, "//button[normalize-space()=%s]" % xpath_literal(button_text))
            if not validate:
                self.driver.execute_script("arguments[0].form.noValidate = true", button)
            self.click_and_wait(button)
        self.once_more_if_reattached(press)

    def once_more_if_reattached(self, action):
        """Runs action(). Chromedriver sometimes resolves a node of a
        just-loaded page against a document it has since re-attached (a stale
        element, or "does not belong to the document"), more often on a
        loaded machine; the action then never reached the page, so it runs
        once more on the loaded page."""
        try:
            return action()
        except (StaleElementReferenceException, WebDriverException) as error:
            if (not isinstance(error, StaleElementReferenceException) and
                    "does not belong to the document" not in str(error)):
                raise
            self.wait_until_loaded()
            return action()

    def click_and_wait(self, element):
        """Clicks and waits until the next page replaced this one and has
        finished loading (chromedriver may otherwise hand out nodes of a
        document that is still being replaced)."""
        page = self.driver.find_element(By.TAG_NAME, "html")
        element.click()

        def replaced(driver):
            # Chromedriver says a replaced page's node is stale, or, now and
            # then, that it "does not belong to the document": replaced too
            # (selenium's staleness_of takes only the first).
            try:
                page.is_enabled()
                return False
            except StaleElementReferenceException:
                return True
            except WebDriverException as error:
                if "does not belong to the document" in str(error):
                    return True
                raise
        WebDriverWait(self.driver, STARTUP_DEADLINE_S).until(replaced)
        self.wait_until_loaded()

    def wait_until_loaded(self):
        WebDriverWait(self.driver, STARTUP_DEADLINE_S).until(
            lambda driver: driver.execute_script("return document.readyState") == "complete")

    def follow(self, link_text):
        self.once_more_if_reattached(
            lambda: self.click_and_wait(self.driver.find_element(By.LINK_TEXT, link_text)))

    def notice(self):
        """The page's notice text ("" when none)."""
        found = self.driver.find_elements(By.CSS_SELECTOR, ".notice")
        return found[0].text if found else ""

    def log_in(self, relay, contract, user, password):
        self.open(relay, "/admin/login")
        self.fill({"contract": contract, "user": user, "password": password})
        self.submit()

    def shot(self, what):
        """Saves the page as NN-what.png and returns its path."""
        self.shots += 1
        path = os.path.join(self.artifacts, "%02d-%s.png" % (self.shots, what))
        if not self.driver.save_screenshot(path):
            raise AssertionError("chromium could not save " + path)
        return path

    def quit(self):
        self.driver.quit()
        shutil.rmtree(self.profile, ignore_errors=True)


class RelayBrowserTest(unittest.TestCase):
    """A fresh relay store, a relay serving it and a browser, per test."""

    language = "ja"
    javascript = True
    relay_args = ()

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="daicho-browser-")
        self.relay = Relay(os.path.join(self.workdir, "relay"), self.relay_args)
        self.addCleanup(self.relay.stop)
        # Screenshots under <test file>/<test>/.
        module, *_, test = self.id().split(".")
        self.browser = Browser(module + "/" + test, self.language, self.javascript)
        self.addCleanup(self.browser.quit)
        self.addCleanup(shutil.rmtree, self.workdir, True)
        self.driver = self.browser.driver
