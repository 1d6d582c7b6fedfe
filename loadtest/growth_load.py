#!/usr/bin/python3
"""loadtest/growth_load.py - grows the local stack's four databases to N stored orders.

    growth_load.py --to N [--customers C] [--products P] [--items-per-order K]
                   [--mix confirmed=90,out_of_stock=4,declined=3,cancel=3]
                   [--ids v7|v4] [--chunk ORDERS] [--rate ORDERS_PER_S]
                   [--seed S] [--socket PATH] [--user U] [--json FILE]

Writes the rows a run of completed sagas leaves behind, straight into MariaDB, so that a
benchmark can run on a database that holds a shop's history instead of on an empty one:

  saga_order         orders, order_items, order_history (the API steps, the events
                     emitted and consumed, with their JSON details), inbox
  saga_payment       payments (CAPTURED or DECLINED), known_orders, cancelled_orders,
                     inbox
  saga_inventory     reservations (COMMITTED or RELEASED), order_outcomes, inbox; and
                     the stock the history sold (products.available and sold)
  saga_notification  notifications (SENT, one attempt, the rendered payload),
                     known_orders, inbox; and the wallets' balances (saga_payment)

Each order is one of four kinds, in the proportions of --mix (saga-load's default
mix): CONFIRMED; CANCELLED OUT_OF_STOCK (one line is a load-empty sku); CANCELLED
PAYMENT_DECLINED (a load-poor customer); CANCELLED CUSTOMER_REQUEST (cancelled while
PENDING, its reservation then released). The rows of each kind, their columns and their
JSON are the ones the services write (docs/PERFORMANCE.md, "Growth benchmark"), and the
stock and balances they move are taken off the products and wallets in the same
transaction, so the invariant audit (deploy/local/audit.sh) stays clean.

Customers and skus are saga-load's (load-c-*, load-poor-*, load-p-*, load-empty-*: run
loadtest/datagen.sh first with at least as many customers and products). The history
is placed in the past: the orders already stored end where the first growth began (an
hour before it), and each growth adds older orders before the oldest stored one, one
order every 1/--rate seconds, so the running system's new orders are always the newest.
--ids v7 (default) gives every id the time-ordered form the services generate
(UUIDv7); --ids v4 the random form older versions generated, to measure what that
costs.

Loading: chunks of --chunk orders; each chunk is generated as tab-separated files while
the one before it loads, and loads in one transaction (LOAD DATA LOCAL INFILE into the
fourteen tables, then the stock and balance updates): all or nothing, every commit an
ordinary durable one. Prints the rate, and with --json writes it. Standard library only.
Exit status 0 on success, 1 on a failure, 2 on bad usage.
"""
import argparse
import json
import os
import pwd
import random
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

KINDS = ("confirmed", "out_of_stock", "declined", "cancel")
POOR_CUSTOMERS = 100  # load-poor-001..100 (loadtest/datagen.sh)
EMPTY_PRODUCTS = 10  # load-empty-01..10
DEADLINE_MS = 30000  # SAGA_TIMEOUT_MS's default

# table -> (database, columns in file order)
TABLES = {
    "orders": ("saga_order", "id, customer_id, status, cancel_reason, currency, amount, "
               "payment_id, deadline, created_at, updated_at"),
    "order_items": ("saga_order", "order_id, sku, quantity, unit_price"),
    "order_history": ("saga_order",
                      "order_id, event_id, event_type, kind, status, detail, occurred_at"),
    "order_inbox": ("saga_order", "event_id, event_type, received_at"),
    "payments": ("saga_payment", "id, order_id, customer_id, amount, currency, status, "
                 "decline_reason, created_at, updated_at"),
    "payment_known": ("saga_payment", "order_id, customer_id, created_at"),
    "cancelled_orders": ("saga_payment", "order_id, customer_id, reason, created_at"),
    "payment_inbox": ("saga_payment", "event_id, event_type, received_at"),
    "reservations": ("saga_inventory", "order_id, sku, customer_id, quantity, unit_price, "
                     "status, created_at, updated_at"),
    "order_outcomes": ("saga_inventory", "order_id, customer_id, outcome, amount, created_at"),
    "inventory_inbox": ("saga_inventory", "event_id, event_type, received_at"),
    "notifications": ("saga_notification",
                      "id, order_id, customer_id, trigger_type, trigger_event_id, channel, "
                      "status, attempts, last_error, next_attempt_at, payload, traceparent, "
                      "claim_token, claimed_until, created_at, sent_at"),
    "notification_known": ("saga_notification", "order_id, customer_id, created_at"),
    "notification_inbox": ("saga_notification", "event_id, event_type, received_at"),
}
# file name -> the table it loads into
TABLE_NAME = {"order_inbox": "inbox", "payment_known": "known_orders",
              "payment_inbox": "inbox", "inventory_inbox": "inbox",
              "notification_known": "known_orders", "notification_inbox": "inbox"}

N = "\\N"  # NULL in a LOAD DATA file
# the id columns: UUIDs in the files, their 16 bytes in the tables (BINARY(16))
ID_COLUMNS = ("id", "order_id", "payment_id", "event_id", "trigger_event_id", "claim_token")


def load_columns(cols):
    """The column list and SET clause of a LOAD DATA for cols: each id column read into
    a variable and stored as its bytes, as the services store them."""
    names = [c.strip() for c in cols.split(",")]
    read = [f"@{c}" if c in ID_COLUMNS else c for c in names]
    sets = [f"{c} = UNHEX(REPLACE(@{c}, '-', ''))" for c in names if c in ID_COLUMNS]
    return f"({', '.join(read)})" + (f" SET {', '.join(sets)}" if sets else "")


class Ids:
    """UUIDs in text form: v7 (RFC 9562, a 12-bit counter within a millisecond, as
    common/src/ids.c makes them) or v4."""

    def __init__(self, version, rng):
        self.version = version
        self.rng = rng
        self.last = 0

    def new(self, ms):
        r = self.rng.getrandbits(62)
        if self.version == 4:
            a = self.rng.getrandbits(60)
            return (f"{a >> 28:08x}-{(a >> 12) & 0xffff:04x}-4{a & 0xfff:03x}-"
                    f"{0x8000 | (r >> 48):04x}-{r & 0xffffffffffff:012x}")
        state = ms << 12 | self.rng.getrandbits(11)
        if state <= self.last:
            state = self.last + 1
        self.last = state
        t = state >> 12
        return (f"{t >> 16:08x}-{t & 0xffff:04x}-7{state & 0xfff:03x}-"
                f"{0x8000 | (r >> 48):04x}-{r & 0xffffffffffff:012x}")


def db_time(ms):
    """DATETIME(3) text of a Unix time in ms (UTC)."""
    s, m = divmod(ms, 1000)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(s)) + f".{m:03d}"


def iso_time(ms):
    s, m = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + f".{m:03d}Z"


def parse_mix(spec):
    weights = dict.fromkeys(KINDS, 0)
    for part in spec.split(","):
        name, _, value = part.partition("=")
        if name not in weights or not value.isdigit():
            raise ValueError(f"bad --mix part '{part}' (kinds: {', '.join(KINDS)})")
        weights[name] = int(value)
    if not sum(weights.values()):
        raise ValueError("--mix weighs nothing")
    return weights


class Chunk:
    """The rows of one chunk of orders, as tab-separated lines per table, and the stock
    and money they move."""

    def __init__(self):
        self.rows = {name: [] for name in TABLES}
        self.sold = {}  # sku -> units sold (COMMITTED)
        self.captured = {}  # customer -> money captured

    def add(self, table, *cols):
        self.rows[table].append("\t".join(cols))


class Generator:
    def __init__(self, args, rng):
        self.args = args
        self.rng = rng
        self.ids = Ids(4 if args.ids == "v4" else 7, rng)
        self.kinds = []
        for k in KINDS:
            self.kinds += [k] * args.mix[k]

    def price(self, sku):
        if sku.startswith("load-empty-"):
            return 100 + int(sku[-2:])
        return 100 + int(sku[7:]) % 9900

    def order(self, c, t0):
        """Appends one order's rows (created at t0, Unix ms) to chunk c."""
        rng, ids, a = self.rng, self.ids, self.args
        kind = self.kinds[rng.randrange(len(self.kinds))]
        if kind == "declined":
            cust = f"load-poor-{rng.randint(1, POOR_CUSTOMERS):03d}"
        else:
            cust = f"load-c-{rng.randint(1, a.customers):06d}"
        skus = set()
        while len(skus) < a.items_per_order:
            skus.add(f"load-p-{rng.randint(1, a.products):07d}")
        skus = sorted(skus)
        if kind == "out_of_stock":
            skus[0] = f"load-empty-{rng.randint(1, EMPTY_PRODUCTS):02d}"
            skus.sort()
        lines = [(s, 1, self.price(s)) for s in skus]
        amount = sum(q * p for _, q, p in lines)
        oid = ids.new(t0)
        e_created = ids.new(t0)
        traceparent = f"00-{rng.getrandbits(128):032x}-{rng.getrandbits(64):016x}-01"
        deadline = t0 + DEADLINE_MS
        t_inv, t_pay, t_end, t_ntf = t0 + 15, t0 + 30, t0 + 45, t0 + 60
        T0, Tinv, Tpay, Tend, Tntf = (db_time(t) for t in (t0, t_inv, t_pay, t_end, t_ntf))
        items_json = ",".join(f'{{"sku":"{s}","quantity":{q}}}' for s, q, _ in lines)
        priced_json = ",".join(f'{{"sku":"{s}","quantity":{q},"unitPrice":{p}}}'
                               for s, q, p in lines)
        head = f'{{"orderId":"{oid}","customerId":"{cust}"'
        reserved = (f'{head},"amount":{amount},"currency":"EUR","items":[{priced_json}]}}')
        released = f'{{"orderId":"{oid}","items":[{items_json}],"restocked":false}}'
        hist = c.rows["order_history"]

        def history(eid, etype, hkind, status, detail, at):
            hist.append(f"{oid}\t{eid or N}\t{etype}\t{hkind}\t{status}\t{detail}\t{at}")

        def inbox(table, eid, etype, at):
            c.rows[table].append(f"{eid}\t{etype}\t{at}")

        history(None, "CreateOrder", "api", "PENDING", f'{{"traceparent":"{traceparent}"}}', T0)
        history(e_created, "OrderCreated", "emitted", "PENDING",
                f'{head},"items":[{items_json}],"currency":"EUR",'
                f'"deadline":"{iso_time(deadline)}"}}', T0)
        for table in ("payment_inbox", "inventory_inbox", "notification_inbox"):
            inbox(table, e_created, "OrderCreated", Tinv)
        c.add("payment_known", oid, cust, Tinv)
        c.add("notification_known", oid, cust, Tinv)

        if kind == "confirmed":
            e_res, e_paid, e_conf = ids.new(t_inv), ids.new(t_pay), ids.new(t_end)
            pid = ids.new(t_pay)
            c.add("orders", oid, cust, "CONFIRMED", N, "EUR", str(amount), pid, db_time(deadline),
                  T0, Tend)
            history(e_res, "InventoryReserved", "consumed", "AWAITING_PAYMENT", reserved, Tinv)
            history(e_paid, "PaymentCompleted", "consumed", "CONFIRMED",
                    f'{head},"amount":{amount},"currency":"EUR","paymentId":"{pid}"}}', Tend)
            history(e_conf, "OrderConfirmed", "emitted", "CONFIRMED",
                    f'{head},"amount":{amount},"currency":"EUR"}}', Tend)
            inbox("order_inbox", e_res, "InventoryReserved", Tinv)
            inbox("order_inbox", e_paid, "PaymentCompleted", Tend)
            c.add("payments", pid, oid, cust, str(amount), "EUR", "CAPTURED", N, Tpay, Tpay)
            inbox("payment_inbox", e_res, "InventoryReserved", Tpay)
            c.add("order_outcomes", oid, cust, "RESERVED", str(amount), Tinv)
            for s, q, p in lines:
                c.add("order_items", oid, s, str(q), str(p))
                c.add("reservations", oid, s, cust, str(q), str(p), "COMMITTED", Tinv, Tntf)
                c.sold[s] = c.sold.get(s, 0) + q
            c.captured[cust] = c.captured.get(cust, 0) + amount
            inbox("inventory_inbox", e_conf, "OrderConfirmed", Tntf)
            trigger, e_term = "OrderConfirmed", e_conf
            body = f'"trigger":"OrderConfirmed","status":"CONFIRMED","amount":{amount},' \
                   f'"currency":"EUR"'
        else:
            reason, prev = {"out_of_stock": ("OUT_OF_STOCK", "PENDING"),
                            "declined": ("PAYMENT_DECLINED", "AWAITING_PAYMENT"),
                            "cancel": ("CUSTOMER_REQUEST", "PENDING")}[kind]
            cancelled = f'{head},"reason":"{reason}","previousStatus":"{prev}"}}'
            if kind == "out_of_stock":
                e_short, e_canc = ids.new(t_inv), ids.new(t_end)
                c.add("orders", oid, cust, "CANCELLED", reason, "EUR", N, N, db_time(deadline),
                      T0, Tend)
                history(e_short, "InventoryShortage", "consumed", "CANCELLED",
                        f'{head},"shortages":[{{"sku":"{skus[0]}","requested":1,'
                        f'"available":0}}]}}', Tend)
                history(e_canc, "OrderCancelled", "emitted", "CANCELLED", cancelled, Tend)
                inbox("order_inbox", e_short, "InventoryShortage", Tend)
                c.add("order_outcomes", oid, cust, "SHORTAGE", N, Tinv)
                for s, q, _ in lines:
                    c.add("order_items", oid, s, str(q), N)
            elif kind == "declined":
                e_res, e_fail = ids.new(t_inv), ids.new(t_pay)
                e_canc, e_rel = ids.new(t_end), ids.new(t_ntf)
                c.add("orders", oid, cust, "CANCELLED", reason, "EUR", str(amount), N,
                      db_time(deadline), T0, Tend)
                history(e_res, "InventoryReserved", "consumed", "AWAITING_PAYMENT", reserved,
                        Tinv)
                history(e_fail, "PaymentFailed", "consumed", "CANCELLED",
                        f'{head},"amount":{amount},"currency":"EUR",'
                        f'"reason":"INSUFFICIENT_FUNDS"}}', Tend)
                history(e_canc, "OrderCancelled", "emitted", "CANCELLED", cancelled, Tend)
                history(e_rel, "InventoryReleased", "consumed", "CANCELLED", released, Tntf)
                inbox("order_inbox", e_res, "InventoryReserved", Tinv)
                inbox("order_inbox", e_fail, "PaymentFailed", Tend)
                inbox("order_inbox", e_rel, "InventoryReleased", Tntf)
                c.add("payments", ids.new(t_pay), oid, cust, str(amount), "EUR", "DECLINED",
                      "INSUFFICIENT_FUNDS", Tpay, Tpay)
                inbox("payment_inbox", e_res, "InventoryReserved", Tpay)
                c.add("order_outcomes", oid, cust, "RESERVED", str(amount), Tinv)
                for s, q, p in lines:
                    c.add("order_items", oid, s, str(q), str(p))
                    c.add("reservations", oid, s, cust, str(q), str(p), "RELEASED", Tinv, Tntf)
            else:  # cancelled by its customer while PENDING; inventory reserved, then released
                e_canc, e_res, e_rel = ids.new(t0 + 5), ids.new(t_inv), ids.new(t_end)
                c.add("orders", oid, cust, "CANCELLED", reason, "EUR", N, N, db_time(deadline),
                      T0, db_time(t0 + 5))
                history(None, "CancelOrder", "api", "CANCELLED",
                        f'{{"reason":"{reason}","previousStatus":"{prev}",'
                        f'"traceparent":"{traceparent}"}}', db_time(t0 + 5))
                history(e_canc, "OrderCancelled", "emitted", "CANCELLED", cancelled,
                        db_time(t0 + 5))
                history(e_res, "InventoryReserved", "consumed", "CANCELLED", reserved, Tend)
                history(e_rel, "InventoryReleased", "consumed", "CANCELLED", released, Tend)
                inbox("order_inbox", e_res, "InventoryReserved", Tend)
                inbox("order_inbox", e_rel, "InventoryReleased", Tend)
                inbox("payment_inbox", e_res, "InventoryReserved", Tpay)
                c.add("order_outcomes", oid, cust, "RESERVED", str(amount), Tinv)
                for s, q, p in lines:
                    c.add("order_items", oid, s, str(q), N)
                    c.add("reservations", oid, s, cust, str(q), str(p), "RELEASED", Tinv, Tend)
            c.add("cancelled_orders", oid, cust, reason, Tend)
            inbox("payment_inbox", e_canc, "OrderCancelled", Tend)
            inbox("inventory_inbox", e_canc, "OrderCancelled", Tend)
            trigger, e_term = "OrderCancelled", e_canc
            body = f'"trigger":"OrderCancelled","status":"CANCELLED","reason":"{reason}",' \
                   f'"previousStatus":"{prev}"'
        nid = ids.new(t_ntf)
        inbox("notification_inbox", e_term, trigger, Tntf)
        c.add("notifications", nid, oid, cust, trigger, e_term, "log", "SENT", "1", N, Tntf,
              f'{{"id":"{nid}","orderId":"{oid}","customerId":"{cust}",{body},'
              f'"createdAt":"{iso_time(t_ntf)}"}}', traceparent, N, N, Tntf, Tntf)


def sql_client(args):
    return ["mariadb", "--no-defaults", "--local-infile=1", "--protocol=socket",
            f"--socket={args.socket}", f"-u{args.user}", "-N", "-B"]


def query(args, sql):
    out = subprocess.run(sql_client(args) + ["-e", sql], check=True, capture_output=True,
                         text=True)
    return out.stdout.strip()


def write_chunk(c, d):
    """Writes chunk c's files into directory d and the SQL that loads them; returns the
    SQL file's path."""
    stmts = ["SET SESSION unique_checks = 0, foreign_key_checks = 0;", "START TRANSACTION;"]
    for name, (db, cols) in TABLES.items():
        path = os.path.join(d, name + ".tsv")
        with open(path, "w") as f:
            rows = c.rows[name]
            if rows:
                f.write("\n".join(rows))
                f.write("\n")
        if c.rows[name]:
            stmts.append(f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE "
                         f"{db}.{TABLE_NAME.get(name, name)}"
                         f" CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\'"
                         f" LINES TERMINATED BY '\\n' {load_columns(cols)};")
    with open(os.path.join(d, "sold.tsv"), "w") as f:
        f.writelines(f"{s}\t{q}\n" for s, q in c.sold.items())
    with open(os.path.join(d, "captured.tsv"), "w") as f:
        f.writelines(f"{k}\t{v}\n" for k, v in c.captured.items())
    stmts += [
        # identifiers are binary strings, as in the services' tables (exact comparison)
        "CREATE TEMPORARY TABLE saga_inventory.growth_sold (sku VARBINARY(64) PRIMARY KEY, "
        "q BIGINT NOT NULL);",
        f"LOAD DATA LOCAL INFILE '{d}/sold.tsv' INTO TABLE saga_inventory.growth_sold;",
        "UPDATE saga_inventory.products p JOIN saga_inventory.growth_sold g USING (sku) "
        "SET p.available = p.available - g.q, p.sold = p.sold + g.q;",
        "CREATE TEMPORARY TABLE saga_payment.growth_captured (customer_id VARBINARY(256) "
        "PRIMARY KEY, amount BIGINT NOT NULL);",
        f"LOAD DATA LOCAL INFILE '{d}/captured.tsv' INTO TABLE saga_payment.growth_captured;",
        "UPDATE saga_payment.wallets w JOIN saga_payment.growth_captured g USING (customer_id)"
        " SET w.balance = w.balance - g.amount;",
        # a sku or customer missing from the tables would leave the audit unbalanced
        "SELECT (SELECT COUNT(*) FROM saga_inventory.growth_sold g LEFT JOIN "
        "saga_inventory.products p USING (sku) WHERE p.sku IS NULL OR p.available < 0) + "
        "(SELECT COUNT(*) FROM saga_payment.growth_captured g LEFT JOIN saga_payment.wallets "
        "w USING (customer_id) WHERE w.customer_id IS NULL OR w.balance < 0) INTO @bad;",
        "DELIMITER //",
        "BEGIN NOT ATOMIC IF @bad <> 0 THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = "
        "'a sku or customer of the history is missing or would go negative'; END IF; END //",
        "DELIMITER ;",
        "SELECT 'ok';",
    ]
    path = os.path.join(d, "load.sql")
    with open(path, "w") as f:
        f.write("\n".join(stmts) + "\n")
    return path


def load_start(args, sql_path):
    """Starts the client on one chunk's SQL; it stops at the first error (the check's
    SIGNAL included), before the COMMIT, and the server rolls the chunk back."""
    with open(sql_path, "a") as f:
        f.write("COMMIT;\n")
    return subprocess.Popen(sql_client(args) + ["-e", f"source {sql_path}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def load_wait(p):
    out, err = p.communicate()
    if p.returncode != 0 or out.strip().splitlines()[-1:] != ["ok"]:
        raise RuntimeError(f"loading a chunk failed: {err.strip() or out.strip()}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--to", type=int, required=True, help="orders stored when done")
    ap.add_argument("--customers", type=int, default=100000)
    ap.add_argument("--products", type=int, default=1000000)
    ap.add_argument("--items-per-order", type=int, default=2)
    ap.add_argument("--mix", default="confirmed=90,out_of_stock=4,declined=3,cancel=3")
    ap.add_argument("--ids", choices=("v7", "v4"), default="v7")
    ap.add_argument("--chunk", type=int, default=50000, help="orders per transaction")
    ap.add_argument("--rate", type=float, default=50.0,
                    help="orders per second of the history's time line")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--socket", default=os.path.join(ROOT, ".local", "mysql.sock"))
    ap.add_argument("--user", default=pwd.getpwuid(os.getuid()).pw_name,
                    help="MariaDB user over the socket (the local stack's administrator is "
                         "the user running this)")
    ap.add_argument("--json", help="write the load's figures here")
    args = ap.parse_args()
    try:
        args.mix = parse_mix(args.mix)
    except ValueError as e:
        ap.error(str(e))
    if args.to < 0 or args.chunk < 1 or args.rate <= 0 or args.customers < 1 or \
            not 1 <= args.items_per_order <= min(50, args.products):
        ap.error("--to >= 0, --chunk >= 1, --rate > 0, --customers >= 1, "
                 "--items-per-order 1..min(50, --products)")
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(6), "big")
    rng = random.Random(seed)

    try:
        have = int(query(args, "SELECT COUNT(*) FROM saga_order.orders"))
        n_products = int(query(args, "SELECT COUNT(*) FROM saga_inventory.products "
                                     "WHERE sku LIKE 'load-p-%'"))
        oldest = query(args, "SELECT TIMESTAMPDIFF(MICROSECOND, '1970-01-01', "
                             "MIN(created_at)) DIV 1000 FROM saga_order.orders")
    except (subprocess.CalledProcessError, OSError) as e:
        print(f"growth_load: cannot query MariaDB over {args.socket} (start the stack: "
              f"deploy/local/up.sh): {getattr(e, 'stderr', '') or e}", file=sys.stderr)
        return 1
    if n_products < args.products:
        print(f"growth_load: {n_products} load-p products, fewer than --products "
              f"{args.products}: run loadtest/datagen.sh first", file=sys.stderr)
        return 1
    add = max(0, args.to - have)
    step_ms = 1000.0 / args.rate
    end_ms = int(float(oldest)) if oldest not in ("", "NULL") else \
        int(time.time() * 1000) - 3600 * 1000
    start_ms = end_ms - int(add * step_ms) - 1000
    print(f"growth_load: {have:,} orders stored, adding {add:,} (seed {seed}, ids "
          f"{args.ids}, {args.chunk:,} per transaction), created "
          f"{iso_time(start_ms)} .. {iso_time(end_ms)}", flush=True)

    gen = Generator(args, rng)
    work = tempfile.mkdtemp(prefix="saga-growth.")
    started = time.time()
    gen_s = 0.0
    running, prev_n, done = None, 0, 0
    try:
        i = 0
        while i < add:
            n = min(args.chunk, add - i)
            g0 = time.time()
            c = Chunk()
            for k in range(i, i + n):
                gen.order(c, start_ms + int(k * step_ms))
            d = os.path.join(work, f"chunk{i // args.chunk % 2}")
            os.makedirs(d, exist_ok=True)
            sql_path = write_chunk(c, d)
            gen_s += time.time() - g0
            if running:  # the chunk before this one, loading meanwhile
                load_wait(running)
                done += prev_n
                el = time.time() - started
                print(f"growth_load: {have + done:,} orders ({done / el:,.0f} orders/s)",
                      flush=True)
            running, prev_n = load_start(args, sql_path), n
            i += n
        if running:
            load_wait(running)
            done += prev_n
    except RuntimeError as e:
        print(f"growth_load: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    elapsed = time.time() - started
    rate = done / elapsed if elapsed > 0 and done else 0.0
    print(f"growth_load: added {done:,} orders in {elapsed:.1f} s ({rate:,.0f} orders/s; "
          f"generating {gen_s:.1f} s of it, overlapped with loading)", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"stored_before": have, "added": done, "seconds": elapsed,
                       "orders_per_s": rate, "generate_s": gen_s, "ids": args.ids,
                       "seed": seed, "items_per_order": args.items_per_order,
                       "mix": args.mix, "chunk": args.chunk}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
