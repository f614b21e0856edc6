"""Generate src/pliable/tasks/tickets.jsonl: which catalogue product a support ticket is
about. Seeded and deterministic; every template and word list here was written for pliable.

Each row: {"id", "split", "ticket", "product"}. The product is one of PRODUCTS, written in the
ticket as that name, often with a made-up brand, a colour or a size around it ("the Lumio desk
lamp", "my grey rain jacket", "the Orla kettle (pink)"); the label is the bare catalogue name.

    python scripts/gen_tickets.py src/pliable/tasks/tickets.jsonl
"""

from __future__ import annotations

import json
import random
import sys

SEED = 2024
N_TRAIN, N_DEV = 100, 60

PRODUCTS = [
    "air fryer", "backpack", "blender", "bookshelf", "camping stove", "coffee grinder",
    "desk lamp", "garden hose", "headphones", "kettle", "phone case", "printer", "rain jacket",
    "running shoes", "smart watch", "sofa cover", "toaster", "wall clock", "water bottle",
    "yoga mat",
]  # fmt: skip
BRANDS = ["Zento", "Lumio", "Harbor", "Kivo", "Norda", "Pell", "Brisk", "Orla", "Vantor", "Myka"]
COLOURS = ["red", "black", "white", "grey", "blue", "green", "silver", "pink", "yellow"]
SIZES = ["small", "large", "compact", "new", "cheap", "second-hand", "XL", "travel", "mini"]
AMOUNTS = ["$12.99", "$19.50", "$24", "$39.95", "$49", "$64.10", "$89", "$120", "$7.80",
           "$215", "£18", "£42.50", "€35", "€150"]  # fmt: skip
DAYS = ["on Monday", "on Tuesday", "on Friday", "last week", "yesterday", "three days ago",
        "two weeks ago", "this morning", "on the 14th"]  # fmt: skip
SINCE = ["Monday", "Tuesday", "last week", "the 14th", "the weekend", "early May"]
CITIES = ["Leeds", "Denver", "Lyon", "Osaka", "Porto", "Austin", "Cork", "Malmo", "Perth"]
NAMES = ["Sam", "Priya", "Tom", "Ana", "Jonas", "Mei", "Lucas", "Fatima", "Olga", "Dev"]

# {p} is the product mention; the other slots are details that are not the answer.
TEMPLATES = [
    "I was charged twice for the {p}. Please refund the extra {amount}.",
    "My {p} still has not arrived. It was supposed to come {day}.",
    "The {p} arrived broken and the box was crushed.",
    "Can I change the delivery address for my {p}? I moved to {city}.",
    "Tracking for the {p} has said 'in transit' since {since}.",
    "I paid {amount} for the {p} but the receipt shows a different price.",
    "Please cancel order {order}, I picked the wrong {p} by mistake.",
    "The {p} was marked delivered {day} but nothing is at my door.",
    "The {p} is missing from the box; everything else came.",
    "Is it possible to upgrade the {p} to express delivery?",
    "I sent back the {p} {day} and I am still waiting for my {amount} refund.",
    "My payment for the {p} was declined but {amount} left my account anyway.",
    "Could you send an invoice for the {p} to my company in {city}?",
    "I ordered two of the {p} in order {order} but only got one.",
    "The {p} I received is the wrong colour.",
    "The discount code did not work on the {p}, so I paid {amount} too much.",
    "Please call me about my {p}, it is faulty.",
    "My {p} has been stuck at customs in {city} since {since}.",
    "I need to return the {p}. How do I get a label?",
    "The courier left my {p} with a neighbour, but they are away.",
    "My {p} came with a big scratch on it.",
    "I bought the {p} for {amount} and it stopped working after a week.",
    "Can you confirm that my {p} has shipped? I ordered it {day}.",
    "Gift wrap was paid for but the {p} came unwrapped.",
    "When will the {p} be back in stock?",
    "I would like to swap the {p} for a bigger one.",
    "The warranty card is missing from the box of my {p}.",
    "Does the {p} come with a charger or batteries?",
    "The {p} makes a strange noise when I use it.",
    "The instructions for the {p} are only in German.",
    "Is the {p} still on sale for {amount}?",
    "Do you ship the {p} to {city}, and how long does it take?",
    "The {p} smells of burnt plastic after one use.",
    "One of the screws for the {p} was not in the pack.",
    "I left a review of the {p} {day} but it never appeared.",
    "My order {order} says the {p} is delayed again.",
    "Can I pay for the {p} in instalments?",
    "The price of the {p} went up by {amount} after I put it in my basket.",
    "The {p} is much smaller than it looks in the photos.",
    "You refunded {amount} for the {p}, but I paid more than that.",
]
OPENERS = ["", "", "", "", "Hi, ", "Hello, ", "Hi there. ", "Good morning. ", "Urgent: ",
           "Hey team, "]  # fmt: skip
CLOSERS = ["", "", "", "", " Thanks.", " Please help.", " Thank you!", " Regards, {name}.",
           " This is really frustrating.", " Cheers, {name}."]  # fmt: skip


def mention(rng: random.Random, product: str) -> str:
    """The product as a customer writes it: bare, or with a brand, colour or size."""
    roll = rng.random()
    if roll < 0.35:
        return product
    if roll < 0.55:
        return f"{rng.choice(BRANDS)} {product}"
    if roll < 0.75:
        return f"{rng.choice(COLOURS)} {product}"
    if roll < 0.9:
        return f"{rng.choice(SIZES)} {product}"
    return f"{rng.choice(BRANDS)} {product} ({rng.choice(COLOURS)})"


def ticket(rng: random.Random, template: str, product: str) -> str:
    body = template.format(
        p=mention(rng, product),
        amount=rng.choice(AMOUNTS),
        day=rng.choice(DAYS),
        since=rng.choice(SINCE),
        city=rng.choice(CITIES),
        order=f"#{rng.randint(10000, 99999)}",
    )
    opener = rng.choice(OPENERS)
    if opener.endswith(", ") and not body.startswith("I "):
        body = body[0].lower() + body[1:]
    text = opener + body + rng.choice(CLOSERS).format(name=rng.choice(NAMES))
    return text[0].upper() + text[1:]


def main() -> None:
    rng = random.Random(SEED)
    total = N_TRAIN + N_DEV
    products = [PRODUCTS[i % len(PRODUCTS)] for i in range(total)]  # 8 of each
    rng.shuffle(products)
    rows = [
        {"ticket": ticket(rng, TEMPLATES[i % len(TEMPLATES)], products[i]), "product": products[i]}
        for i in range(total)
    ]
    rng.shuffle(rows)
    out = sys.argv[1] if len(sys.argv) > 1 else "tickets.jsonl"
    with open(out, "w", encoding="utf-8") as fh:
        for i, row in enumerate(rows):
            split = "train" if i < N_TRAIN else "dev"
            record = {"id": f"t{i:03d}", "split": split, **row}
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"wrote {total} rows to {out}")


if __name__ == "__main__":
    main()
