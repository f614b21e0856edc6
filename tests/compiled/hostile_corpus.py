"""Hostile compiled-program files, made from valid ones (used by ``test_hostile_files.py``).

:func:`valid_files` saves a few real programs with the public API (``pl.save``): a ``Predict``,
one with an LM and a ``ChainOfThought``, a signature with every kind of type, a template
adapter, a ``RAG``, a ``MultiHopQA``, a ``ReAct`` and a KNN program. :func:`hostile_files`
reads them back and writes mutations of them that pliable must refuse with a
``CompiledFileError``, without importing or calling anything they name, sending anything
anywhere, writing anything or hanging:

1. ``module:callable`` names pointing at the target module (whose import is recorded) and at
   ``os:abort``, ``sys:exit``, ``builtins:input`` and ``http.server:test`` in every place a
   name can go: the program, adapters, type refs at every nesting, the KNN embedder, the
   program config (retrievers, tools), the soft-prompt section.
2. Endpoints, keys, headers, cache paths, retries and timeouts in the LM options and in the
   predictor config; LM model names that are paths, empty or not strings.
3. Wrong types in every field, unknown kinds, bad names, bad signatures, demos and reports.
4. Size and nesting: 100k-deep JSON, a 10 MB string, a 5000-digit integer, 10^5 predictors.
5. Files that are not a JSON object: not JSON, arrays, empty, UTF-16 / Latin-1 bytes.

The generator depends on the compiled-file format (``schema_version``, ``program``,
``predictors{name: kind, signature, demos, adapter, adapter_config, lm, config}``, ``report``,
``knn``, ``program_config``, ``soft_prompt``): when that changes, it raises instead of writing
mutations of fields that no longer exist. Every cache path a hostile file names is under
``tmp_dir / CACHE_SUBDIR``; files that name the dangerous real callables come last.
"""

import copy
import enum
import gzip
import json
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

import pliable as pl

__all__ = [
    "CACHE_SUBDIR",
    "DANGEROUS_NAMES",
    "SECRET",
    "TARGET_CALLABLES",
    "Addr",
    "Color",
    "Person",
    "Typed",
    "hostile_files",
    "hostile_ids",
    "load_kwargs",
    "search",
    "valid_files",
]

CACHE_SUBDIR = "hostile-cache"
SECRET = "sk-from-a-hostile-file"
# real callables that abort, exit, block on stdin and serve forever: named in files only
DANGEROUS_NAMES = ("os:abort", "sys:exit", "builtins:input", "http.server:test")
# what the target module defines (each records its call or instantiation)
TARGET_CALLABLES = (
    "boom",
    "evil_tool",
    "Evil",
    "EvilAdapter",
    "EvilProgram",
    "EvilRetriever",
    "EvilEmbedder",
    "Color",
    "Addr",
    "Person",
)
_SELF = ("predictors", "self")

# --- the valid programs --------------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Addr(BaseModel):
    city: str


class Person(BaseModel):
    name: str
    age: int
    addr: Addr


class Typed(pl.Signature):
    """Sort the text into typed fields."""

    text: str = pl.InputField(desc="a paragraph")
    color: Color = pl.OutputField()
    colors: list[Color] = pl.OutputField()
    color_by_name: dict[str, Color] = pl.OutputField()
    maybe_color: Color | None = pl.OutputField()
    person: Person = pl.OutputField()
    people: list[Person] = pl.OutputField()
    person_by_name: dict[str, Person] = pl.OutputField()
    maybe_person: Person | None = pl.OutputField()
    tone: Literal["neutral", "angry"] = pl.OutputField()
    count: int = pl.OutputField()
    tags: list[str] = pl.OutputField()


def search(query: str) -> str:
    """Search the notes for the query."""
    return f"nothing found for {query}"


def _vectors(texts: list[str]) -> list[list[float]]:
    return [[float(len(text)), 1.0] for text in texts]


def _embedder() -> Any:
    from pliable.lm.embeddings import FunctionEmbedder

    return FunctionEmbedder(_vectors, name="hostile-test-embedder")


def load_kwargs(file_id: str) -> dict[str, Any]:
    """What ``pl.load`` takes besides the file for the base a file id (or base name) starts
    with: a ReAct program's tools, a KNN program's (custom) embedder. Never given where it
    would replace the hostile part: the embedder is left out for ``knn.embedder.*`` files."""
    base, _, rest = file_id.partition(".")
    if base == "react":
        return {"tools": [search]}
    if base == "knn" and not rest.startswith("embedder."):
        return {"embedder": _embedder()}
    return {}


def _programs(folder: Path) -> Iterator[tuple[str, Any]]:
    question = "What is the capital of France?"
    predict = pl.Predict("question -> answer")
    predict.demos = [pl.Example(question=question, answer="Paris")]
    yield "predict", predict

    lm = pl.LM("openai/gpt-4o-mini", temperature=0.0, max_tokens=64)
    with_lm = pl.Predict("question -> answer", lm=lm, adapter=pl.ChatAdapter(), temperature=0.0)
    with_lm.demos = [pl.Example(question=question, answer="Paris")]
    yield "predictlm", with_lm

    cot = pl.ChainOfThought("question -> answer")
    cot.demos = [pl.Example(question=question, reasoning="It is well known.", answer="Paris")]
    yield "cot", cot

    typed = pl.ChainOfThought(Typed)
    person = Person(name="Ann", age=30, addr=Addr(city="Lyon"))
    typed.demos = [
        pl.Example(
            text="Ann, 30, from Lyon, likes red.",
            reasoning="Read it off.",
            color=Color.RED,
            colors=[Color.RED, Color.GREEN],
            color_by_name={"ann": Color.RED},
            maybe_color=None,
            person=person,
            people=[person],
            person_by_name={"ann": person},
            maybe_person=person,
            tone="neutral",
            count=1,
            tags=["a"],
        )
    ]
    yield "typed", typed

    template = pl.Template("Question: {question}\nAnswer in one word.", system="Be terse.")
    yield "template", pl.Predict("question -> answer", adapter=pl.TemplateAdapter(template))

    retriever = pl.BM25Retriever(
        [
            {"id": "fr", "text": "Paris is the capital of France."},
            {"id": "it", "text": "Rome is the capital of Italy."},
        ]
    )
    retriever.save(folder / "retriever")
    yield "rag", pl.RAG("question -> answer", retriever=retriever, k=1)
    yield "multihop", pl.MultiHopQA("question -> answer", retriever=retriever, hops=2, k=1)
    yield "react", pl.ReAct("question -> answer", [search])

    trainset = [pl.Example(question=question, answer="Paris").with_inputs("question")]
    knn = pl.KNNFewShot(1, _embedder()).compile(pl.Predict("question -> answer"), trainset=trainset)
    yield "knn", knn


def valid_files(tmp_dir: Path) -> list[tuple[str, Path]]:
    """Save the valid programs under ``tmp_dir / "valid"``: ``(base name, path)`` pairs.

    Each loads with ``pl.load(path, **load_kwargs(name))``; all but ``knn`` (whose demos are
    chosen per call) render with ``pl.render_prompts``."""
    folder = Path(tmp_dir) / "valid"
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, program in _programs(folder):
        out.append((name, pl.save(program, folder / f"{name}.json")))
    return out


# --- writing -------------------------------------------------------------------------------

_DELETE = object()


class FormatChangedError(RuntimeError):
    """The valid files no longer have the fields this corpus mutates: update the corpus."""


def _edit(base: dict[str, Any], *changes: tuple[tuple[Any, ...], Any]) -> dict[str, Any]:
    """A deep copy of ``base`` with each ``(path, value)`` set (``_DELETE``: removed). Every
    key on a path but the last must exist in the base."""
    data = copy.deepcopy(base)
    for path, value in changes:
        parent: Any = data
        try:
            for key in path[:-1]:
                parent = parent[key]
        except (KeyError, IndexError, TypeError) as exc:
            raise FormatChangedError(
                f"no {'.'.join(map(str, path[:-1]))} in {base!r:.200}"
            ) from exc
        if value is _DELETE:
            del parent[path[-1]]
        else:
            parent[path[-1]] = value
    return data


class _Writer:
    """Names files in order and writes them (unless ``write`` is false: ids only).
    Content may be given as a function, called only when the file is written."""

    def __init__(self, folder: Path, write: bool) -> None:
        self.folder = folder
        self.write = write
        folder.mkdir(parents=True, exist_ok=True)
        self.first: list[tuple[str, Path]] = []
        self.last: list[tuple[str, Path]] = []
        self.ids: set[str] = set()

    def _path(self, file_id: str, last: bool) -> Path:
        if file_id in self.ids:
            raise ValueError(f"duplicate hostile file id {file_id!r}")
        self.ids.add(file_id)
        path = self.folder / f"{len(self.ids):04d}.json"
        (self.last if last else self.first).append((file_id, path))
        return path

    def json(self, file_id: str, data: Any, *, last: bool = False) -> None:
        path = self._path(file_id, last)
        if self.write:
            path.write_text(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False), "utf-8")

    def text(self, file_id: str, text: str | Callable[[], str]) -> None:
        path = self._path(file_id, False)
        if self.write:
            path.write_text(text() if callable(text) else text, "utf-8")

    def bytes(self, file_id: str, data: bytes) -> Path:
        path = self._path(file_id, False)
        if self.write:
            path.write_bytes(data)
        return path

    def files(self) -> list[tuple[str, Path]]:
        return self.first + self.last


class _Corpus:
    def __init__(self, tmp_dir: Path, target: str, sink_url: str, write: bool = True) -> None:
        self.dir = tmp_dir
        self.t = target
        self.sink = sink_url
        self.cache = tmp_dir / CACHE_SUBDIR
        self.bases = {
            name: json.loads(path.read_text("utf-8")) for name, path in valid_files(tmp_dir)
        }
        self._check_format()
        self.version = self.bases["predict"]["schema_version"]
        self.out = _Writer(tmp_dir / "hostile", write)

    def _check_format(self) -> None:
        top = {"schema_version", "pliable_version", "program", "predictors"}
        keys = {"kind", "signature", "demos", "adapter", "lm", "config"}
        for name, data in self.bases.items():
            if not isinstance(data, dict) or not top <= set(data):
                raise FormatChangedError(f"{name}: top-level keys {sorted(data)}")
            for pname, state in data["predictors"].items():
                if not keys <= set(state):
                    raise FormatChangedError(f"{name}.{pname}: predictor keys {sorted(state)}")
        lm = self.bases["predictlm"]["predictors"]["self"]["lm"]
        if not isinstance(lm, dict) or not {"model", "options"} <= set(lm):
            raise FormatChangedError(f"predictlm: lm is {lm!r}")
        for base, key in (("rag", "retriever"), ("react", "tools"), ("multihop", "retriever")):
            if key not in (self.bases[base].get("program_config") or {}):
                raise FormatChangedError(f"{base}: no program_config.{key}")
        if "embedder" not in (self.bases["knn"].get("knn") or {}):
            raise FormatChangedError("knn: no knn.embedder")

    def add(self, file_id: str, base: str, *changes: tuple[tuple[Any, ...], Any]) -> None:
        """A mutation of ``base``; the id is ``base.<file_id>``. Files naming a dangerous
        real callable are written last (an ``os:abort`` that runs ends the test process)."""
        data = _edit(self.bases[base], *changes)
        last = any(name in json.dumps(data) for name in DANGEROUS_NAMES)
        self.out.json(f"{base}.{file_id}", data, last=last)

    def predictors(self, base: str) -> list[str]:
        return list(self.bases[base]["predictors"])


# --- 1. module:callable names ----------------------------------------------------------------


def _type_refs(spec: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str]]:
    """``(path, name)`` of every enum and model type spec under ``spec``."""
    if not isinstance(spec, dict):
        return
    if spec.get("type") in ("enum", "model") and "ref" in spec:
        yield path, str(spec.get("name"))
    for key in ("items", "values", "inner"):
        yield from _type_refs(spec.get(key), (*path, key))


def _field_index(signature: dict[str, Any], name: str) -> tuple[str, int]:
    for key in ("inputs", "outputs"):
        for i, field in enumerate(signature[key]):
            if field["name"] == name:
                return key, i
    raise FormatChangedError(f"no field {name!r} in {signature!r:.200}")


def _names(c: _Corpus) -> None:
    t = c.t
    names = [
        f"{t}:boom",
        f"{t}:Evil",
        f"{t}:EvilProgram",
        f"{t}:EvilAdapter",
        f"{t}:Color",
        f"{t}:Person",
        t,
        f"{t}:Evil.__init__",
        f"{t}.EvilProgram",
        f"{t}:EvilProgram:extra",
    ]
    for name in [*names, *DANGEROUS_NAMES]:
        c.add(f"program={name}", "predict", (("program",), name))
    if "program" in c.bases["knn"]["knn"]:  # the program a KNN program wraps
        for name in (f"{t}:EvilProgram", "os:abort"):
            c.add(f"knn.program={name}", "knn", (("knn", "program"), name))
    for base in ("cot", "rag", "react", "knn"):
        c.add(f"program={t}:EvilProgram", base, (("program",), f"{t}:EvilProgram"))
    # a duplicate key: the last one wins in Python's json
    text = json.dumps(c.bases["predict"], indent=1)
    c.out.text(
        "predict.duplicate-program-key",
        text[: text.rindex("}")] + f', "program": "{t}:EvilProgram"}}',
    )

    adapters = [f"{t}:EvilAdapter", f"{t}:boom", f"{t}:Evil", t, f"{t}.EvilAdapter"]
    for name in [*adapters, *DANGEROUS_NAMES]:
        c.add(f"self.adapter={name}", "predict", ((*_SELF, "adapter"), name))
    c.add(
        "self.adapter+adapter_config=EvilAdapter",
        "predict",
        ((*_SELF, "adapter"), f"{t}:EvilAdapter"),
        ((*_SELF, "adapter_config"), {"template": {"user": "{question}"}}),
    )
    c.add("self.adapter=EvilAdapter", "template", ((*_SELF, "adapter"), f"{t}:EvilAdapter"))
    for base in ("cot", "typed", "predictlm"):
        c.add("self.adapter=EvilAdapter", base, ((*_SELF, "adapter"), f"{t}:EvilAdapter"))
    for base in ("multihop", "react", "rag"):
        for name in c.predictors(base):
            path = ("predictors", name, "adapter")
            c.add(f"{name}.adapter=EvilAdapter", base, (path, f"{t}:EvilAdapter"))
    path = ("predictors", "answer", "adapter")
    c.add("answer.adapter=os:abort", "multihop", (path, "os:abort"))

    # type refs, at every nesting of the typed signature
    signature = c.bases["typed"]["predictors"]["self"]["signature"]
    sig_path = (*_SELF, "signature")
    for key in ("inputs", "outputs"):
        for i, field in enumerate(signature[key]):
            for sub, type_name in _type_refs(field.get("type"), (key, i, "type")):
                where = f"{field['name']}{''.join('.' + str(p) for p in sub[3:])}"
                path = (*sig_path, *sub, "ref")
                c.add(f"sig.{where}.ref=target:{type_name}", "typed", (path, f"{t}:{type_name}"))
    color = (*sig_path, *_field_index(signature, "color"), "type", "ref")
    person = (*sig_path, *_field_index(signature, "person"), "type", "ref")
    for name in [f"{t}:boom", f"{t}:Evil", f"{t}:Person", *DANGEROUS_NAMES]:
        c.add(f"sig.color.ref={name}", "typed", (color, name))
    for name in [f"{t}:boom", f"{t}:EvilProgram", f"{t}:Color", *DANGEROUS_NAMES]:
        c.add(f"sig.person.ref={name}", "typed", (person, name))
    # a model nested in $defs, given as a pliable type spec with a ref
    person_schema = (*sig_path, *_field_index(signature, "person"), "type", "schema")
    defs = copy.deepcopy(_get(c.bases["typed"], person_schema)["$defs"])
    addr = {"type": "model", "name": "Addr", "ref": f"{t}:Addr", "schema": defs["Addr"]}
    c.add(
        "sig.person.$defs.Addr=model-with-ref", "typed", ((*person_schema, "$defs", "Addr"), addr)
    )
    c.add(
        "sig.person.schema.properties.addr=model-with-ref",
        "typed",
        ((*person_schema, "properties", "addr"), addr),
    )
    # an enum type with a ref where the plain signatures have str
    enum_spec = {
        "type": "enum",
        "name": "Color",
        "ref": f"{t}:Color",
        "members": {"GREEN": "green", "RED": "red"},
    }
    answer = ("outputs", 0, "type")
    c.add("sig.answer=enum-ref", "predict", ((*sig_path, *answer), enum_spec))
    nested = {
        "type": "list",
        "items": {"type": "dict", "values": {"type": "optional", "inner": enum_spec}},
    }
    c.add("sig.answer=list-dict-optional-enum-ref", "predict", ((*sig_path, *answer), nested))
    for base in ("rag", "multihop", "react"):
        path = ("program_config", "signature", *answer)
        c.add("program_config.signature.answer=enum-ref", base, (path, enum_spec))

    # the KNN embedder
    embedders: dict[str, Any] = {
        "kind=target": {"kind": f"{t}:EvilEmbedder", "name": "evil"},
        "kind=name=target": {"kind": f"{t}:boom", "name": f"{t}:boom"},
        "kind=os:abort": {"kind": "os:abort", "name": "evil"},
        "custom+factory=target": {
            "kind": "custom",
            "name": f"{t}:EvilEmbedder",
            "factory": f"{t}:EvilEmbedder",
        },
        "local=/etc/passwd": {"kind": "local", "name": "local//etc/passwd"},
        "local=dotdot": {"kind": "local", "name": "local/../../x.gguf"},
        "kind=int": {"kind": 1, "name": "x"},
        "name=int": {"kind": "custom", "name": 1},
        "name=missing": {"kind": "custom"},
        "string=target": f"{t}:EvilEmbedder",
        "null": None,
    }
    for label, ref in embedders.items():
        c.add(f"embedder.{label}", "knn", (("knn", "embedder"), ref))

    # retrievers and tools in the program config
    fake = _fake_retrievers(c)
    real = c.bases["rag"]["program_config"]["retriever"]
    retrievers: dict[str, Any] = {
        "kind=target": {"kind": f"{t}:EvilRetriever", "path": real["path"]},
        "kind=os:abort": {"kind": "os:abort", "path": real["path"]},
        "string=target": f"{t}:EvilRetriever",
        "path=/etc": {"kind": "bm25", "path": "/etc"},
        "path=dotdot": {"kind": "bm25", "path": "../../../../../../../../etc"},
        "path=missing": {"kind": "bm25", "path": str(c.dir / "no-such-retriever")},
        "path=sink-url": {"kind": "bm25", "path": c.sink},
        "path=int": {"kind": "bm25", "path": 1},
        "path=manifest-embedder-target": {"kind": "embedding", "path": str(fake["embedder"])},
        "path=manifest-kind-target": {"kind": "bm25", "path": str(fake["kind"])},
        "list": [real],
    }
    for label, ref in retrievers.items():
        for base in ("rag", "multihop") if label == "kind=target" else ("rag",):
            c.add(f"program_config.retriever.{label}", base, (("program_config", "retriever"), ref))
    tool = c.bases["react"]["program_config"]["tools"][0]
    tools: dict[str, Any] = {
        "name=target": [{**tool, "name": f"{t}:evil_tool"}],
        "name=os:abort": [{**tool, "name": "os:abort"}],
        "strings": [f"{t}:evil_tool"],
        "extra=callable": [{**tool, "callable": f"{t}:evil_tool"}],
        "schema=ref": [{**tool, "schema": {"$ref": f"{t}:Person"}}],
        "string": f"{t}:evil_tool",
    }
    for label, value in tools.items():
        c.add(f"program_config.tools.{label}", "react", (("program_config", "tools"), value))
    for base in ("rag", "react"):
        c.add(
            "program_config.class=target", base, (("program_config", "class"), f"{t}:EvilProgram")
        )

    # the soft-prompt section
    adapter_dir = _fake_soft_adapter(c)
    soft = {
        "method": "prompt_tuning",
        "adapter_dir": str(adapter_dir),
        "adapter_sha256": "0" * 64,
        "base_model": "local/smollm2",
        "base_sha256": "0" * 64,
        "base_files": [],
        "predictor": "self",
        "task_id": None,
        "max_tokens": 16,
        "peft_version": None,
        "transformers_version": None,
        "torch_version": None,
    }
    variants: dict[str, dict[str, Any]] = {
        "base_model=target": {"base_model": f"{t}:boom"},
        "base_model=target-class": {"base_model": f"{t}:EvilProgram"},
        "base_model=os:abort": {"base_model": "os:abort"},
        "base_model=sink-url": {"base_model": c.sink},
        "base_model=/etc": {"base_model": "/etc"},
        "base_model=dotdot": {"base_model": "../../../../../../etc/passwd"},
        "adapter_dir=/etc": {"adapter_dir": "/etc"},
        "adapter_dir=sink-url": {"adapter_dir": c.sink},
        "method=target": {"method": f"{t}:boom"},
    }
    for label, change in variants.items():
        c.add(f"soft_prompt.{label}", "predict", (("soft_prompt",), {**soft, **change}))


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


def _fake_retrievers(c: _Corpus) -> dict[str, Path]:
    """Retriever folders whose manifests name the target (never loadable)."""
    folders = {"embedder": c.dir / "fake-retriever-embedder", "kind": c.dir / "fake-retriever-kind"}
    common = {"format": "pliable-retriever", "version": 1, "count": 1}
    manifests = {
        "embedder": {
            **common,
            "kind": "embedding",
            "embedding": {"embedder": {"kind": f"{c.t}:EvilEmbedder", "name": "x"}, "dimension": 2},
        },
        "kind": {**common, "kind": f"{c.t}:EvilRetriever", f"{c.t}:EvilRetriever": {}},
    }
    for key, folder in folders.items():
        folder.mkdir(exist_ok=True)
        (folder / "retriever.json").write_text(json.dumps(manifests[key]), "utf-8")
        (folder / "passages.jsonl").write_text('{"id": "a", "text": "a"}\n', "utf-8")
    return folders


def _fake_soft_adapter(c: _Corpus) -> Path:
    """A folder that looks like a PEFT adapter (it is not one)."""
    folder = c.dir / "fake-soft-adapter"
    folder.mkdir(exist_ok=True)
    (folder / "adapter_config.json").write_text('{"peft_type": "PROMPT_TUNING"}', "utf-8")
    (folder / "adapter_model.safetensors").write_bytes(b"")
    return folder


# --- 2. LM options -------------------------------------------------------------------------


def _leaky_options(c: _Corpus, label: str) -> dict[str, Any]:
    """Options that redirect requests, carry secrets or change retries, the cache and time."""
    bearer = f"Bearer {SECRET}"
    return {
        "api_base": c.sink,
        "base_url": c.sink,
        "api_key": SECRET,
        "api_key+api_base": None,  # both at once, below
        "extra_headers": {"Authorization": bearer},
        "default_headers": {"Authorization": bearer},
        "extra_body": {"api_key": SECRET},
        "headers": {"Authorization": bearer, "X-Api-Key": SECRET},
        "cache": str(c.cache / label),
        "cache_relative": None,  # a relative cache path, below
        "retry_delay": 10**6,
        "num_retries": -1,
        "num_retries_huge": None,  # below
        "timeout": 10**9,
        "organization": "org-hostile",
        "metadata": {"authorization": bearer},
        "bearer": SECRET,
        "passwd": SECRET,
        "cookie": f"session={SECRET}",
        "proxy": c.sink,
        "proxies": {"http": c.sink, "https": c.sink},
        "http_proxy": c.sink,
        "api_version": "2099-01-01",
        "azure_ad_token": SECRET,
        "aws_secret_access_key": SECRET,
        "vertex_credentials": json.dumps({"private_key": SECRET}),
        "callbacks": [f"{c.t}:boom"],
        "n_ctx": 10**9,
    }


def _expand(c: _Corpus, label: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for key, value in _leaky_options(c, label).items():
        if key == "api_key+api_base":
            yield key, {"api_key": SECRET, "api_base": c.sink}
        elif key == "cache_relative":
            yield key, {"cache": f"{CACHE_SUBDIR}/{label}-relative"}
        elif key == "num_retries_huge":
            yield key, {"num_retries": 10**9, "api_base": c.sink}
        else:
            yield key, {key: value}


def _lm_options(c: _Corpus) -> None:
    lm = (*_SELF, "lm")
    options = (*lm, "options")
    config = (*_SELF, "config")
    base_options = c.bases["predictlm"]["predictors"]["self"]["lm"]["options"]
    for key, extra in _expand(c, "lm-options"):
        c.add(f"lm.options.{key}", "predictlm", (options, {**base_options, **extra}))
    for key, extra in _expand(c, "config"):
        c.add(f"config.{key}", "predictlm", (config, {"temperature": 0.0, **extra}))
    everything: dict[str, Any] = {}
    for _, extra in _expand(c, "all"):
        everything.update(extra)
    for base in ("multihop", "react", "cot", "typed"):
        for name in c.predictors(base):
            lm_all = {"model": "openai/gpt-4o-mini", "options": everything, "restorable": True}
            c.add(f"{name}.lm.options=all", base, (("predictors", name, "lm"), lm_all))
            c.add(f"{name}.config=all", base, (("predictors", name, "config"), everything))
    (c.dir / "junk.gguf").write_bytes(b"GGUF" + b"\0" * 60)
    models: dict[str, Any] = {
        "local//etc/passwd": "local//etc/passwd",
        "local/../x.gguf": "local/../x.gguf",
        "local/dotdot/etc/passwd": "local/../../../../../../etc/passwd",
        "/tmp/x.gguf": "/tmp/x.gguf",
        "local/tmp-junk.gguf": f"local/{c.dir / 'junk.gguf'}",
        "empty": "",
        "int": 1,
        "float": 1.5,
        "bool": True,
        "null": None,
        "list": [],
        "object": {"name": "openai/gpt-4o-mini"},
    }
    for label, model in models.items():
        c.add(f"lm.model={label}", "predictlm", ((*lm, "model"), model))
    lms: dict[str, Any] = {
        "int": 1,
        "string": "openai/gpt-4o-mini",
        "list": ["openai/gpt-4o-mini"],
        "empty-object": {},
        "no-model": {"options": {}, "restorable": True},
        "unknown-key": {"model": "openai/gpt-4o-mini", "options": {}, "factory": f"{c.t}:boom"},
        "options=string": {"model": "openai/gpt-4o-mini", "options": "api_base=x"},
        "options=list": {"model": "openai/gpt-4o-mini", "options": [["api_base", c.sink]]},
        "options=int": {"model": "openai/gpt-4o-mini", "options": 1},
        "restorable=yes": {"model": "openai/gpt-4o-mini", "options": {}, "restorable": "yes"},
        "restorable=list": {"model": "openai/gpt-4o-mini", "options": {}, "restorable": []},
        "restorable=null": {"model": "openai/gpt-4o-mini", "options": {}, "restorable": None},
        "temperature=object": {
            "model": "openai/gpt-4o-mini",
            "options": {"temperature": {"api_base": c.sink}},
        },
    }
    for label, value in lms.items():
        c.add(f"lm={label}", "predictlm", (lm, value))
    for label, value in {"int": 1, "string": "temperature=0", "list": [], "null": None}.items():
        c.add(f"config={label}", "predictlm", (config, value))


# --- 3. wrong types, unknown kinds, bad names ------------------------------------------------

_WRONG: dict[str, Any] = {
    "null": None,
    "int": 7,
    "float": 1.5,
    "bool": False,
    "list": [1, "two"],
    "string": "evil",
    "object": {"evil": {"nested": [1]}},
}


def _wrong(*skip: str) -> Iterator[tuple[str, Any]]:
    for label, value in _WRONG.items():
        if label not in skip:
            yield label, value


def _wrong_types(c: _Corpus) -> None:
    # top-level fields; None where null is the field's valid default is skipped
    nullable = {"litellm_version", "report", "knn", "program_config", "soft_prompt"}
    strings = {"pliable_version", "litellm_version"}
    for key in ("schema_version", "pliable_version", "litellm_version", "program", "predictors"):
        for label, value in _wrong():
            if key == "schema_version" and label in ("float", "string"):
                continue  # below
            if (label == "null" and key in nullable) or (label == "string" and key in strings):
                continue
            if key == "schema_version" and label in ("bool",):
                continue
            c.add(f"{key}={label}", "predict", ((key,), value))
    for key in ("report", "knn", "program_config", "soft_prompt"):
        for label, value in _wrong("null", "object"):
            c.add(f"{key}={label}", "predict", ((key,), value))
    for label, value in _wrong("null"):
        c.add(f"knn={label}", "knn", (("knn",), value))
        c.add(f"program_config={label}", "rag", (("program_config",), value))
    c.add("program_config=null", "rag", (("program_config",), None))
    c.add("program_config=null", "react", (("program_config",), None))
    c.add("knn={}", "predict", (("knn",), {}))
    c.add("soft_prompt={}", "predict", (("soft_prompt",), {}))
    v = c.version
    for label, version in {
        "0": 0,
        "-1": -1,
        "newer": v + 1,
        "999": 999,
        "string": str(v),
        "string-1": "1",
        "float": float(v),
        "1e20": 10**20,
    }.items():
        c.add(f"schema_version={label}", "predict", (("schema_version",), version))
    for key in ("schema_version", "program", "predictors"):
        c.add(f"missing.{key}", "predict", ((key,), _DELETE))
    c.add("unknown-top-level-key", "predict", (("__class__",), f"{c.t}:Evil"))
    for program in ("pliable.Nope", "pliable.Evil", "", "pliable.", "pliable.predict", "Predict"):
        c.add(f"program={program!r}", "predict", (("program",), program))
    c.add("program=pliable.RAG-without-config", "predict", (("program",), "pliable.RAG"))
    c.add("program=pliable.ReAct-on-rag", "rag", (("program",), "pliable.ReAct"))

    # predictors
    state = c.bases["predict"]["predictors"]["self"]
    for label, value in {
        "empty": {},
        "self=null": {"self": None},
        "self=int": {"self": 1},
        "self=list": {"self": [state]},
        "self=string": {"self": "Predict"},
        "renamed": {"evil": state},
        "extra": {"self": state, "evil": state},
        "name=empty": {"": state},
        "name=__class__": {"__class__": state},
        "name=dotted": {"self.__class__": state},
    }.items():
        c.add(f"predictors.{label}", "predict", (("predictors",), value))
    c.add("predictors.missing-one", "multihop", (("predictors", "answer"), _DELETE))

    # predictor fields: a wrong type in each, where null is not the valid default
    nullable_fields = {"adapter", "adapter_config", "lm"}
    for key in ("kind", "signature", "demos", "adapter", "adapter_config", "lm", "config"):
        for label, value in _wrong():
            if label == "null" and key in nullable_fields:
                continue
            if label == "string" and key == "adapter":
                continue  # below, as an unknown adapter name
            if label == "object" and key in ("adapter_config", "config"):
                continue  # below, with content that is wrong for sure
            c.add(f"self.{key}={label}", "predict", ((*_SELF, key), value))
    for key in ("kind", "signature"):
        c.add(f"self.missing.{key}", "predict", ((*_SELF, key), _DELETE))
    c.add("self.unknown-key", "predict", ((*_SELF, "evil"), f"{c.t}:boom"))
    for kind in ("Evil", "", "predict", "Module", "ReAct", f"{c.t}:EvilProgram"):
        c.add(f"self.kind={kind!r}", "predict", ((*_SELF, "kind"), kind))
    for adapter in ("evil", "", "CHAT", "chat ", "ChatAdapter", "pliable.ChatAdapter"):
        c.add(f"self.adapter={adapter!r}", "predict", ((*_SELF, "adapter"), adapter))
    template_config = c.bases["template"]["predictors"]["self"]["adapter_config"]
    for label, value in {
        "template=string": {**template_config, "template": "Question: {question}"},
        "template.extra=path": {
            **template_config,
            "template": {**template_config["template"], "path": "/etc/passwd"},
        },
        "template.user=attribute": {
            **template_config,
            "template": {"user": "{question.__class__.__mro__}"},
        },
        "template.user=int": {**template_config, "template": {"user": 1}},
        "output_format=target": {**template_config, "output_format": f"{c.t}:EvilAdapter"},
        "reply_instruction=list": {**template_config, "reply_instruction": [1]},
        "unknown-option": {**template_config, "parser": f"{c.t}:boom"},
        "empty": {},
    }.items():
        path = (*_SELF, "adapter_config")
        c.add(f"self.adapter_config.{label}", "template", (path, value))
    for label, value in {
        "demos.item=int": [1],
        "demos.item=string": ["question: q"],
        "demos.item=list": [["question", "q"]],
        "demos.item=null": [None],
        "demos=object": {"0": {"question": "q", "answer": "a"}},
    }.items():
        c.add(label, "predict", ((*_SELF, "demos"), value))
    # config values that are not options
    c.add("self.config.nested", "predict", ((*_SELF, "config"), {"temperature": {"x": [1]}}))
    for base in ("rag", "multihop", "react"):
        for key in ("k", "hops", "max_steps", "max_observation_chars", "reasoning"):
            if key in c.bases[base]["program_config"]:
                for label, value in {"negative": -1, "string": "three", "list": [1]}.items():
                    if key == "reasoning" and label == "negative":
                        continue
                    path = ("program_config", key)
                    c.add(f"program_config.{key}={label}", base, (path, value))
        c.add("program_config.signature={}", base, (("program_config", "signature"), {}))
        c.add("program_config.signature=str", base, (("program_config", "signature"), "q -> a"))
    for key, value in {
        "k": -1,
        "k.string": "1",
        "input_fields": [1],
        "input_fields.string": "question",
        "pool": "all",
        "pool.item": [1],
        "pool.values": [{"values": {"question": {"$ref": "x"}}, "inputs": "question"}],
        "embeddings": {"dtype": "float64", "dimension": 2, "base64": "AAAA"},
        "embeddings.huge": {"dtype": "float32", "dimension": 10**12, "base64": "AAAA"},
        "extra": {"factory": f"{c.t}:EvilEmbedder"},
    }.items():
        field = key.split(".", 1)[0]
        if key == "extra":
            c.add("knn.extra-key", "knn", (("knn", "factory"), value["factory"]))
        else:
            c.add(f"knn.{key}", "knn", (("knn", field), value))

    # reports whose values inspect would format
    report_base = {
        "optimizer": "BootstrapFewShot",
        "baseline": {"score": 0.5, "n": 10},
        "final": {"score": 0.75, "n": 10},
    }
    for label, report in {
        "final=string": {**report_base, "final": "high"},
        "final.score=string": {**report_base, "final": {"score": "high", "n": 10}},
        "baseline.score=list": {**report_base, "baseline": {"score": [0.5], "n": 10}},
        "final.n=missing": {**report_base, "final": {"score": 0.75}},
        "floor.score=string": {**report_base, "floor": {"score": "x"}},
        "floor_comparison=list": {**report_base, "floor": {"score": 0.1}, "floor_comparison": [1]},
        "optimizer=target": {**report_base, "optimizer": {"ref": f"{c.t}:boom"}},
    }.items():
        c.add(f"report.{label}", "predict", (("report",), report))

    _signatures(c)
    _enums_and_models(c)
    _demo_values(c)


def _signatures(c: _Corpus) -> None:
    sig = (*_SELF, "signature")
    signature = c.bases["predict"]["predictors"]["self"]["signature"]
    question, answer = signature["inputs"][0], signature["outputs"][0]
    for label, value in {
        "{}": {},
        "no-outputs": {**signature, "outputs": []},
        "no-inputs-no-outputs": {**signature, "inputs": [], "outputs": []},
        "inputs=string": {**signature, "inputs": "question"},
        "outputs=object": {**signature, "outputs": {"answer": {"type": "str"}}},
        "version=999": {**signature, "version": 999},
        "version=string": {**signature, "version": "1"},
        "instructions=int": {**signature, "instructions": 1},
        "instructions=list": {**signature, "instructions": ["a"]},
        "name=list": {**signature, "name": ["x"]},
        "unknown-key": {**signature, "factory": f"{c.t}:boom"},
        "duplicate-field": {**signature, "outputs": [answer, {**question}]},
    }.items():
        c.add(f"sig={label}", "predict", (sig, value))
    for name in ("", "1x", "a b", "a-b", "__class__", "__init__", "fields", "a.b", "é\u200b"):
        c.add(f"sig.output-name={name!r}", "predict", ((*sig, "outputs", 0, "name"), name))
    c.add("sig.input-name=__class__", "predict", ((*sig, "inputs", 0, "name"), "__class__"))
    for label, value in {
        "name=int": 1,
        "name=missing": _DELETE,
        "desc=int": 1,
        "item=string": "answer",
        "item=null": None,
    }.items():
        if label.startswith("item"):
            c.add(f"sig.output.{label}", "predict", ((*sig, "outputs", 0), value))
        else:
            key = label.split("=")[0]
            c.add(f"sig.output.{label}", "predict", ((*sig, "outputs", 0, key), value))
    types: dict[str, Any] = {
        "string": "str",
        "null": None,
        "int": 1,
        "{}": {},
        "evil": {"type": "evil"},
        "type=target": {"type": f"{c.t}:boom"},
        "type=int": {"type": 1},
        "list-no-items": {"type": "list"},
        "dict-no-values": {"type": "dict"},
        "optional-no-inner": {"type": "optional"},
        "list-items=string": {"type": "list", "items": "str"},
        "literal-no-values": {"type": "literal"},
        "literal-empty": {"type": "literal", "values": []},
        "literal-values=string": {"type": "literal", "values": "ab"},
        "literal-values=object": {"type": "literal", "values": [{"a": 1}]},
        "enum-no-members": {"type": "enum", "name": "E"},
        "enum-empty-members": {"type": "enum", "name": "E", "members": {}},
        "enum-members=list": {"type": "enum", "name": "E", "members": ["a"]},
        "enum-member-value=object": {"type": "enum", "name": "E", "members": {"A": {"x": 1}}},
        "enum-name=int": {"type": "enum", "name": 1, "members": {"A": "a"}},
        "model-no-schema": {"type": "model", "name": "M"},
        "model-schema=string": {"type": "model", "name": "M", "schema": "x"},
        "model-unknown-json-type": {
            "type": "model",
            "name": "M",
            "schema": {"type": "object", "properties": {"x": {"type": "evil"}}},
        },
        "model-dangling-ref": {
            "type": "model",
            "name": "M",
            "schema": {"type": "object", "properties": {"x": {"$ref": "#/$defs/Nope"}}},
        },
        "model-union": {
            "type": "model",
            "name": "M",
            "schema": {
                "type": "object",
                "properties": {"x": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
            },
        },
        "model-properties=list": {
            "type": "model",
            "name": "M",
            "schema": {"type": "object", "properties": ["x"]},
        },
    }
    for label, value in types.items():
        c.add(f"sig.answer.type={label}", "predict", ((*sig, "outputs", 0, "type"), value))


def _enums_and_models(c: _Corpus) -> None:
    sig = (*_SELF, "signature", "outputs", 0, "type")
    for member in ("mro", "__init__", "_value_", "_missing_", "__class__", ""):
        spec = {"type": "enum", "name": "E", "members": {member: "a", "OK": "b"}}
        c.add(f"enum.member={member!r}", "predict", (sig, spec))
    for prop in ("__init__", "model_config", "__class__", "__dict__", "_private", "model_fields"):
        schema = {"type": "object", "properties": {prop: {"type": "string"}}, "required": [prop]}
        spec = {"type": "model", "name": "M", "schema": schema}
        c.add(f"model.property={prop!r}", "predict", (sig, spec))
    # a $defs cycle: A holds an A
    schema = {
        "$defs": {"A": {"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}}},
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/A"}},
    }
    c.add("model.$defs-cycle", "predict", (sig, {"type": "model", "name": "M", "schema": schema}))
    schema = {
        "$defs": {"B": {"$ref": "#/$defs/B"}},
        "type": "object",
        "properties": {"b": {"$ref": "#/$defs/B"}},
    }
    c.add(
        "model.$defs-self-ref", "predict", (sig, {"type": "model", "name": "M", "schema": schema})
    )


def _demo_values(c: _Corpus) -> None:
    demo = c.bases["typed"]["predictors"]["self"]["demos"][0]
    demos = (*_SELF, "demos")
    for label, change in {
        "color=PURPLE": {"color": "purple"},
        "color_by_name=list": {"color_by_name": ["red"]},
        "person.age=string": {"person": {**demo["person"], "age": "old"}},
        "person=missing-field": {"person": {"name": "Ann"}},
        "people.item=int": {"people": [1]},
        "person_by_name=list": {"person_by_name": [demo["person"]]},
        "tone=other": {"tone": "happy"},
        "count=string": {"count": "many"},
        "count=float": {"count": 1.5},
    }.items():
        c.add(f"demos.{label}", "typed", (demos, [{**demo, **change}]))


# --- 4. size and nesting -------------------------------------------------------------------

_DEEP = 100_000
_BIG = 10 * 1024 * 1024
_MANY = 100_000


def _swap(text: str, old: str, new: str) -> str:
    """``text`` with the first ``old`` replaced by ``new``; ``old`` must be there."""
    if old not in text:
        raise FormatChangedError(f"no {old!r} in {text[:200]!r}")
    return text.replace(old, new, 1)


def _sizes(c: _Corpus) -> None:
    text = json.dumps(c.bases["predict"], sort_keys=True)
    typed = json.dumps(c.bases["typed"], sort_keys=True)
    with_lm = json.dumps(c.bases["predictlm"], sort_keys=True)
    version = f'"schema_version": {c.version}'
    str_type = '"type": {"type": "str"}'
    for probe, where in ((text, '"report": null'), (text, '"answer": "Paris"'), (text, version)):
        _swap(probe, where, "")  # the lazy contents below rely on these
    _swap(text, '"instructions": null', "")
    _swap(text[text.index('"outputs"') :], str_type, "")
    _swap(typed, '"count": 1', "")
    _swap(with_lm, '"temperature": 0.0', "")

    def deep() -> str:
        return "[" * _DEEP + "]" * _DEEP

    def deep_type() -> str:
        inner = '{"type": "optional", "inner": ' * _DEEP + '{"type": "str"}' + "}" * _DEEP
        at = text.index(str_type, text.index('"outputs"'))
        return text[:at] + f'"type": {inner}' + text[at + len(str_type) :]

    def predictors() -> str:  # each a valid predictor state (without demos, to stay small)
        state = {**c.bases["predict"]["predictors"]["self"], "demos": []}
        state = json.dumps(state, separators=(",", ":"))
        many = ",".join(f'"p{i}":{state}' for i in range(_MANY))
        return _swap(text, '"predictors": {', f'"predictors": {{{many},')

    big = "x" * _BIG
    digits = "9" * 5000
    contents: dict[str, Callable[[], str]] = {
        "top-level-array-100k-deep": deep,
        "report-100k-deep": lambda: _swap(text, '"report": null', f'"report": {deep()}'),
        "demo-value-100k-deep": lambda: _swap(
            text, '"answer": "Paris"', '"answer": ' + '{"a":' * _DEEP + "1" + "}" * _DEEP
        ),
        "signature-type-100k-deep": deep_type,
        "10MB-instructions": lambda: _swap(
            text, '"instructions": null', f'"instructions": "{big}"'
        ),
        "10MB-demo-value": lambda: _swap(text, '"answer": "Paris"', f'"answer": "{big}"'),
        "10MB-program-name": lambda: _swap(text, '"pliable.Predict"', f'"{big}"'),
        "10MB-key": lambda: _swap(text, '"report": null', f'"{big}": null, "report": null'),
        "5000-digit-schema_version": lambda: _swap(text, version, f'"schema_version": {digits}'),
        "5000-digit-demo-int": lambda: _swap(typed, '"count": 1', f'"count": {digits}'),
        "5000-digit-temperature": lambda: _swap(
            with_lm, '"temperature": 0.0', f'"temperature": {digits}'
        ),
        "100k-predictors": predictors,
    }
    for label, content in contents.items():
        c.out.text(f"size.{label}", content)


# --- 5. not a JSON object --------------------------------------------------------------------


def _not_json(c: _Corpus) -> None:
    text = json.dumps(c.bases["predict"], indent=1, sort_keys=True, ensure_ascii=False)
    accented = _swap(text, "Paris", "Paris, capitale de la République française")
    for label, content in {
        "empty": "",
        "whitespace": " \n\t ",
        "not-json": "this is not JSON",
        "truncated": text[: len(text) // 2],
        "python-repr": repr(c.bases["predict"]),
        "trailing-garbage": text + "\n}",
        "two-objects": text + "\n" + text,
        "array": "[" + text + "]",
        "empty-array": "[]",
        "string": json.dumps(text),
        "number": "2",
        "null": "null",
        "true": "true",
        "nan-temperature": _swap(
            json.dumps(c.bases["predictlm"]), '"temperature": 0.0', '"temperature": NaN'
        ),
        "infinity-schema_version": _swap(
            text, f'"schema_version": {c.version}', '"schema_version": Infinity'
        ),
        "comment": "// compiled\n" + text,
        "nul-byte-in-key": _swap(text, '"program"', '"program\\u0000"'),
    }.items():
        c.out.text(f"notjson.{label}", content)
    for label, data in {
        "utf-16": accented.encode("utf-16"),
        "utf-16-le-no-bom": accented.encode("utf-16-le"),
        "utf-32": accented.encode("utf-32"),
        "latin-1": accented.encode("latin-1"),
        "cp1252-quotes": _swap(text, '"Paris"', '"\u201cParis\u201d"').encode("cp1252"),
        "nul-bytes": b"\0" * 64,
        "binary": bytes(range(256)) * 4,
        "gzip": gzip.compress(text.encode()),
        "utf-8-then-garbage": text.encode() + b"\xff\xfe",
    }.items():
        c.out.bytes(f"notjson.{label}", data)
    # a directory named like a compiled file
    folder = c.out.bytes("notjson.directory", b"")
    if c.out.write:
        folder.unlink()
        folder.mkdir()


# --- the corpus ------------------------------------------------------------------------------

_SECTIONS: tuple[Callable[[_Corpus], None], ...] = (
    _names,
    _lm_options,
    _wrong_types,
    _sizes,
    _not_json,
)


def hostile_files(tmp_dir: Path, target_module: str, sink_url: str) -> list[tuple[str, Path]]:
    """Write the hostile files under ``tmp_dir`` (and the valid ones they come from under
    ``tmp_dir / "valid"``): ``(id, path)`` pairs, ids unique, paths ending in ``.json``.

    ``target_module`` is the module the files name in ``module:callable`` strings;
    ``sink_url`` is where the endpoint options point. Files that name ``os:abort`` and the
    other dangerous real callables come last."""
    corpus = _Corpus(Path(tmp_dir), target_module, sink_url)
    for section in _SECTIONS:
        section(corpus)
    return corpus.out.files()


def hostile_ids(target_module: str) -> list[str]:
    """The ids :func:`hostile_files` gives, in order, without writing the hostile files (for
    parametrizing tests at collection time; ids depend on neither folder nor sink)."""
    with tempfile.TemporaryDirectory() as folder:
        corpus = _Corpus(Path(folder), target_module, "http://127.0.0.1:9/", write=False)
        for section in _SECTIONS:
            section(corpus)
        return [file_id for file_id, _ in corpus.out.files()]
