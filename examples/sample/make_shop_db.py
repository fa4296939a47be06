"""Builds examples/sample/shop.db, the demo's small SQLite database.

Deterministic: the same file content every time (run it to rebuild).
"""
import os
import random
import sqlite3
import sys

path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "shop.db")
if os.path.exists(path):
    os.remove(path)
rng = random.Random(42)
db = sqlite3.connect(path)
db.executescript(
    """
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        email TEXT NOT NULL UNIQUE,
        name TEXT,
        country TEXT,
        signed_up DATE,
        updated_at DATETIME NOT NULL
    );
    CREATE TABLE products (
        sku TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        price NUMERIC NOT NULL,
        in_stock BOOLEAN NOT NULL
    );
    CREATE TABLE orders (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        sku TEXT NOT NULL REFERENCES products(sku),
        quantity INTEGER NOT NULL,
        amount REAL NOT NULL,
        note TEXT,
        updated_at DATETIME NOT NULL
    );
    CREATE VIEW order_totals AS
        SELECT user_id, COUNT(*) AS orders, SUM(amount) AS total FROM orders GROUP BY user_id;
    """
)
countries = ["FR", "DE", "US", "JP", "BR", "IN"]
names = ["Ada", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "Zoë", "José"]
for i in range(1, 51):
    db.execute(
        "INSERT INTO users VALUES (?,?,?,?,?,?)",
        (i, f"user{i}@example.com", f"{rng.choice(names)} {i}", rng.choice(countries),
         f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
         f"2024-12-{rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00"),
    )
for i in range(1, 21):
    db.execute("INSERT INTO products VALUES (?,?,?,?)",
               (f"SKU-{i:03d}", f"Product {i}", round(rng.uniform(2, 200), 2), rng.random() > 0.2))
for i in range(1, 201):
    q = rng.randint(1, 5)
    db.execute(
        "INSERT INTO orders VALUES (?,?,?,?,?,?,?)",
        (i, rng.randint(1, 50), f"SKU-{rng.randint(1, 20):03d}", q, round(q * rng.uniform(2, 200), 2),
         rng.choice([None, "gift", "express", "fragile ☂"]),
         f"2025-01-{rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00"),
    )
db.commit()
db.execute("VACUUM")
db.close()
