"""saga-blocks' CPU group (loadtest/blocks_cpu.c), which needs no server.

It builds the four events of a completed saga as the services do, and mints tokens
with keys it makes, so it fails when an event of saga-load's shape no longer parses or
validates against schemas/, or a token the minter signs no longer verifies. Asserted:
the exit status, every figure present and positive, and a clear failure when the
schemas are missing. Never a timing: CI machines are slow and noisy.
"""
import json
import os
import subprocess
import tempfile
import unittest

SOURCE = os.environ.get("SAGA_SOURCE_DIR",
                        os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD = os.environ.get("SAGA_BUILD_DIR", os.path.join(SOURCE, "build"))
BLOCKS = os.path.join(BUILD, "loadtest", "saga-blocks")
EVENTS = ["OrderCreated", "InventoryReserved", "PaymentCompleted", "OrderConfirmed"]


def run_blocks(schemas, out):
    return subprocess.run([BLOCKS, "--only", "cpu", "--seconds", "0.05", "--schemas", schemas,
                           "--json", out], capture_output=True, text=True, timeout=300)


class BlocksCpuTest(unittest.TestCase):
    def test_every_figure(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "blocks.json")
            r = run_blocks(os.path.join(SOURCE, "schemas"), out)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            with open(out) as f:
                cpu = json.load(f)["cpu"]
        self.assertNotIn("error", cpu)
        self.assertEqual([e["type"] for e in cpu["events"]], EVENTS)
        self.assertEqual([e["consumers"] for e in cpu["events"]], [3, 2, 1, 3])
        for e in cpu["events"]:
            self.assertGreater(e["bytes"], 300, e)
            self.assertGreater(e["parse_us"], 0, e)
            self.assertGreater(e["validate_us"], 0, e)
        self.assertGreater(cpu["events_per_saga_us"], 0)
        for figures in ("verify_us", "verify_again_us"):
            self.assertEqual(sorted(cpu[figures]), ["ES256", "HS256", "RS256"])
            for alg, us in cpu[figures].items():
                self.assertGreater(us, 0, (figures, alg))

    def test_schemas_missing(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "blocks.json")
            r = run_blocks(tmp, out)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("cpu measurement failed: schemas " + tmp, r.stdout)
            with open(out) as f:
                cpu = json.load(f)["cpu"]
        self.assertIn("no *.json schema", cpu["error"])
        self.assertEqual(cpu["events"], [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
