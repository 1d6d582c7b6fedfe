"""End-to-end test of dead letters you can act on (tools/sagactl): an event
dead-lettered for a cause that is then fixed is replayed with `sagactl dlq replay`
and completes its order; replaying it again changes nothing (the consumers' inboxes
skip it); a payload that is not an event is selected by its saga-dlq position; the
class ends with every event schema-valid and a clean audit, replays included.

The fixable cause: payment-service starts with a schemas directory that lacks
InventoryReserved.v1.json, so it dead-letters every InventoryReserved as
UNKNOWN_TYPE (order-service, with the full schemas, moves the order to
AWAITING_PAYMENT); the fix is a restart with the full schemas.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from confluent_kafka import Producer  # noqa: E402
from stack import (BUILD, SOURCE, Stack, StackTestCase,  # noqa: E402
                   message_headers, sql_id)

SAGACTL = os.path.join(BUILD, "tools", "sagactl")




class ReplayStack(Stack):
    """A Stack with sagactl pointed at it."""

    def sagactl(self, *args, bootstrap=True):
        """Runs sagactl against this stack's broker: (exit status, stdout, stderr)."""
        env = dict(os.environ)
        env.pop("SAGA_KAFKA_BOOTSTRAP", None)
        if bootstrap:
            env["SAGA_KAFKA_BOOTSTRAP"] = self.bootstrap
        out = subprocess.run([SAGACTL, *args], env=env, capture_output=True, text=True,
                             timeout=120)
        return out.returncode, out.stdout, out.stderr

    def dlq_entries(self, *args):
        code, out, err = self.sagactl("dlq", "list", "--json", *args)
        assert code == 0, f"sagactl dlq list: {code} {err}"
        return json.loads(out)


class DlqReplayE2E(StackTestCase):
    stack = None
    schemas_dir = None
    poison_keys = set()  # keys of messages on event topics that are not events, on purpose

    @classmethod
    def setUpClass(cls):
        cls.schemas_dir = tempfile.mkdtemp(prefix="saga-schemas-")
        for name in os.listdir(os.path.join(SOURCE, "schemas")):
            if name.endswith(".json") and name != "InventoryReserved.v1.json":
                shutil.copy(os.path.join(SOURCE, "schemas", name), cls.schemas_dir)
        cls.stack = ReplayStack("dlqreplay", env={
            # generous: the order waits for the fix and the replay
            "order": {"SAGA_TIMEOUT_MS": "600000"},
            "payment": {"SAGA_SCHEMAS_DIR": cls.schemas_dir},
        }).start()

    @classmethod
    def stop_extras(cls):
        shutil.rmtree(cls.schemas_dir, ignore_errors=True)


    def setUp(self):
        self.s = self.stack

    def wait_for(self, what, fn, timeout=30):
        deadline = time.time() + timeout
        while True:
            value = fn()
            if value:
                return value
            self.assertLess(time.time(), deadline, f"timed out waiting for {what}")
            time.sleep(0.2)

    def message_at(self, topic, partition, offset):
        for m in self.s.read_topic(topic):
            if m.partition() == partition and m.offset() == offset:
                return m
        self.fail(f"no message at {topic}/{partition}/{offset}")

    def test_1_fixed_cause_replayed_completes_the_order_once(self):
        s = self.s
        sku, customer = s.shop("replay", price=1500, stock=5, balance=10000)
        a = s.order(customer, [(sku, 2)])
        self.assertEqual(a.status, 202, a)
        order_id = a.json["id"]
        order = s.wait_order(order_id, until=("AWAITING_PAYMENT", "CONFIRMED", "CANCELLED"))
        self.assertEqual(order["status"], "AWAITING_PAYMENT")

        # payment could not read InventoryReserved: dead-lettered, nothing charged
        def entry():
            found = [e for e in s.dlq_entries("--service", "payment", "--reason", "UNKNOWN_TYPE")
                     if e["orderId"] == order_id]
            return found[0] if found else None
        dead = self.wait_for("payment's dead letter", entry)
        self.assertEqual((dead["eventType"], dead["original"]["topic"], dead["validEnvelope"]),
                         ("InventoryReserved", "inventory-events", True))
        self.assertEqual(dead["key"], order_id)
        self.assertIn("InventoryReserved", dead["message"])
        event_id = dead["eventId"]
        # the text listing shows it too, one line with its saga-dlq position
        code, out, err = s.sagactl("dlq", "list", "--service", "payment")
        self.assertEqual(code, 0, err)
        line = [x for x in out.splitlines() if event_id in x]
        self.assertEqual(len(line), 1, out)
        position = f"{dead['dlq']['partition']}:{dead['dlq']['offset']}"
        for field in (position, "payment", "UNKNOWN_TYPE", "InventoryReserved", order_id,
                      f"inventory-events/{dead['original']['partition']}/"
                      f"{dead['original']['offset']}"):
            self.assertIn(field, line[0])
        self.assertEqual(s.balance(customer), 10000)
        self.assertEqual(s.call("payment", "GET", f"/api/payments/{order_id}").status, 404)
        self.assertEqual(s.scalar("payment", "SELECT COUNT(*) FROM dead_letters WHERE "
                                             f"event_id = '{event_id}'"), "1")

        # the fix: payment knows InventoryReserved again; the order still waits
        s.restart_service("payment", {})
        time.sleep(1)
        self.assertEqual(s.call("order", "GET", f"/api/orders/{order_id}").json["status"],
                         "AWAITING_PAYMENT")

        # a dry run publishes nothing
        before = len(s.read_topic("inventory-events"))
        code, out, err = s.sagactl("dlq", "replay", "--service", "payment", "--reason",
                                   "UNKNOWN_TYPE", "--dry-run")
        self.assertEqual(code, 0, err)
        self.assertIn("would replay 1 of 1", out)
        self.assertEqual(len(s.read_topic("inventory-events")), before)

        # the replay completes the order, charging once
        code, out, err = s.sagactl("dlq", "replay", "--service", "payment", "--reason",
                                   "UNKNOWN_TYPE")
        self.assertEqual(code, 0, f"{out}\n{err}")
        self.assertIn("replayed 1 of 1", out)
        m = re.search(r"-> inventory-events/(\d+)/(\d+) InventoryReserved event (\S+)", out)
        self.assertIsNotNone(m, out)
        self.assertEqual(m.group(3), event_id)
        self.assertEqual(int(m.group(1)), dead["original"]["partition"])  # its order's partition
        order = s.wait_order(order_id)
        self.assertEqual((order["status"], order["amount"]), ("CONFIRMED", 3000))
        self.assertEqual(s.wait_balance(customer, 7000), 7000)
        p = s.call("payment", "GET", f"/api/payments/{order_id}")
        self.assertEqual((p.json["status"], p.json["amount"]), ("CAPTURED", 3000))
        expected_stock = {"sku": sku, "available": 3, "reserved": 0, "sold": 2}
        self.assertEqual(s.wait_stock(sku, expected_stock), expected_stock)

        # the replayed message: the same bytes and key, the replay headers
        replayed = self.message_at("inventory-events", int(m.group(1)), int(m.group(2)))
        original = self.message_at("inventory-events", dead["original"]["partition"],
                                   dead["original"]["offset"])
        self.assertEqual(replayed.value(), original.value())
        self.assertEqual(replayed.key(), original.key())
        h = message_headers(replayed)
        self.assertEqual(h.get("saga-replayed-from"),
                         f"saga-dlq/{dead['dlq']['partition']}/{dead['dlq']['offset']}")
        # a structured-mode CloudEvent, as the original: its content-type, no ce_* header
        self.assertEqual(h.get("content-type"), "application/cloudevents+json; charset=utf-8")
        self.assertEqual(json.loads(replayed.value())["id"], event_id)
        self.assertFalse([k for k in h if k.startswith("ce_")], h)
        self.assertFalse([k for k in h if k.startswith("kafka_dlt-")], h)

        # the same replay again: a duplicate for payment (and order), nothing moves
        s.drain()
        history = s.call("order", "GET", f"/api/orders/{order_id}/events").json["events"]
        dup_payment = s.metric("payment", "saga_events_duplicate_total")
        dup_order = s.metric("order", "saga_events_duplicate_total")
        code, out, err = s.sagactl("dlq", "replay", "--service", "payment", "--reason",
                                   "UNKNOWN_TYPE")
        self.assertEqual(code, 0, f"{out}\n{err}")
        self.assertIn("replayed 1 of 1", out)
        self.wait_for("payment to skip the replayed event",
                      lambda: s.metric("payment", "saga_events_duplicate_total") > dup_payment)
        self.wait_for("order to skip the replayed event",
                      lambda: s.metric("order", "saga_events_duplicate_total") > dup_order)
        s.drain()
        self.assertEqual(s.call("order", "GET", f"/api/orders/{order_id}").json, order)
        self.assertEqual(s.call("order", "GET", f"/api/orders/{order_id}/events")
                         .json["events"], history)
        self.assertEqual(s.balance(customer), 7000)
        self.assertEqual(s.scalar("payment", "SELECT COUNT(*) FROM payments WHERE "
                                             f"order_id = {sql_id(order_id)}"), "1")
        self.assertEqual(s.scalar("payment", "SELECT COUNT(*) FROM inbox WHERE "
                                             f"event_id = {sql_id(event_id)}"), "1")
        self.assertEqual(s.scalar("payment", "SELECT COUNT(*) FROM dead_letters WHERE "
                                             f"event_id = '{event_id}'"), "1")
        self.assertEqual(s.stock(sku), expected_stock)
        payment_events = [e["type"] for e in s.events("payment-events", order_id)]
        self.assertEqual(payment_events, ["PaymentCompleted"])
        # replaying by event id selects the same entry
        code, out, err = s.sagactl("dlq", "replay", "--event-id", event_id, "--dry-run")
        self.assertEqual((code, out.splitlines()[-1]),
                         (0, "would replay 1 of 1 selected dead letters (0 skipped, 0 failed)"),
                         err)

    def test_2_not_an_event_selected_by_offset(self):
        """A payload that is not an event has no event id: --offset picks it; replayed
        byte for byte, it is dead-lettered again, as new entries."""
        s = self.s
        key = f"poison-{uuid.uuid4()}"
        self.poison_keys.add(key)
        payload = b'{"not": "an event", "bytes": "\xff\x01"'
        s.produce("inventory-events", key, payload)

        def entries():
            found = [e for e in s.dlq_entries("--reason", "INVALID_JSON") if e["key"] == key]
            return found if len(found) == 2 else None
        first = self.wait_for("order's and payment's dead letters", entries)
        self.assertEqual(sorted(e["service"] for e in first), ["order", "payment"])
        for e in first:
            self.assertEqual((e["eventId"], e["validEnvelope"]), (None, False))
        source = (first[0]["original"]["partition"], first[0]["original"]["offset"])
        pay = [e for e in first if e["service"] == "payment"][0]

        # in bulk, it is skipped: it would only be dead-lettered again
        before = len(s.read_topic("inventory-events"))
        code, out, err = s.sagactl("dlq", "replay", "--service", "payment", "--reason",
                                   "INVALID_JSON")
        self.assertEqual(code, 0, err)
        self.assertIn(f"skipped saga-dlq/{pay['dlq']['partition']}/{pay['dlq']['offset']}: "
                      "not a valid event; to replay it anyway: --offset "
                      f"{pay['dlq']['partition']}:{pay['dlq']['offset']}", out)
        self.assertIn("replayed 0 of 1 selected dead letters (1 skipped, 0 failed)", out)
        self.assertEqual(len(s.read_topic("inventory-events")), before)

        # no event id to select it by
        code, out, err = s.sagactl("dlq", "replay", "--event-id", str(uuid.uuid4()))
        self.assertEqual(code, 1)
        self.assertIn("no dead letter on saga-dlq has event id", err)

        code, out, err = s.sagactl("dlq", "replay", "--offset",
                                   f"{pay['dlq']['partition']}:{pay['dlq']['offset']}")
        self.assertEqual(code, 0, f"{out}\n{err}")
        self.assertIn("replayed 1 of 1", out)
        m = re.search(r"-> inventory-events/(\d+)/(\d+) ", out)
        self.assertIsNotNone(m, out)
        new = (int(m.group(1)), int(m.group(2)))
        self.assertEqual(new[0], source[0])
        replayed = self.message_at("inventory-events", *new)
        self.assertEqual((replayed.value(), replayed.key().decode()), (payload, key))

        # both services dead-letter it again at its new offset: two new entries
        def again():
            found = [e for e in s.dlq_entries("--reason", "INVALID_JSON") if e["key"] == key]
            return found if len(found) == 4 else None
        found = self.wait_for("the replayed poison's dead letters", again)
        renewed = [e for e in found
                   if (e["original"]["partition"], e["original"]["offset"]) == new]
        self.assertEqual(sorted(e["service"] for e in renewed), ["order", "payment"])
        for svc in ("order", "payment"):
            self.assertEqual(s.scalar(svc, "SELECT COUNT(*) FROM dead_letters WHERE "
                                           "src_topic = 'inventory-events' AND "
                                           f"src_partition = {new[0]} AND "
                                           f"src_offset = {new[1]}"), "1")

    def test_3_command_line(self):
        s = self.s
        code, out, err = s.sagactl("--help")
        self.assertEqual(code, 0)
        self.assertIn("usage: sagactl", out)
        for args, message in [
            (("dlq", "replay"), "dlq replay needs a selection"),
            (("dlq", "replay", "--all", "--service", "order"), "does not go with --service"),
            (("dlq", "replay", "--offset", "x"), "--offset: 'x' is not PARTITION:OFFSET"),
            (("dlq", "list", "--service", "shipping"), "unknown service 'shipping'"),
            (("dlq", "list", "--reason", "nope"), "unknown reason 'nope'"),
            (("dlq", "purge"), "unknown action 'purge'"),
            (("dlq", "list", "--frobnicate"), "unknown option '--frobnicate'"),
        ]:
            with self.subTest(args=args):
                code, out, err = s.sagactl(*args)
                self.assertEqual(code, 2, err)
                self.assertIn(message, err)
                self.assertRegex(err, r"^sagactl: [a-z-]")  # lowercase, naming what is wrong
        code, out, err = s.sagactl("dlq", "list", bootstrap=False)
        self.assertEqual(code, 2)
        self.assertIn("no kafka bootstrap servers", err)
        # -b wins over the environment; an unreachable broker is a failure, not a usage error
        code, out, err = s.sagactl("-b", "127.0.0.1:1", "--timeout-ms", "1000", "dlq", "list")
        self.assertEqual(code, 1)
        self.assertIn("cannot read the metadata of saga-dlq", err)

    def test_4_broker_restart_loses_saga_dlq_but_no_invariant(self):
        """The local broker keeps its topics in memory: `down.sh --services; up.sh`
        starts an empty one, and the dead letters recorded before are no longer on
        saga-dlq. Told when the broker started (SAGA_AUDIT_DLQ_SINCE, as audit.sh does),
        the audit reports them as lost with the broker, not as vanished (inv7); rows
        recorded after that time are still checked against the topic. The new broker's
        offsets start again at 0: a new poison message at the position a dead letter
        from before came from is dead-lettered all the same (a dead letter is unique
        per source message: position and timestamp), and the audit matches it."""
        s = self.s
        s.drain()
        recorded = sum(int(s.scalar(svc, "SELECT COUNT(*) FROM dead_letters"))
                       for svc in ("order", "payment", "inventory", "notification"))
        self.assertGreater(recorded, 0, "the earlier tests left no dead letter")
        code, out = s.audit()
        self.assertEqual(code, 0, out)

        s.restart_broker()
        self.assertEqual(s.read_topic("saga-dlq"), [], "the new broker is not empty")
        self.poison_at_an_old_position()
        # the system goes on on the new broker
        sku, customer = s.shop("restart", price=700, stock=3, balance=5000)
        placed = s.order(customer, [(sku, 1)])
        self.assertEqual(placed.status, 202, placed)
        self.assertEqual(s.wait_order(placed.json["id"])["status"], "CONFIRMED")
        s.drain()

        env = dict(os.environ)
        env.update(s.audit_env())
        # without the broker's start, the lost letters look vanished (the false violation)
        blind = dict(env)
        del blind["SAGA_AUDIT_DLQ_SINCE"]
        out = subprocess.run([os.path.join(BUILD, "tools", "saga-audit")], env=blind,
                             capture_output=True, text=True)
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        self.assertIn("is not on saga-dlq", out.stdout)
        # with it: clean, and it says what was lost
        out = subprocess.run([os.path.join(BUILD, "tools", "saga-audit")], env=env,
                             capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertRegex(out.stdout, rf"{recorded} dead letters recorded before .* lost with "
                                     r"the in-memory broker")
        # (clean: the new poison's rows, recorded after the broker's start, were matched
        # to their messages on saga-dlq, not to the rows from before at their position)
        # rows recorded after the given start are judged as always: a start before them
        # all reports every one missing from the topic
        later = dict(env, SAGA_AUDIT_DLQ_SINCE="2000-01-01T00:00:00Z")
        out = subprocess.run([os.path.join(BUILD, "tools", "saga-audit")], env=later,
                             capture_output=True, text=True)
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        self.assertIn("is not on saga-dlq", out.stdout)

    def poison_at_an_old_position(self):
        """On the new, empty broker: poison messages on inventory-events up to the
        partition and offset of a dead letter order-service recorded before the
        restart. Checks that the last one, at that very position, is dead-lettered by
        order and payment: on saga-dlq with its own timestamp, a dead_letters row beside
        the old one."""
        s = self.s
        rows = s.sql("order", "SELECT src_partition, src_offset, src_timestamp FROM dead_letters"
                              " WHERE src_topic = 'inventory-events' ORDER BY src_offset LIMIT 1")
        self.assertTrue(rows, "the earlier tests left order no dead letter on inventory-events")
        partition, offset, old_ts = (int(v) for v in rows[0])
        producer = Producer({"bootstrap.servers": s.bootstrap})
        keys = []
        for _ in range(offset + 1):  # the ones before it fill the partition up to the offset
            key = f"poison-after-restart-{uuid.uuid4()}"
            keys.append(key)
            self.poison_keys.add(key)
            producer.produce("inventory-events", key=key.encode(), value=b"not an event",
                             partition=partition)
        self.assertEqual(producer.flush(10), 0)
        target = [m for m in s.read_topic("inventory-events")
                  if (m.key() or b"").decode() == keys[-1]]
        self.assertEqual(len(target), 1)
        self.assertEqual((target[0].partition(), target[0].offset()), (partition, offset),
                         "the new broker's partition was not empty")
        new_ts = target[0].timestamp()[1]
        self.assertNotEqual(new_ts, old_ts)

        def letters():
            found = {}
            for m in s.read_topic("saga-dlq"):
                h = message_headers(m)
                if (m.key() or b"").decode() == keys[-1]:
                    found[h.get("saga-service")] = h
            return found if set(found) == {"order", "payment"} else None
        found = self.wait_for("the new poison's dead letters from order and payment", letters)
        for svc, h in sorted(found.items()):
            self.assertEqual((h["kafka_dlt-original-topic"], h["kafka_dlt-original-partition"],
                              h["kafka_dlt-original-offset"], h["kafka_dlt-exception-fqcn"]),
                             ("inventory-events", str(partition), str(offset), "INVALID_JSON"))
            self.assertEqual(h["kafka_dlt-original-timestamp"], str(new_ts))
            at = (f"SELECT COUNT(*) FROM dead_letters WHERE src_topic = 'inventory-events' AND "
                  f"src_partition = {partition} AND src_offset = {offset}")
            self.assertEqual(s.scalar(svc, f"{at} AND src_timestamp = {new_ts}"), "1")
            self.assertGreaterEqual(int(s.scalar(svc, at)), 2)  # the one from before stays


if __name__ == "__main__":
    unittest.main(verbosity=2)
