"""Every executable answers --version with its name, the project's version and the
git commit it was built from.

    test_version.py VERSION SOURCE_DIR NAME=PATH...

Each one must print exactly "NAME VERSION (commit C)" and exit 0, where C is the
checkout's HEAD (12 hex digits, "-dirty" allowed) when SOURCE_DIR is a git checkout,
else "unknown"; -V must say the same. All must agree on C.
"""
import re
import subprocess
import sys
import unittest

VERSION, SOURCE = sys.argv[1], sys.argv[2]
TARGETS = [a.split("=", 1) for a in sys.argv[3:]]


def git_head():
    try:
        out = subprocess.run(["git", "-C", SOURCE, "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, timeout=30)
    except OSError:
        return None
    return out.stdout.strip() if out.returncode == 0 else None


class Version(unittest.TestCase):
    def test_every_executable(self):
        self.assertGreaterEqual(len(TARGETS), 10, "expected the ten executables")
        self.assertRegex(VERSION, r"^\d+\.\d+\.\d+$")
        head = git_head()
        commits = set()
        for name, path in TARGETS:
            with self.subTest(name=name):
                for flag in ("--version", "-V"):
                    out = subprocess.run([path, flag], capture_output=True, text=True,
                                         timeout=30, stdin=subprocess.DEVNULL)
                    self.assertEqual(out.returncode, 0, f"{name} {flag}: {out.stderr}")
                    self.assertEqual(out.stderr, "", f"{name} {flag} wrote to stderr")
                    m = re.fullmatch(re.escape(name) + " " + re.escape(VERSION) +
                                     r" \(commit ([0-9a-f]{12}(?:-dirty)?|unknown)\)\n",
                                     out.stdout)
                    self.assertIsNotNone(m, f"{name} {flag} printed {out.stdout!r}")
                    commit = m.group(1)
                    commits.add(commit)
                    if head:
                        self.assertEqual(commit.removesuffix("-dirty"), head,
                                         f"{name} was built from another commit than HEAD: "
                                         "rebuild (cmake --build build)")
                    else:
                        self.assertEqual(commit, "unknown")
        self.assertEqual(len(commits), 1, f"the executables disagree: {commits}")


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
