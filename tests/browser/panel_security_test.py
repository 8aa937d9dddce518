"""The admin panel against a hostile browser or script, over plain HTTP
from loopback addresses (no chromium needed): CSRF and Origin refusals,
isolation between contracts, security headers and cookie flags, reset
requests that say nothing about whether an account exists (same bytes,
same time), and login throttling that still lets the owner reset."""

import http.client
import re
import ssl
import statistics
import time
import unittest
import urllib.parse

import harness
from smtp_server import make_certificate

A = "4567-8901-2345"
B = "5678-9012-3456"
ADMIN_A = "admin@office-a.jp"
ADMIN_B = "admin@office-b.jp"
USER_B = "clerk@office-b.jp"
PASSWORD = "Office2024pass"


class Client:
    """A browser-like HTTP client from one loopback address, keeping cookies."""

    def __init__(self, relay, source="127.0.0.1"):
        self.relay = relay
        self.source = source
        self.cookies = {}

    def request(self, method, path, body=None, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.relay.port, timeout=30,
                                                source_address=(self.source, 0))
        all_headers = dict(headers or {})
        if self.cookies:
            all_headers["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        start = time.monotonic()
        connection.request(method, path, body, all_headers)
        response = connection.getresponse()
        data = response.read()
        elapsed = time.monotonic() - start
        connection.close()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                cookie_name, cookie_value = value.split(";")[0].split("=", 1)
                if "Max-Age=0" in value:
                    self.cookies.pop(cookie_name, None)
                else:
                    self.cookies[cookie_name] = cookie_value
        return response.status, response.getheaders(), data.decode(), elapsed

    def csrf(self, page="/admin/login"):
        status, _, body, _ = self.request("GET", page)
        match = re.search(r'name="csrf" value="([0-9a-f]+)"', body)
        if not match:
            raise AssertionError("no form token on %s (%d)" % (page, status))
        return match.group(1)

    def post_form(self, path, fields, origin="same"):
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if origin == "same":
            headers["Origin"] = "http://127.0.0.1:%d" % self.relay.port
        elif origin:
            headers["Origin"] = origin
        return self.request("POST", path, urllib.parse.urlencode(fields), headers)

    def log_in(self, contract, user, password):
        status, _, body, _ = self.post_form("/admin/login", {
            "csrf": self.csrf(), "contract": contract, "user": user, "password": password})
        if status != 303:
            raise AssertionError("login failed (%d): %s" % (status, body[:300]))


def header(headers, name):
    return [v for k, v in headers if k.lower() == name.lower()]


class PanelSecurity(unittest.TestCase):
    def setUp(self):
        self.workdir = harness.tempfile.mkdtemp(prefix="daicho-security-")
        self.addCleanup(harness.shutil.rmtree, self.workdir, True)
        self.relay = harness.Relay(harness.os.path.join(self.workdir, "relay"))
        self.addCleanup(self.relay.stop)
        for contract, admin in ((A, ADMIN_A), (B, ADMIN_B)):
            self.relay.run("contract", "add", contract)
            self.relay.add_user(contract, admin, PASSWORD, admin=True)
        self.relay.add_user(B, USER_B, PASSWORD)

    def b_state(self):
        return self.relay.run("user", "list", B), self.relay.run("audit", "list", B)

    def test_a_form_without_the_token_or_from_another_site_changes_nothing(self):
        client = Client(self.relay)
        client.log_in(A, ADMIN_A, PASSWORD)
        token = client.csrf("/admin/users/new")
        fields = {"user": "new@office-a.jp", "password": "Newuser2024", "password2": "Newuser2024"}
        for attempt, origin in ((dict(fields), "same"),
                                (dict(fields, csrf="0" * 64), "same"),
                                (dict(fields, csrf=token), "http://evil.example"),
                                (dict(fields, csrf=token), "null")):
            status, _, body, _ = client.post_form("/admin/users/new", attempt, origin)
            self.assertEqual(status, 403, (origin, body[:200]))
            self.assertIn("画面の有効期限が切れました", body)
        self.assertNotIn("new@office-a.jp", self.relay.run("user", "list", A))
        status, _, _, _ = client.post_form("/admin/users/new", dict(fields, csrf=token))
        self.assertEqual(status, 303)
        self.assertIn("new@office-a.jp", self.relay.run("user", "list", A))

    def test_another_contracts_ids_are_not_found_and_nothing_changes(self):
        status, login = harness.api(self.relay, "POST", "/api/v1/login",
                                    {"contract": A, "user": ADMIN_A, "password": PASSWORD})
        self.assertEqual(status, 200, login)
        token = login["token"]
        before = self.b_state()
        for path, body in (("/api/v1/users/password", {"user": USER_B, "password": "Hijack2024pw"}),
                           ("/api/v1/users/disable", {"user": USER_B}),
                           ("/api/v1/users/enable", {"user": USER_B}),
                           ("/api/v1/users/admin", {"user": USER_B}),
                           ("/api/v1/users/unadmin", {"user": ADMIN_B}),
                           ("/api/v1/users/remove", {"user": USER_B}),
                           ("/api/v1/devices/revoke", {"user": USER_B, "device": "00000000"})):
            status, answer = harness.api(self.relay, "POST", path, body, token=token)
            self.assertEqual((status, answer["error"]), (404, "not_found"), path)
        client = Client(self.relay)
        client.log_in(A, ADMIN_A, PASSWORD)
        status, _, _, _ = client.request("GET", "/admin/user?id=" + urllib.parse.quote(USER_B))
        self.assertEqual(status, 404)
        for action in ("password", "disable", "admin", "remove"):
            status, _, _, _ = client.post_form("/admin/user/" + action, {
                "csrf": client.csrf("/admin/users"), "id": USER_B, "password": "Hijack2024pw",
                "password2": "Hijack2024pw", "confirm": "yes"})
            self.assertEqual(status, 404, action)
        # A's session token under B's contract number is no session at all.
        forged = B + "." + token.split(".", 1)[1]
        status, _ = harness.api(self.relay, "GET", "/api/v1/users", token=forged)
        self.assertEqual(status, 401)
        self.assertEqual(self.b_state(), before)
        # A plain user of B sees none of the admin pages either.
        status, login_b = harness.api(self.relay, "POST", "/api/v1/login",
                                      {"contract": B, "user": USER_B, "password": PASSWORD})
        status, _ = harness.api(self.relay, "GET", "/api/v1/users", token=login_b["token"])
        self.assertEqual(status, 404)

    def test_headers_and_cookies(self):
        client = Client(self.relay)
        status, headers, _, _ = client.request("GET", "/admin/login")
        self.assertEqual(status, 200)
        csp = header(headers, "Content-Security-Policy")[0]
        self.assertIn("default-src 'none'", csp)
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertEqual(header(headers, "X-Frame-Options"), ["DENY"])
        self.assertEqual(header(headers, "X-Content-Type-Options"), ["nosniff"])
        self.assertEqual(header(headers, "Cache-Control"), ["no-store"])
        self.assertIn("HttpOnly; SameSite=Strict", header(headers, "Set-Cookie")[0])
        status, _, body, _ = client.post_form("/admin/login", {
            "csrf": client.csrf(), "contract": A, "user": ADMIN_A, "password": PASSWORD})
        self.assertEqual(status, 303)
        session = [c for c in client.cookies if c == "daicho_session"]
        self.assertEqual(session, ["daicho_session"])
        self.assertRegex(client.cookies["daicho_session"], r"^%s\.[0-9a-f]{64}$" % A)
        status, headers, _, _ = client.request("GET", "/admin/users")
        self.assertEqual((status, header(headers, "Cache-Control")), (200, ["no-store"]))
        status, headers, _, _ = client.request("GET", "/admin/static/style.css")
        self.assertEqual(status, 200)
        self.assertTrue(header(headers, "Cache-Control")[0].startswith("public"))
        # The page never echoes a password back.
        stranger = Client(self.relay)
        status, _, body, _ = stranger.post_form("/admin/login", {
            "csrf": stranger.csrf(), "contract": A, "user": ADMIN_A, "password": "Secret9999zz"})
        self.assertEqual(status, 401)
        self.assertNotIn("Secret9999zz", body)

    def test_reset_requests_for_existing_and_unknown_accounts_look_the_same(self):
        # Each source address may ask 10 times in 15 minutes: spread over several.
        samples = {"existing": [], "unknown": []}
        answers = {}
        for i in range(20):
            client = Client(self.relay, "127.0.0.%d" % (10 + i // 4))
            token = client.csrf("/admin/reset")
            for kind, user in (("existing", ADMIN_A), ("unknown", "nobody%d@office-a.jp" % i)):
                status, headers, body, elapsed = client.post_form("/admin/reset", {
                    "csrf": token, "contract": A, "user": user})
                samples[kind].append(elapsed)
                answers.setdefault(kind, set()).add((status, tuple(sorted(headers)), body))
        self.assertEqual(len(answers["existing"]), 1, answers["existing"])
        self.assertEqual(answers["existing"], answers["unknown"])
        [(status, headers, body)] = answers["existing"]
        self.assertEqual((status, dict(headers)["Location"]), (303, "/admin/reset/sent"))
        existing, unknown = statistics.median(samples["existing"]), statistics.median(samples["unknown"])
        self.assertLess(abs(existing - unknown) / max(existing, unknown), 0.20, samples)
        # The per-account limit sent 3 codes to the existing account; unknown ones got none.
        mails = self.relay.wait_for_mails(3)
        time.sleep(0.5)
        self.assertEqual([m["To"] for m in self.relay.mails()], [ADMIN_A] * 3)
        # The address limit is visible, and says when to come back.
        client = Client(self.relay, "127.0.0.9")
        token = client.csrf("/admin/reset")
        statuses = [client.post_form("/admin/reset", {"csrf": token, "contract": A, "user": "x%d@y.jp" % i})[0]
                    for i in range(11)]
        self.assertEqual(statuses, [303] * 10 + [429])

    def test_fifty_wrong_passwords_are_slowed_and_the_owner_still_resets(self):
        statuses, waits = [], []
        for _ in range(50):
            connection = http.client.HTTPConnection("127.0.0.1", self.relay.port, timeout=30,
                                                    source_address=("127.0.0.2", 0))
            connection.request("POST", "/api/v1/login", '{"contract": "%s", "user": "%s", "password": "Guess1234x"}'
                               % (A, ADMIN_A), {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)
            if response.status == 429:
                waits.append(int(response.getheader("Retry-After")))
            connection.close()
        checked = statuses.count(401)
        self.assertLessEqual(checked, 8, statuses)
        self.assertGreaterEqual(statuses.count(429), 40, statuses)
        self.assertTrue(all(w >= 1 for w in waits), waits)

        # The owner, from their own address, asks for a code and sets a new password.
        status, answer = harness.api(self.relay, "POST", "/api/v1/reset", {"contract": A, "user": ADMIN_A})
        self.assertEqual(status, 202, answer)
        [mail] = self.relay.wait_for_mails(1)
        code = re.search(r"^    ([0-9]{8})\r?$", mail.get_content(), re.M).group(1)
        status, answer = harness.api(self.relay, "POST", "/api/v1/reset/confirm",
                                     {"contract": A, "user": ADMIN_A, "code": code, "password": "Owner2025back"})
        self.assertEqual(status, 200, answer)
        status, answer = harness.api(self.relay, "POST", "/api/v1/login",
                                     {"contract": A, "user": ADMIN_A, "password": "Owner2025back"})
        self.assertEqual(status, 200, answer)


class PanelOverTls(unittest.TestCase):
    """The panel on the relay's TLS port: the transport marks the request as
    TLS, so cookies are Secure and host-bound, and HSTS is sent."""

    def setUp(self):
        self.workdir = harness.tempfile.mkdtemp(prefix="daicho-tls-")
        self.addCleanup(harness.shutil.rmtree, self.workdir, True)
        cert, key = make_certificate(self.workdir)
        self.context = ssl.create_default_context(cafile=cert)
        self.relay = harness.Relay(harness.os.path.join(self.workdir, "relay"),
                                   ("--tls-cert", cert, "--tls-key", key))
        self.addCleanup(self.relay.stop)
        self.relay.run("contract", "add", A)
        self.relay.add_user(A, ADMIN_A, PASSWORD, admin=True)

    def request(self, method, path, body=None, headers=None):
        connection = http.client.HTTPSConnection("127.0.0.1", self.relay.port, timeout=30, context=self.context)
        connection.request(method, path, body, headers or {})
        response = connection.getresponse()
        data = response.read().decode()
        connection.close()
        return response.status, response.getheaders(), data

    def log_in(self, csrf, origin_scheme):
        return self.request(
            "POST", "/admin/login",
            urllib.parse.urlencode({"csrf": csrf, "contract": A, "user": ADMIN_A, "password": PASSWORD}),
            {"Content-Type": "application/x-www-form-urlencoded", "Cookie": "daicho_csrf=" + csrf,
             "Origin": "%s://127.0.0.1:%d" % (origin_scheme, self.relay.port)})

    def test_cookies_are_secure_and_host_bound_under_tls(self):
        self.assertIn("scheme=wss", self.relay.log())
        self.assertIn("event=admin_panel url=https://127.0.0.1:%d/admin/" % self.relay.port, self.relay.log())
        status, headers, body = self.request("GET", "/admin/login")
        self.assertEqual(status, 200)
        self.assertEqual(header(headers, "Strict-Transport-Security"), ["max-age=31536000"])
        pre = header(headers, "Set-Cookie")[0]
        self.assertIn("; Secure", pre)
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', body).group(1)
        status, headers, _ = self.log_in(csrf, "https")
        self.assertEqual(status, 303)
        session = header(headers, "Set-Cookie")[0]
        self.assertTrue(session.startswith("__Host-daicho_session=%s." % A), session)
        self.assertIn("; Secure", session)
        # A form whose Origin says http:// is another origin than this https:// relay.
        self.assertEqual(self.log_in(csrf, "http")[0], 403)


if __name__ == "__main__":
    unittest.main()
