"""Generate src/pliable/tasks/multihop/: a small two-hop QA task over its own corpus.

Everything here is invented for pliable: a fictional world of people, towns, rivers, mountains,
lakes, companies and musical instruments, with made-up names, so no model can answer from
memory. Seeded and deterministic; every name, template and word list was written for pliable.

The world is a set of functions (each person is born in one town, each town has one river, ...).
From it the script writes

* ``corpus.jsonl``: ``{"id", "title", "text"}``, one short passage (2-4 sentences) per entity,
  naming the entities it links to, plus distractor passages that share names and words
  ("Drassel Fair", "the Venkt family", "Corrin trout") so keyword retrieval is not trivial;
* ``questions.jsonl``: ``{"id", "split", "question", "answer", "hops", "bridge", "chain"}``,
  two-hop questions along eight relation chains. ``hops`` are the ids of the two supporting
  passages: hop 1 is found from the question and names the ``bridge`` entity; hop 2 is found
  from the bridge and holds the ``answer``. The question names neither. The first 80 rows are
  ``"train"``, the rest ``"dev"``.

The script asserts that every chain is unambiguous in the corpus and prints how often a tiny
BM25 over the raw question finds each hop in its top 3 (hop 1 often, hop 2 rarely: that is what
makes the second hop necessary).

    python scripts/gen_multihop.py src/pliable/tasks/multihop
"""

from __future__ import annotations

import json
import math
import random
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SEED = 2025
N_TRAIN = 80
TOP_K = 3

# --- names (all invented) -------------------------------------------------------------------

FIRST_NAMES = [
    "Tamsin", "Ilo", "Marek", "Sefa", "Joren", "Wenna", "Kasko", "Linnet", "Dorrin", "Rael",
    "Ysolde", "Bramwel", "Fennick", "Odile", "Corwen", "Maelis", "Tobin", "Anka", "Hesper",
    "Nuala",
]  # fmt: skip
SURNAMES = [
    "Venkt", "Quarn", "Ebbow", "Tallith", "Morrand", "Kestle", "Briskel", "Oddny", "Farrant",
    "Yarrowby", "Pellick", "Sorvane", "Gault", "Wickam",
]  # fmt: skip
TOWNS = [
    "Drassel", "Hobbin", "Vorrelt", "Amberlo", "Teskwin", "Fallowby", "Brinnet", "Caddow",
    "Grellin", "Issendor", "Kaldern", "Marrowick", "Nesselby", "Ostrin", "Pruvel", "Quenlow",
    "Rathmoor", "Sallowen", "Tunder", "Wennick",
]  # fmt: skip
RIVERS = [
    "Ambry", "Corrin", "Dask", "Elvin", "Fennow", "Gorra", "Hesk", "Irrow", "Jessel", "Kell",
    "Lorrow", "Mirrin", "Nask", "Olla", "Pettle",
]  # fmt: skip
MOUNTAINS = [
    "Tarrow", "Brenn", "Cald", "Eskar", "Fyle", "Gorm", "Harl", "Ivvin", "Jorra", "Kesh",
    "Loth", "Morv", "Norrag", "Ossin", "Pelk",
]  # fmt: skip
LAKES = ["Orrin", "Quist", "Relm", "Sorra", "Tamm", "Ulvary", "Wend", "Yelt"]
# company name -> what it makes
COMPANIES = {
    "Brackle Works": "iron gates", "Dunmoth Mills": "flour", "Cobbet Ropes": "rope",
    "Elsting Glass": "glass jars", "Grummet Foods": "jam", "Jollin Paper": "paper",
    "Kettick Boats": "small boats", "Lanver Tools": "garden tools", "Mossop Bakery": "bread",
    "Nettlin Soap": "soap", "Parrock Toys": "wooden toys", "Rundle Lamps": "lamps",
    "Stavin Clocks": "clocks", "Tuller Bricks": "bricks", "Wimbrel Cloth": "wool cloth",
}  # fmt: skip
# instrument -> (kind, what it has)
INSTRUMENTS = {
    "skellow": ("string", "six strings"), "varrin": ("string", "four strings"),
    "tindle": ("wind", "five holes"), "moorhorn": ("wind", "a long brass bell"),
    "quelt": ("drum", "a goatskin top"), "drubble": ("drum", "two heads"),
    "fenlute": ("string", "twelve strings"), "pibrel": ("wind", "three reeds"),
    "sathe": ("string", "a curved neck"), "brummet": ("wind", "a wide mouth"),
    "lirra": ("string", "a round body"), "gorrow": ("drum", "a wooden frame"),
}  # fmt: skip
JOBS = ["baker", "painter", "sailor", "teacher", "farmer", "doctor", "singer", "builder",
        "weaver", "potter", "fisher", "tailor"]  # fmt: skip

# Words that are part of names but also ordinary words; ignored when checking that a question
# does not give away its bridge or answer.
GENERIC = {"river", "mount", "lake", "the"} | {c.split()[1].lower() for c in COMPANIES}

# --- flavour (no entity names in these) -----------------------------------------------------

TOWN_FLAVOUR = [
    "The town is known for its apples.",
    "The town has a busy market.",
    "The town is known for its cheese.",
    "Most houses in the town are made of stone.",
    "The town has an old clock tower.",
    "The town is known for its wool.",
    "The town has a small harbour for boats.",
    "Bees and honey are common there.",
]
RIVER_FLAVOUR = [
    "Its water is cold and clear.",
    "It is slow and wide.",
    "It is fast and narrow.",
    "Many fish live in it.",
    "It freezes in winter.",
    "Its banks are full of reeds.",
]
MOUNTAIN_LOOKS = ["tall", "rocky", "green", "steep", "round", "snowy"]
MOUNTAIN_FLAVOUR = [
    "Goats live on its slopes.",
    "Snow stays on top all year.",
    "A narrow path leads to the top.",
    "Pine trees cover its lower slopes.",
    "Climbers need two days to reach the top.",
    "Eagles nest on its cliffs.",
]
LAKE_LOOKS = ["deep", "cold", "wide", "calm", "dark", "shallow"]
LAKE_FLAVOUR = [
    "Swans swim on it in summer.",
    "It has a small island in the middle.",
    "People skate on it in winter.",
    "Its water looks green.",
    "Fishing boats go out on it at dawn.",
]
INSTRUMENT_FLAVOUR = [
    "It is played at weddings.",
    "It has a soft, low sound.",
    "It is hard to learn.",
    "Children often learn it first.",
    "It is loud enough for dances.",
]


@dataclass
class World:
    """The facts. Every relation is a function, so every chain has exactly one answer."""

    people: list[str] = field(default_factory=list)
    job: dict[str, str] = field(default_factory=dict)
    born_in: dict[str, str] = field(default_factory=dict)  # person -> town
    plays: dict[str, str] = field(default_factory=dict)  # person -> instrument
    founded: dict[str, str] = field(default_factory=dict)  # person -> company
    river_of: dict[str, str] = field(default_factory=dict)  # town -> river
    mountain_near: dict[str, str] = field(default_factory=dict)  # town -> mountain
    source_of: dict[str, str] = field(default_factory=dict)  # river -> mountain
    lake_of: dict[str, str] = field(default_factory=dict)  # river -> lake
    based_in: dict[str, str] = field(default_factory=dict)  # company -> town
    made_in: dict[str, str] = field(default_factory=dict)  # instrument -> town


def river(name: str) -> str:
    return f"{name} River"


def mountain(name: str) -> str:
    return f"Mount {name}"


def lake(name: str) -> str:
    return f"Lake {name}"


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def river_id(name: str) -> str:
    return f"river-{slug(name.removesuffix(' River'))}"


def cover(rng: random.Random, items: Sequence[str], n: int) -> list[str]:
    """``n`` items, each of ``items`` at least once (n >= len(items)), in random order."""
    picks = list(items) + [rng.choice(items) for _ in range(n - len(items))]
    rng.shuffle(picks)
    return picks


def build_world(rng: random.Random) -> World:
    w = World()
    # 40 people: 20 first names x 2, surnames spread so that names share words.
    firsts = FIRST_NAMES * 2
    lasts = cover(rng, SURNAMES, len(firsts))
    seen: set[str] = set()
    for first, last in zip(firsts, lasts, strict=True):
        while f"{first} {last}" in seen:
            last = rng.choice(SURNAMES)
        seen.add(f"{first} {last}")
        w.people.append(f"{first} {last}")
    rng.shuffle(w.people)

    rivers = [river(r) for r in RIVERS]
    mountains = [mountain(m) for m in MOUNTAINS]
    lakes = [lake(x) for x in LAKES]
    w.river_of = dict(zip(TOWNS, cover(rng, rivers, len(TOWNS)), strict=True))
    w.mountain_near = dict(zip(TOWNS, cover(rng, mountains, len(TOWNS)), strict=True))
    for r in rivers:  # a river never begins on a mountain that stands near one of its towns
        near = {w.mountain_near[t] for t in TOWNS if w.river_of[t] == r}
        w.source_of[r] = rng.choice([m for m in mountains if m not in near])
    w.lake_of = dict(zip(rivers, cover(rng, lakes, len(rivers)), strict=True))

    births = TOWNS * 2
    rng.shuffle(births)
    w.born_in = dict(zip(w.people, births, strict=True))
    w.job = {p: rng.choice(JOBS) for p in w.people}
    w.made_in = dict(zip(INSTRUMENTS, rng.sample(TOWNS, len(INSTRUMENTS)), strict=True))
    # Each person plays one instrument not first made in their own birth town.
    players = cover(rng, list(INSTRUMENTS), len(w.people))
    for person, instrument in zip(w.people, players, strict=True):
        while w.made_in[instrument] == w.born_in[person]:
            instrument = rng.choice(list(INSTRUMENTS))
        w.plays[person] = instrument
    # 15 founders; a company is never based in its founder's birth town.
    founders = rng.sample(w.people, len(COMPANIES))
    for person, company in zip(founders, COMPANIES, strict=True):
        w.founded[person] = company
        w.based_in[company] = rng.choice([t for t in TOWNS if t != w.born_in[person]])
    return w


# --- corpus ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Passage:
    id: str
    title: str
    text: str


def entity_passages(w: World, rng: random.Random) -> list[Passage]:
    out: list[Passage] = []
    for p in sorted(w.people):
        first = p.split()[0]
        text = f"{p} is a {w.job[p]}. {first} was born in {w.born_in[p]}."
        text += f" {first} plays the {w.plays[p]}."
        if p in w.founded:
            text += f" {first} founded {w.founded[p]}."
        out.append(Passage(f"person-{slug(p)}", p, text))
    for t in TOWNS:
        text = (
            f"{t} is a small town. The {w.river_of[t]} runs through {t}. "
            f"{w.mountain_near[t]} stands near the town. {rng.choice(TOWN_FLAVOUR)}"
        )
        out.append(Passage(f"town-{slug(t)}", t, text))
    for r in sorted(w.source_of):
        text = (
            f"The {r} begins on {w.source_of[r]}. It flows into {w.lake_of[r]}. "
            f"{rng.choice(RIVER_FLAVOUR)}"
        )
        out.append(Passage(river_id(r), r, text))
    for m in (mountain(x) for x in MOUNTAINS):
        text = f"{m} is a {rng.choice(MOUNTAIN_LOOKS)} mountain. {rng.choice(MOUNTAIN_FLAVOUR)}"
        out.append(Passage(f"mountain-{slug(m.removeprefix('Mount '))}", m, text))
    for lk in (lake(x) for x in LAKES):
        text = f"{lk} is a {rng.choice(LAKE_LOOKS)} lake. {rng.choice(LAKE_FLAVOUR)}"
        out.append(Passage(f"lake-{slug(lk.removeprefix('Lake '))}", lk, text))
    for c, product in COMPANIES.items():
        text = (
            f"{c} is a company that makes {product}. It is based in {w.based_in[c]}. "
            f"It has {rng.choice([12, 30, 45, 80, 150, 300])} workers."
        )
        out.append(Passage(f"company-{slug(c)}", c, text))
    for i, (kind, parts) in INSTRUMENTS.items():
        text = (
            f"The {i} is a {kind} instrument with {parts}. The {i} was first made in "
            f"{w.made_in[i]}. {rng.choice(INSTRUMENT_FLAVOUR)}"
        )
        out.append(Passage(f"instrument-{i}", f"{i[0].upper()}{i[1:]}", text))
    return out


# Distractors share a name's word but state no fact of the world. {x} is the shared word.
TOWN_DISTRACTORS = [
    ("{x} Fair", "The {x} Fair is held every autumn. People come to buy apples, wool and honey."),
    (
        "{x} School",
        "{x} School is an old school with a red roof. Many children who were born "
        "nearby learn to read and sing there.",
    ),
    ("{x} Bridge", "The {x} Bridge is made of grey stone. It was rebuilt after a big flood."),
    ("{x} Choir", "The {x} Choir sings in the town hall. It was founded by local farmers."),
]
FAMILY = ("{x} family", "The {x} family keeps a large farm. Many of them play music at "
                        "weddings, and most were born in small towns.")  # fmt: skip
TROUT = ("{x} trout", "The {x} trout is a small silver fish. Anglers catch it in spring.")
HUT = ("{x} Hut", "{x} Hut is a stone hut for walkers. It has six beds and a stove.")
CLUB = ("{x} Club", "The {x} Club meets every week. Its members play old songs together.")
STREET = ("{x} Street", "{x} Street is a quiet street with small shops. A company once made "
                        "candles there.")  # fmt: skip
GENERIC_DISTRACTORS = [
    (
        "River towns",
        "Many towns are built where a river runs through a valley. "
        "The river gives them water and fish.",
    ),
    (
        "Mountain villages",
        "Some villages stand near a mountain. The people who were born "
        "there are used to cold winters.",
    ),
    (
        "Folk music",
        "Folk musicians often play an instrument that was first made long ago. "
        "Most of them learn by ear.",
    ),
    (
        "Lakes of the north",
        "In the north, many rivers flow into a lake. The lakes freeze in deep winter.",
    ),
    (
        "Small companies",
        "A small company is often based in the town where its founder was "
        "born. Many were founded by families.",
    ),
    (
        "Mountain springs",
        "A river often begins on a mountain as a small spring. It grows as it flows down.",
    ),
]


def distractor_passages(w: World, rng: random.Random) -> list[Passage]:
    def make(kind: str, tpl: tuple[str, str], x: str) -> Passage:
        title, text = tpl[0].format(x=x), tpl[1].format(x=x)
        return Passage(f"{kind}-{slug(title)}", title, text)

    out = [make("misc", TOWN_DISTRACTORS[i % 4], t) for i, t in enumerate(TOWNS)]
    out += [make("misc", FAMILY, s) for s in SURNAMES]
    out += [make("misc", TROUT, r) for r in RIVERS]
    out += [make("misc", HUT, m) for m in rng.sample(MOUNTAINS, 8)]
    out += [make("misc", CLUB, i.capitalize()) for i in INSTRUMENTS]
    out += [make("misc", STREET, c.split()[0]) for c in rng.sample(list(COMPANIES), 10)]
    out += [Passage(f"misc-{slug(t)}", t, x) for t, x in GENERIC_DISTRACTORS]
    return out


# --- questions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    chain: str
    question: str
    start: str  # the entity the question names
    bridge: str
    answer: str
    hops: tuple[str, str]


def person_id(p: str) -> str:
    return f"person-{slug(p)}"


def all_questions(w: World) -> dict[str, list[Question]]:
    """Every question of every chain; the chain's name reads start -> bridge -> answer."""
    town_id = {t: f"town-{slug(t)}" for t in TOWNS}
    chains: dict[str, list[Question]] = {k: [] for k in "ABCDEFGH"}
    for p in w.people:
        t = w.born_in[p]
        chains["A"].append(Question(
            "person-born-town-river", f"Which river runs through the town where {p} was born?",
            p, t, w.river_of[t], (person_id(p), town_id[t])))  # fmt: skip
        chains["B"].append(Question(
            "person-born-town-mountain",
            f"Which mountain stands near the town where {p} was born?",
            p, t, w.mountain_near[t], (person_id(p), town_id[t])))  # fmt: skip
        i = w.plays[p]
        chains["C"].append(Question(
            "person-plays-instrument-town",
            f"In which town was the instrument that {p} plays first made?",
            p, i, w.made_in[i], (person_id(p), f"instrument-{i}")))  # fmt: skip
        if p in w.founded:
            c = w.founded[p]
            chains["D"].append(Question(
                "person-founded-company-town",
                f"In which town is the company that {p} founded based?",
                p, c, w.based_in[c], (person_id(p), f"company-{slug(c)}")))  # fmt: skip
    for c in COMPANIES:
        t = w.based_in[c]
        chains["E"].append(Question(
            "company-town-river", f"Which river runs through the town where {c} is based?",
            c, t, w.river_of[t], (f"company-{slug(c)}", town_id[t])))  # fmt: skip
    for t in TOWNS:
        r = w.river_of[t]
        chains["F"].append(Question(
            "town-river-lake", f"Which lake does the river that runs through {t} flow into?",
            t, r, w.lake_of[r], (town_id[t], river_id(r))))  # fmt: skip
        chains["G"].append(Question(
            "town-river-mountain",
            f"On which mountain does the river that runs through {t} begin?",
            t, r, w.source_of[r], (town_id[t], river_id(r))))  # fmt: skip
    for i in INSTRUMENTS:
        t = w.made_in[i]
        chains["H"].append(Question(
            "instrument-town-river",
            f"Which river runs through the town where the {i} was first made?",
            i, t, w.river_of[t], (f"instrument-{i}", town_id[t])))  # fmt: skip
    return chains


# How many questions to keep from each chain (160 in all).
QUOTA = {"A": 30, "B": 26, "C": 30, "D": 15, "E": 15, "F": 16, "G": 16, "H": 12}


# --- checks ---------------------------------------------------------------------------------


def mentions(text: str, name: str) -> bool:
    """Whether ``text`` names ``name`` as whole words (case-insensitive)."""
    pattern = rf"(?<![A-Za-z]){re.escape(name)}(?![A-Za-z])"
    return re.search(pattern, text, re.IGNORECASE) is not None


def tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def check_names(w: World) -> None:
    """Names are unique, and no word of a place, company or instrument name is reused by
    another entity (people share first names and surnames on purpose, with each other only)."""
    assert len(set(w.people)) == len(w.people) == 40
    owner: dict[str, str] = {}
    company_words = [c.split()[0] for c in COMPANIES]
    groups: list[Iterable[str]] = [
        TOWNS,
        RIVERS,
        MOUNTAINS,
        LAKES,
        INSTRUMENTS,
        company_words,
        FIRST_NAMES + SURNAMES,
    ]
    for g, names in enumerate(groups):
        for name in names:
            for tok in tokens(name):
                assert owner.get(tok, str(g)) == str(g), f"word {tok!r} used by two groups"
                owner[tok] = str(g)
    template_words = set(tokens(" ".join(
        TOWN_FLAVOUR + RIVER_FLAVOUR + MOUNTAIN_FLAVOUR + LAKE_FLAVOUR + INSTRUMENT_FLAVOUR
        + [x for pair in TOWN_DISTRACTORS + GENERIC_DISTRACTORS for x in pair]
        + list(FAMILY + TROUT + HUT + CLUB + STREET) + JOBS + list(COMPANIES.values())
    )))  # fmt: skip
    clash = template_words & set(owner)
    assert not clash, f"name words also used as ordinary words: {sorted(clash)}"


def check_question(q: Question, corpus: dict[str, Passage]) -> None:
    h1, h2 = corpus[q.hops[0]].text, corpus[q.hops[1]].text
    assert q.answer != q.bridge, q
    assert q.start not in (q.bridge, q.answer), q
    assert mentions(q.question, q.start), q
    # The question gives away neither the bridge nor the answer, not even one word of them.
    for name in (q.bridge, q.answer):
        assert not mentions(q.question, name), q
        for tok in set(tokens(name)) - GENERIC:
            assert tok not in tokens(q.question), (tok, q)
    # Hop 1 names the start and the bridge, not the answer; hop 2 names the bridge and the answer.
    assert mentions(h1, q.start), q
    assert mentions(h1, q.bridge), q
    assert not mentions(h1, q.answer), q
    assert mentions(h2, q.bridge), q
    assert mentions(h2, q.answer), q
    # No other passage links the start to the bridge, or the bridge to an answer of the same
    # kind, so the chain has exactly one reading in the corpus.
    for pid, p in corpus.items():
        if pid != q.hops[0]:
            assert not (mentions(p.text, q.start) and mentions(p.text, q.bridge)), (pid, q)
        if pid != q.hops[1]:
            assert not (mentions(p.text, q.bridge) and mentions(p.text, q.answer)), (pid, q)


# --- a tiny BM25 ----------------------------------------------------------------------------


class BM25:
    """Okapi BM25 over lowercase word tokens (no stemming, no stopwords)."""

    def __init__(self, docs: Sequence[str], k1: float = 1.2, b: float = 0.75) -> None:
        self.docs = [Counter(tokens(d)) for d in docs]
        self.lengths = [sum(d.values()) for d in self.docs]
        self.avg = sum(self.lengths) / len(self.docs)
        df = Counter(tok for d in self.docs for tok in d)
        n = len(self.docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.k1, self.b = k1, b

    def top(self, query: str, k: int) -> list[int]:
        q = tokens(query)
        scores = []
        for i, (doc, length) in enumerate(zip(self.docs, self.lengths, strict=True)):
            s = 0.0
            for t in q:
                f = doc.get(t, 0)
                if f:
                    norm = f + self.k1 * (1 - self.b + self.b * length / self.avg)
                    s += self.idf[t] * f * (self.k1 + 1) / norm
            scores.append((-s, i))
        return [i for _, i in sorted(scores)[:k]]


def rate(qs: Sequence[Question], hit: Callable[[Question], bool]) -> float:
    return sum(hit(q) for q in qs) / len(qs)


def main() -> None:
    rng = random.Random(SEED)
    world = build_world(rng)
    check_names(world)
    passages = entity_passages(world, rng) + distractor_passages(world, rng)
    corpus = {p.id: p for p in passages}
    assert len(corpus) == len(passages), "duplicate passage id"

    chains = all_questions(world)
    picked: list[Question] = []
    for key, quota in QUOTA.items():
        picked += rng.sample(chains[key], quota)
    rng.shuffle(picked)
    for q in picked:
        check_question(q, corpus)
    assert len({q.question for q in picked}) == len(picked)
    for name in {q.chain for q in picked}:  # every chain in both splits
        assert any(q.chain == name for q in picked[:N_TRAIN]), name
        assert any(q.chain == name for q in picked[N_TRAIN:]), name

    ids = list(corpus)
    bm25 = BM25([p.text for p in passages])  # like pliable's retrievers: the text only

    def found(query: str, pid: str) -> bool:
        return ids.index(pid) in bm25.top(query, TOP_K)

    hop1 = rate(picked, lambda q: found(q.question, q.hops[0]))
    hop2 = rate(picked, lambda q: found(q.question, q.hops[1]))
    hop2_bridge = rate(picked, lambda q: found(f"{q.question} {q.bridge}", q.hops[1]))
    hop2_notes = rate(picked, lambda q: found(f"{q.question} {corpus[q.hops[0]].text}", q.hops[1]))

    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "corpus.jsonl", "w", encoding="utf-8") as fh:
        for p in passages:
            fh.write(json.dumps({"id": p.id, "title": p.title, "text": p.text}) + "\n")
    with open(out / "questions.jsonl", "w", encoding="utf-8") as fh:
        for n, q in enumerate(picked):
            record = {
                "id": f"q{n:03d}",
                "split": "train" if n < N_TRAIN else "dev",
                "question": q.question,
                "answer": q.answer,
                "hops": list(q.hops),
                "bridge": q.bridge,
                "chain": q.chain,
            }
            fh.write(json.dumps(record) + "\n")

    n_distractors = sum(p.id.startswith("misc-") for p in passages)
    print(f"wrote {len(passages)} passages ({n_distractors} distractors) to {out / 'corpus.jsonl'}")
    print(f"wrote {len(picked)} questions ({N_TRAIN} train / {len(picked) - N_TRAIN} dev) "
          f"to {out / 'questions.jsonl'}")  # fmt: skip
    for name, count in sorted(Counter(q.chain for q in picked).items()):
        print(f"  {name:32s} {count}")
    print(f"BM25 top {TOP_K} for the question alone: hop 1 in {hop1:.0%}, hop 2 in {hop2:.0%}")
    print(f"BM25 top {TOP_K} for question + bridge name: hop 2 in {hop2_bridge:.0%}")
    print(f"BM25 top {TOP_K} for question + hop-1 text: hop 2 in {hop2_notes:.0%}")
    assert hop1 >= 0.8, "the question alone should usually find the first hop"
    assert hop2 <= 0.2, "the question alone should rarely find the second hop"


if __name__ == "__main__":
    main()
