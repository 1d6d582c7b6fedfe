"""The four OpenAPI descriptions pass Redocly's recommended lint with no error and
no warning (npm @redocly/cli, pinned in package.json; rules in redocly.yaml), and
declare what Swagger UI's "Try it out" needs to call the service that serves them:
the server "/" (the origin the description came from) and the bearer JWT scheme,
required on every /api/ operation and on no other.

    test_lint.py SOURCE_DIR [OPENAPI_FILE...]   (default: services/*/openapi.json)
"""
import json
import os
import subprocess
import sys
import unittest

SOURCE = sys.argv[1]
FILES = sys.argv[2:] or [os.path.join(SOURCE, "services", s, "openapi.json")
                         for s in ("order", "payment", "inventory", "notification")]
REDOCLY = os.path.join(SOURCE, "node_modules", ".bin", "redocly")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


class OpenApiLint(unittest.TestCase):
    def test_redocly_recommended_clean(self):
        self.assertTrue(os.access(REDOCLY, os.X_OK),
                        f"{REDOCLY} is missing: run deploy/install-deps.sh (npm ci)")
        env = dict(os.environ, REDOCLY_TELEMETRY="off", REDOCLY_SUPPRESS_UPDATE_NOTICE="true",
                   NO_COLOR="1")
        for path in FILES:
            with self.subTest(file=os.path.relpath(path, SOURCE)):
                out = subprocess.run(
                    [REDOCLY, "lint", "--config", os.path.join(SOURCE, "redocly.yaml"),
                     "--format=json", path],
                    capture_output=True, text=True, env=env, timeout=120, cwd=SOURCE)
                try:
                    report = json.loads(out.stdout)
                except ValueError:
                    self.fail(f"redocly printed no report (exit {out.returncode}): "
                              f"{out.stdout[-2000:]}{out.stderr[-2000:]}")
                problems = [f"{p.get('severity')} {p.get('ruleId')}: {p.get('message')} at "
                            f"{[loc.get('pointer') for loc in p.get('location', [])]}"
                            for p in report.get("problems", [])]
                self.assertEqual(report["totals"]["errors"], 0, "\n".join(problems))
                self.assertEqual(report["totals"]["warnings"], 0, "\n".join(problems))
                self.assertEqual(problems, [])

    def test_try_it_out_reaches_the_same_service(self):
        for path in FILES:
            with self.subTest(file=os.path.relpath(path, SOURCE)):
                with open(path) as f:
                    doc = json.load(f)
                self.assertEqual([s["url"] for s in doc["servers"]], ["/"])
                scheme = doc["components"]["securitySchemes"]["bearerAuth"]
                self.assertEqual((scheme["type"], scheme["scheme"]), ("http", "bearer"))
                self.assertEqual(doc["security"], [{"bearerAuth": []}])
                self.assertIn("license", doc["info"])
                for template, ops in doc["paths"].items():
                    for method in METHODS:
                        if method not in ops:
                            continue
                        security = ops[method].get("security", doc["security"])
                        if template.startswith("/api/"):
                            self.assertEqual(security, [{"bearerAuth": []}],
                                             f"{method} {template} needs the bearer token")
                        else:
                            self.assertEqual(security, [], f"{method} {template} is open")


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
