"""The email channel against a real SMTP server on loopback (Debian's python3-aiosmtpd).

A whole stack whose notification-service sends email (SAGA_NOTIFY_CHANNELS=log,email)
to an aiosmtpd server this test runs:

- a confirmed and a cancelled order: each customer receives one message, from the
  configured sender to <customerId>@SAGA_EMAIL_DOMAIN, whose subject and text name
  the order and its outcome (amount, or the reason it was cancelled); the
  notification is SENT after one attempt;
- a server that refuses a customer's message (451) twice, then accepts it: the
  notification is retried with a growing backoff (each gap at least the backoff's
  lower bound for its attempt), records its attempts and the server's reply as
  its last error meanwhile, and ends SENT with three attempts and one message
  delivered;
- a server that keeps refusing for now (451): FAILED after SAGA_NOTIFY_MAX_ATTEMPTS
  attempts, PENDING with the attempts so far and the server's reply meanwhile;
- a server that refuses for good (550, a permanent reply): FAILED after one
  attempt, the server's reply recorded;
- an unreachable server (nothing listens on the port): the same, with the
  connection error recorded.

The class ends, like every e2e class, drained, with every event schema-valid and
a clean audit.
"""
import email
import email.policy
import os
import sys
import threading
import time
import unittest

from aiosmtpd.controller import Controller

sys.path.insert(0, os.path.dirname(__file__))
from stack import Stack, StackTestCase, free_port  # noqa: E402

SENDER = "shop@saga.test"
DOMAIN = "customers.test"
RETRY_BASE_MS = 400
MAX_ATTEMPTS = 4


class SmtpServer:
    """An aiosmtpd server on 127.0.0.1 that keeps every message it accepts and can
    refuse a recipient's messages: refuse[rcpt] = (count, reply) refuses the next
    count DATA commands for rcpt with reply (count None: always)."""

    def __init__(self):
        server = self
        self.lock = threading.Lock()
        self.messages = []      # (envelope sender, [recipients], email.message.Message)
        self.attempts = {}      # recipient -> [time.monotonic() of each DATA]
        self.refuse = {}

        class Handler:
            async def handle_DATA(self, srv, session, envelope):
                now = time.monotonic()
                with server.lock:
                    for rcpt in envelope.rcpt_tos:
                        server.attempts.setdefault(rcpt, []).append(now)
                    for rcpt in envelope.rcpt_tos:
                        count, reply = server.refuse.get(rcpt, (0, None))
                        if count is None or count > 0:
                            if count:
                                server.refuse[rcpt] = (count - 1, reply)
                            return reply
                    msg = email.message_from_bytes(envelope.original_content,
                                                   policy=email.policy.default)
                    server.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def to(self, rcpt):
        with self.lock:
            return [m for m in self.messages if rcpt in m[1]]

    def stop(self):
        self.controller.stop()


class EmailE2E(StackTestCase):
    smtp = None

    @classmethod
    def setUpClass(cls):
        cls.smtp = SmtpServer()
        cls.notify_env = {
            "SAGA_NOTIFY_CHANNELS": "log,email",
            "SAGA_SMTP_URL": f"smtp://127.0.0.1:{cls.smtp.port}",
            "SAGA_SMTP_FROM": SENDER,
            "SAGA_EMAIL_DOMAIN": DOMAIN,
            "SAGA_SMTP_TIMEOUT_MS": "5000",
            "SAGA_NOTIFY_RETRY_BASE_MS": str(RETRY_BASE_MS),
            "SAGA_NOTIFY_RETRY_MAX_MS": "5000",
            "SAGA_NOTIFY_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
        }
        cls.stack = Stack("mail", env={"notification": dict(cls.notify_env)}).start()

    @classmethod
    def stop_extras(cls):
        if cls.smtp:
            cls.smtp.stop()

    def email_notification(self, order_id, customer, done=("SENT", "FAILED"), timeout=60):
        def read():
            a = self.stack.call("notification", "GET", f"/api/notifications?orderId={order_id}",
                                who=customer)
            self.assertEqual(a.status, 200, a)
            return [n for n in a.json["items"] if n["channel"] == "email"]
        seen = self.stack.wait_until(read, lambda ns: ns and ns[0]["status"] in done, timeout)
        self.assertEqual(len(seen), 1, seen)
        return seen[0]

    def place(self, label, stock=10, balance=100000, quantity=1):
        s = self.stack
        sku, customer = s.shop(label, price=1250, stock=stock, balance=balance)
        o = s.order(customer, [(sku, quantity)]).json
        return o["id"], customer, s.wait_order(o["id"])["status"]

    def test_1_customers_receive_their_outcome(self):
        oid, customer, status = self.place("mail-ok")
        self.assertEqual(status, "CONFIRMED")
        short, customer2, status2 = self.place("mail-short", stock=1, quantity=3)
        self.assertEqual(status2, "CANCELLED")
        for order_id, who, outcome, detail in (
                (oid, customer, "is confirmed", "12.50 EUR"),
                (short, customer2, "was cancelled", "out of stock")):
            with self.subTest(outcome=outcome):
                n = self.email_notification(order_id, who)
                self.assertEqual((n["status"], n["attempts"], n["lastError"]), ("SENT", 1, None))
                rcpt = f"{who}@{DOMAIN}"
                got = self.smtp.to(rcpt)
                self.assertEqual(len(got), 1, got)
                sender, rcpts, msg = got[0]
                self.assertEqual((sender, rcpts), (SENDER, [rcpt]))
                self.assertEqual(msg["To"], rcpt)
                self.assertEqual(msg["From"], SENDER)
                self.assertEqual(msg["Subject"], f"Your order {order_id} {outcome}")
                self.assertIsNotNone(msg["Date"])
                self.assertIsNotNone(msg["Message-ID"])
                body = msg.get_content()
                self.assertIn(f"Hello {who},", body)
                self.assertIn(f"Order {order_id} {outcome}", body)
                self.assertIn(detail, body.lower() if detail == "out of stock" else body)

    def test_2_refused_twice_then_delivered_with_backoff(self):
        s = self.stack
        customer = s.customer("mail-refused")
        rcpt = f"{customer}@{DOMAIN}"
        self.smtp.refuse[rcpt] = (2, "451 4.3.0 mailbox busy, try later")
        sku = s.sku("mail-refused")
        s.product(sku, price=1250, stock=10)
        s.wallet(customer, balance=100000)
        o = s.order(customer, [(sku, 1)]).json
        self.assertEqual(s.wait_order(o["id"])["status"], "CONFIRMED")
        n = self.email_notification(o["id"], customer)
        self.assertEqual((n["status"], n["attempts"]), ("SENT", 3), n)
        self.assertEqual(len(self.smtp.to(rcpt)), 1)
        times = self.smtp.attempts[rcpt]
        self.assertEqual(len(times), 3, times)
        # backoff with jitter: the k-th retry waits within [base*2^(k-1)/2, base*2^(k-1)]
        gaps = [b - a for a, b in zip(times, times[1:])]
        for k, gap in enumerate(gaps):
            low = RETRY_BASE_MS * (2 ** k) / 2 / 1000
            self.assertGreaterEqual(gap, low * 0.95, f"retry {k + 1} after {gap:.3f} s: {gaps}")

    def order_for(self, label):
        """A confirmed order of a new customer: (order id, customer, recipient)."""
        s = self.stack
        customer = s.customer(label)
        sku = s.sku(label)
        s.product(sku, price=1250, stock=10)
        s.wallet(customer, balance=100000)
        o = s.order(customer, [(sku, 1)]).json
        self.assertEqual(s.wait_order(o["id"])["status"], "CONFIRMED")
        return o["id"], customer, f"{customer}@{DOMAIN}"

    def test_3_always_refused_for_now_fails_after_max_attempts(self):
        s = self.stack
        customer = s.customer("mail-busy")
        rcpt = f"{customer}@{DOMAIN}"
        self.smtp.refuse[rcpt] = (None, "451 4.3.0 mailbox busy, try later")
        oid, customer, rcpt = self.order_for("mail-busy")
        # every state the API shows until it gives up: while retried, the row is
        # PENDING with its attempts so far and the server's reply as its last error
        seen = []

        def read():
            n = self.email_notification(oid, customer, done=("PENDING", "SENT", "FAILED"))
            seen.append((n["status"], n["attempts"], n["lastError"]))
            return n
        n = s.wait_until(read, lambda n: n["status"] != "PENDING", timeout=60, pause=0.02)
        self.assertEqual((n["status"], n["attempts"]), ("FAILED", MAX_ATTEMPTS), n)
        self.assertEqual(n["lastError"], "email: the server refused: 451 4.3.0 mailbox busy, try later")
        retrying = {(a, e) for st, a, e in seen if st == "PENDING" and a > 0}
        self.assertTrue(retrying, seen)
        for attempts, error in retrying:
            self.assertLess(attempts, MAX_ATTEMPTS)
            self.assertEqual(error, n["lastError"])
        self.assertEqual(len(self.smtp.attempts[rcpt]), MAX_ATTEMPTS)
        self.assertEqual(self.smtp.to(rcpt), [])

    def test_3b_refused_for_good_fails_at_once(self):
        """A 5yz reply is permanent (RFC 5321): no retry."""
        customer = self.stack.customer("mail-never")
        rcpt = f"{customer}@{DOMAIN}"
        self.smtp.refuse[rcpt] = (None, "550 5.1.1 no such mailbox")
        oid, customer, rcpt = self.order_for("mail-never")
        n = self.email_notification(oid, customer, done=("FAILED", "SENT"))
        self.assertEqual((n["status"], n["attempts"], n["lastError"]),
                         ("FAILED", 1, "email: the server refused: 550 5.1.1 no such mailbox"))
        time.sleep(3 * RETRY_BASE_MS / 1000)  # past any retry it might have scheduled
        self.assertEqual(len(self.smtp.attempts[rcpt]), 1)
        self.assertEqual(self.smtp.to(rcpt), [])

    def test_4_unreachable_server_fails_after_max_attempts(self):
        s = self.stack
        env = dict(self.notify_env, SAGA_SMTP_URL=f"smtp://127.0.0.1:{free_port()}")
        s.restart_service("notification", env)
        try:
            oid, customer, status = self.place("mail-unreachable")
            self.assertEqual(status, "CONFIRMED")
            n = self.email_notification(oid, customer, done=("FAILED", "SENT"))
            self.assertEqual((n["status"], n["attempts"]), ("FAILED", MAX_ATTEMPTS), n)
            self.assertRegex(n["lastError"], r"(?i)connect")
            self.assertEqual(self.smtp.to(f"{customer}@{DOMAIN}"), [])
        finally:
            s.restart_service("notification", self.notify_env)


if __name__ == "__main__":
    unittest.main(verbosity=2)
