"""Smoke test of the load generator (saga-load) on a whole stack (tests/e2e/stack.py).

A few load customers and products made through the admin APIs (the conventions of
loadtest/README.md, at a small scale), then saga-load for about 5 s at ~50 orders/s
with its default mix, its audit run against this stack's databases. It asserts only
what must hold on any machine: saga-load exits 0 (every accepted order got its
outcome, the audit was clean), and its JSON report shows orders accepted and no
outcome missing. Never a timing: CI machines are slow and noisy.
"""
import concurrent.futures
import json
import os
import shlex
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from stack import BUILD, Stack, StackTestCase  # noqa: E402

CUSTOMERS = 20
PRODUCTS = 20
POOR_CUSTOMERS = 100  # load-poor-001..100: saga-load picks any of them
EMPTY_PRODUCTS = 10   # load-empty-01..10


class LoadSmokeTest(StackTestCase):
    stack = None

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack("load").start()
        s = cls.stack
        wallets = [(f"load-c-{i:06d}", 1_000_000_000) for i in range(1, CUSTOMERS + 1)]
        wallets += [(f"load-poor-{i:03d}", 0) for i in range(1, POOR_CUSTOMERS + 1)]
        products = [(f"load-p-{i:07d}", 100 + i % 9900, 1_000_000)
                    for i in range(1, PRODUCTS + 1)]
        products += [(f"load-empty-{i:02d}", 100 + i, 0) for i in range(1, EMPTY_PRODUCTS + 1)]
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            jobs = [pool.submit(s.wallet, c, b) for c, b in wallets]
            jobs += [pool.submit(s.product, sku, price, stock) for sku, price, stock in products]
            for job in jobs:
                job.result()


    def test_saga_load_completes_every_order_with_a_clean_audit(self):
        s = self.stack
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAGA_JWT_")}
        env.update(s.audit_env())  # saga-load passes its environment to --audit-cmd
        env.update({
            "SAGA_KAFKA_BOOTSTRAP": s.bootstrap,
            "SAGA_JWT_ALG": "ES256",
            "SAGA_JWT_PRIVATE_KEY_FILE": os.path.join(s.secrets_dir, "jwt-private.pem"),
        })
        with tempfile.TemporaryDirectory() as tmp:
            report = os.path.join(tmp, "load.json")
            cmd = [os.path.join(BUILD, "loadtest", "saga-load"),
                   "--rate", "50", "--duration", "5",
                   "--customers", str(CUSTOMERS), "--products", str(PRODUCTS),
                   "--order-url", f"http://127.0.0.1:{s.ports['order']}",
                   "--inventory-url", f"http://127.0.0.1:{s.ports['inventory']}",
                   "--json", report,
                   "--audit-cmd", shlex.quote(os.path.join(BUILD, "tools", "saga-audit")),
                   "--quiet"]
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
            print(out.stdout, out.stderr, sep="\n")
            self.assertEqual(out.returncode, 0, "saga-load failed (see its report above)")
            with open(report) as f:
                doc = json.load(f)
        self.assertTrue(doc["ok"], doc.get("failure"))
        self.assertGreater(doc["orders"]["accepted"], 0)
        self.assertEqual(doc["outcomes"]["missing"], 0)
        self.assertTrue(doc["audit"]["ran"])
        self.assertTrue(doc["audit"]["clean"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
