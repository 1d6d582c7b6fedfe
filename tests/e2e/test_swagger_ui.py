"""End-to-end test of the Swagger UI every service serves at /swagger-ui.html, in a
real browser: Debian's headless Chromium, driven by npm playwright-core
(tests/e2e/swagger_ui_browser.js), loads each service's page from a running stack
and the test asserts that

- every operation of the service's openapi.json is rendered, and nothing else;
- "Authorize" takes a bearer token, and "Try it out" + "Execute" on one GET of the
  service shows 200, with the token in the curl command Swagger UI shows; the
  service's own metrics count that 200 (the browser really called the service);
- the page loads with no console or page error (its Content-Security-Policy
  allows everything the page needs);
- a screenshot of each page is kept in $SAGA_BUILD_DIR/swagger-ui/<service>.png.

Without the browser: /docs, /docs/, /swagger-ui and /swagger-ui/ redirect to the
page; the Swagger UI files are served with their content types, and only those
(package.json of the package is not); and a service whose SAGA_SWAGGER_UI_DIR
holds no files starts all the same, logs it once, and answers the page with a 404
problem that names the setting. Ends with a clean audit like every e2e class.
"""
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from stack import BUILD, SERVICES, SOURCE, Stack, StackTestCase  # noqa: E402

DRIVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "swagger_ui_browser.js")
SHOTS = os.path.join(BUILD, "swagger-ui")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def http_get(port, path):
    """(status, headers as a dict with lower-case names, body bytes); no redirect
    is followed."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def served_count(stack, svc, route, status="200"):
    """saga_http_requests_total for GET route with status on svc."""
    want = {f'route="{route}"', 'method="GET"', f'status="{status}"'}
    total = 0.0
    for labels, value in re.findall(r"^saga_http_requests_total\{(.*)\} (\S+)$",
                                    stack.metrics_text(svc), re.M):
        if want <= set(re.findall(r'[a-z_]+="(?:[^"\\]|\\.)*"', labels)):
            total += float(value)
    return total


class SwaggerUi(StackTestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = s = Stack("swagger").start()
        try:
            cls.sku, cls.customer = s.shop("swagger", price=1500, stock=10, balance=100000)
            a = s.order(cls.customer, [(cls.sku, 1)])
            assert a.status == 202, a
            cls.order_id = a.json["id"]
            assert s.wait_order(cls.order_id)["status"] == "CONFIRMED"
        except BaseException:
            s.stop()
            raise
        os.makedirs(SHOTS, exist_ok=True)
        cls.tmp = tempfile.mkdtemp(prefix="swagger-ui-", dir=s.dir)

    @classmethod
    def stop_extras(cls):
        shutil.rmtree(getattr(cls, "tmp", ""), ignore_errors=True)

    def calls(self):
        """Per service: the GET that Try it out makes, its parameters."""
        return {
            "order": ("/api/orders", {}),
            "payment": ("/api/wallets/{customerId}", {"customerId": self.customer}),
            "inventory": ("/api/products", {}),
            "notification": ("/api/notifications", {"orderId": self.order_id}),
        }

    def browse(self, svc, path, params):
        s = self.stack
        plan = {
            "url": f"http://127.0.0.1:{s.ports[svc]}/swagger-ui.html",
            "token": s.token(self.customer),
            "call": {"method": "get", "path": path, "params": params},
            "screenshot": os.path.join(SHOTS, f"{svc}.png"),
            "profile": tempfile.mkdtemp(prefix=f"chromium-{svc}-", dir=self.tmp),
        }
        if os.path.exists(plan["screenshot"]):
            os.unlink(plan["screenshot"])
        plan_file = os.path.join(self.tmp, f"{svc}-plan.json")
        with open(plan_file, "w") as f:
            json.dump(plan, f)
        # its own process group, so that a run that hangs ends with its Chromium
        proc = subprocess.Popen(["node", DRIVER, plan_file], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=SOURCE,
                                start_new_session=True)
        try:
            stdout, stderr = proc.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            stdout, stderr = proc.communicate()
            self.fail(f"{svc}: the browser run took over 180 s:\n{stderr}")
        self.assertEqual(proc.returncode, 0, f"{svc}: the browser run failed:\n{stderr}")
        return plan, json.loads(stdout.strip().splitlines()[-1])

    def test_browser_renders_and_tries_it_out(self):
        s = self.stack
        for svc, (path, params) in self.calls().items():
            with self.subTest(service=svc):
                with open(os.path.join(SOURCE, "services", svc, "openapi.json")) as f:
                    doc = json.load(f)
                # the paths, and the webhooks Swagger UI shows beside them
                described = sorted([m, p] for part in ("paths", "webhooks")
                                   for p, ops in doc.get(part, {}).items()
                                   for m in METHODS if m in ops)
                before = served_count(s, svc, path)
                plan, seen = self.browse(svc, path, params)
                print(f"{svc}: {len(seen['rendered'])} operations rendered; Try it out "
                      f"GET {path}: {seen['status']}; screenshot {plan['screenshot']}")
                self.assertEqual(sorted(seen["rendered"]), described)
                self.assertTrue(seen["authorized"], f"{svc}: Authorize did not take the token")
                self.assertEqual(seen["status"], "200", seen)
                self.assertIn(f"Authorization: Bearer {plan['token']}", seen["curl"])
                self.assertEqual(seen["errors"], [], f"{svc}: errors in the page")
                self.assertGreaterEqual(served_count(s, svc, path), before + 1,
                                        f"{svc} did not count the browser's GET {path}")
                with open(plan["screenshot"], "rb") as f:
                    png = f.read()
                self.assertTrue(png.startswith(b"\x89PNG\r\n\x1a\n"), plan["screenshot"])
                self.assertGreater(len(png), 20000, "the screenshot looks empty")

    def test_redirects_and_files(self):
        s = self.stack
        for svc in SERVICES:
            port = s.ports[svc]
            with self.subTest(service=svc):
                for path in ("/docs", "/docs/", "/swagger-ui", "/swagger-ui/"):
                    status, headers, _ = http_get(port, path)
                    self.assertEqual((status, headers.get("location")),
                                     (302, "/swagger-ui.html"), path)
                status, headers, body = http_get(port, "/swagger-ui.html")
                self.assertEqual(status, 200)
                self.assertTrue(headers["content-type"].startswith("text/html"))
                self.assertIn("script-src 'self'", headers["content-security-policy"])
                self.assertIn(f"<title>{svc}-service API</title>".encode(), body)
                for name, ctype in (("swagger-ui-bundle.js", "application/javascript"),
                                    ("swagger-ui.css", "text/css"),
                                    ("favicon-32x32.png", "image/png"),
                                    ("init.js", "application/javascript")):
                    status, headers, body = http_get(port, f"/swagger-ui/{name}")
                    self.assertEqual(status, 200, name)
                    self.assertTrue(headers["content-type"].startswith(ctype), name)
                    if name != "init.js":
                        dist = os.path.join(SOURCE, "node_modules", "swagger-ui-dist", name)
                        with open(dist, "rb") as f:
                            self.assertEqual(body, f.read(), f"{name} is not the package's")
                for name in ("package.json", "index.html", "swagger-ui-bundle.js.map", "x"):
                    status, headers, body = http_get(port, f"/swagger-ui/{name}")
                    self.assertEqual(status, 404, name)
                    self.assertTrue(headers["content-type"].startswith(
                        "application/problem+json"), name)

    def test_z_files_missing(self):
        """Last: restarts payment-service with no Swagger UI files, then as it was."""
        s = self.stack
        missing = os.path.join(self.tmp, f"no-such-dir-{uuid.uuid4().hex[:6]}")
        s.restart_service("payment", {"SAGA_SWAGGER_UI_DIR": missing})
        try:
            port = s.ports["payment"]
            status, headers, body = http_get(port, "/swagger-ui.html")
            self.assertEqual(status, 404)
            self.assertTrue(headers["content-type"].startswith("application/problem+json"))
            self.assertIn("SAGA_SWAGGER_UI_DIR", json.loads(body)["detail"])
            status, _, _ = http_get(port, "/swagger-ui/swagger-ui-bundle.js")
            self.assertEqual(status, 404)
            self.assertEqual(http_get(port, "/openapi.json")[0], 200)
            self.assertEqual(http_get(port, "/ready")[0], 200)
            with open(s.log("payment")) as f:
                log = f.read().split("--- restarted with")[-1]
            lines = [json.loads(line) for line in log.splitlines()
                     if '"swagger_ui.missing"' in line]
            self.assertEqual(len(lines), 1, "the missing files are logged once")
            self.assertEqual(lines[0]["level"], "warn")
            self.assertIn(missing, lines[0]["msg"])
        finally:
            s.restart_service("payment", {})
        self.assertEqual(http_get(s.ports["payment"], "/swagger-ui.html")[0], 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
