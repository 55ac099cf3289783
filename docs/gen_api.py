"""Write ``docs/api.md`` from sstfill's docstrings (signatures and numpydoc text).

MkDocs ships no API generator, so this small script does it with :mod:`inspect`:

    python docs/gen_api.py          # rewrite docs/api.md
    python docs/gen_api.py --check  # exit 1 if docs/api.md is out of date

``tests/test_docs.py`` runs the check, so the page cannot drift from the code: after
changing a public docstring or signature, run the script and commit ``docs/api.md``.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import re
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

API_MD = Path(__file__).resolve().parent / "api.md"
WIDTH = 88  # longer signatures are written one parameter per line

_SECTION_NAMES = (
    "Parameters",
    "Returns",
    "Yields",
    "Raises",
    "Warns",
    "Attributes",
    "Other Parameters",
    "See Also",
    "Notes",
    "References",
    "Examples",
)
_LISTED = {"Parameters", "Returns", "Yields", "Raises", "Warns", "Attributes", "Other Parameters"}


@dataclass
class Item:
    """One documented object: the name users type, the object, and what kind it is."""

    name: str
    obj: Any
    kind: str  # "class", "function", "method", "property", "exception", "accessor"
    aliases: tuple[str, ...] = ()
    members: list["Item"] = field(default_factory=list)


@dataclass
class Section:
    title: str
    intro: str
    items: list[Item]


# ----------------------------------------------------------------------------- what to document


def _members(cls: type, prefix: str, aliases: tuple[str, ...]) -> list[Item]:
    """Public methods and properties defined on ``cls`` itself, in source order."""
    out = []
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(value, property):
            kind, obj = "property", value
        elif isinstance(value, (classmethod, staticmethod)):
            kind, obj = "method", value.__func__
        elif inspect.isfunction(value):
            kind, obj = "method", value
        else:
            continue
        out.append(Item(f"{prefix}.{name}", obj, kind, tuple(f"{a}.{name}" for a in aliases)))
    return out


def _accessor(cls: type, user_name: str) -> Item:
    aliases = (cls.__name__, f"{cls.__module__}.{cls.__name__}")
    return Item(user_name, cls, "accessor", aliases, _members(cls, user_name, aliases))


def _class(cls: type, user_name: str) -> Item:
    aliases = (cls.__name__, f"{cls.__module__}.{cls.__name__}")
    return Item(user_name, cls, "class", aliases, _members(cls, cls.__name__, aliases))


def _functions(module_name: str) -> list[Item]:
    module = importlib.import_module(module_name)
    return [Item(f"{module_name}.{n}", getattr(module, n), "function", (n,)) for n in module.__all__ if inspect.isfunction(getattr(module, n))]


def _module_doc(module_name: str, paragraphs: int = 1) -> str:
    """The first ``paragraphs`` paragraphs of a module's docstring."""
    doc = inspect.getdoc(importlib.import_module(module_name)) or ""
    return "\n\n".join(p.replace("\n", " ") for p in doc.split("\n\n")[:paragraphs])


def sections() -> list[Section]:
    import sstfill
    from sstfill import errors
    from sstfill.kernels import holes, uncertainty
    from sstfill.evaluation import quality
    from sstfill.models import latent
    from sstfill.xr import accessor, climatology, land

    fill_items = [
        _accessor(accessor.DataArrayInpaint, "DataArray.inpaint"),
        _accessor(accessor.DatasetInpaint, "Dataset.inpaint"),
    ]
    model_items = [
        _class(sstfill.Inpainter, "sstfill.Inpainter"),
        Item("sstfill.load_model", sstfill.load_model, "function", ("load_model", "sstfill.models.store.load_model")),
        _class(latent.LatentInpainter, "sstfill.models.latent.LatentInpainter"),
        _class(latent.LatentConfig, "sstfill.models.latent.LatentConfig"),
        _class(sstfill.LaplaceFiller, "sstfill.LaplaceFiller"),
        _class(sstfill.TilePlan, "sstfill.TilePlan"),
    ]
    mask_items = [
        Item("sstfill.kernels.holes.make_holes", holes.make_holes, "function", ("make_holes",)),
        Item("sstfill.xr.land.find_land", land.find_land, "function", ("find_land",)),
    ]
    climatology_items = [
        Item("sstfill.xr.climatology.monthly_climatology", climatology.monthly_climatology, "function", ("monthly_climatology",)),
        _class(climatology.Climatology, "sstfill.xr.climatology.Climatology"),
    ]
    error_items = [Item(f"sstfill.{n}", getattr(errors, n), "exception", (n, f"sstfill.errors.{n}")) for n in errors.__all__]
    uncertainty_items = [
        _class(uncertainty.ErrorModel, "sstfill.kernels.uncertainty.ErrorModel"),
        Item("sstfill.kernels.uncertainty.error_features", uncertainty.error_features, "function", ("error_features",)),
        Item("sstfill.kernels.uncertainty.fit_error_model", uncertainty.fit_error_model, "function", ("fit_error_model",)),
        Item("sstfill.kernels.uncertainty.calibrate_scale", uncertainty.calibrate_scale, "function", ("calibrate_scale",)),
    ] + _functions("sstfill.evaluation.calibration")
    return [
        Section("Package layout", layout(), []),
        Section(
            "The `.inpaint` accessor",
            "`import sstfill` registers `.inpaint` on every xarray DataArray and Dataset.",
            fill_items,
        ),
        Section("Models and tiling", "What `fill` can use as `model=`, and the tile plan it cuts the field with.", model_items),
        Section("Masks and holes", _module_doc("sstfill.xr.land", 3), mask_items),
        Section("Long series: monthly climatology", _module_doc("sstfill.xr.climatology", 2), climatology_items),
        Section("Daily series: the neighbouring days' guess", _module_doc("sstfill.kernels.persistence", 1), _functions("sstfill.kernels.persistence")),
        Section("Plots", _module_doc("sstfill.plot"), _functions("sstfill.plot")),
        Section("Metrics", _module_doc("sstfill.evaluation.metrics"), _functions("sstfill.evaluation.metrics")),
        Section("Sample quality", _module_doc("sstfill.evaluation.quality"),
                [*_functions("sstfill.evaluation.quality"), _class(quality.BirthdayResult, "sstfill.evaluation.quality.BirthdayResult")]),
        Section("Uncertainty", _module_doc("sstfill.kernels.uncertainty", 2), uncertainty_items),
        Section("Errors", _module_doc("sstfill.errors", 2), error_items),
    ]


#: The layers of the package, bottom up: each imports only from the ones above it in this list.
LAYERS = ("sstfill.errors", "sstfill.atomic", "sstfill.kernels", "sstfill.models", "sstfill.training", "sstfill.evaluation", "sstfill.xr", "sstfill.plot", "sstfill.cli", "sstfill.testing")


def _first_line(module_name: str) -> str:
    doc = inspect.getdoc(importlib.import_module(module_name)) or ""
    return doc.split("\n\n")[0].replace("\n", " ").strip()


def layout() -> str:
    """The package's layers and modules, from their docstrings (bottom layer first)."""
    import pkgutil

    lines = [
        "Layers, bottom first: a module imports only from its own layer and the layers listed before it. "
        "`kernels` (numpy) and `models` (torch) know nothing of xarray or dask; `xr` is the only xarray/dask "
        "layer; `plot` and `cli` use the public API.",
        "",
        "| module | what it holds |",
        "|---|---|",
    ]
    for name in LAYERS:
        module = importlib.import_module(name)
        package = hasattr(module, "__path__")
        lines.append(f"| `{name}{'/' if package else ''}` | {_first_line(name)} |")
        for sub in sorted(m.name for m in pkgutil.iter_modules(getattr(module, "__path__", []), name + ".")):
            if not sub.rsplit(".", 1)[1].startswith("_"):
                lines.append(f"| `{sub}` | {_first_line(sub)} |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- signatures


def _annotation(text: Any) -> str:
    if text is inspect.Parameter.empty:
        return ""
    if isinstance(text, str):
        return text
    return inspect.formatannotation(text)


def _signature(name: str, obj: Any, kind: str) -> str | None:
    if kind == "accessor":
        return None
    if kind == "exception":
        bases = ", ".join(b.__name__ for b in obj.__bases__)
        return f"class {name}({bases})"
    target = obj.fget if kind == "property" else obj
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return None
    params, previous = [], None
    for p in sig.parameters.values():
        if p.name in ("self", "cls") or p.name.startswith("_"):
            continue
        if p.kind is p.KEYWORD_ONLY and previous not in (p.KEYWORD_ONLY, p.VAR_POSITIONAL):
            params.append("*")
        text = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "") + p.name
        ann = _annotation(p.annotation)
        if ann:
            text += f": {ann}"
        if p.default is not p.empty:
            text += f" = {p.default!r}" if ann else f"={p.default!r}"
        params.append(text)
        previous = p.kind
    returns = _annotation(sig.return_annotation)
    if kind == "class" and returns == "None":
        returns = ""
    tail = f" -> {returns}" if returns else ""
    if kind == "property":
        return f"{name}{': ' + returns if returns else ''}  # property"
    one_line = f"{name}({', '.join(params)}){tail}"
    if len(one_line) <= WIDTH or not params:
        return one_line
    return f"{name}(\n" + "".join(f"    {p},\n" for p in params) + f"){tail}"


# ----------------------------------------------------------------------------- numpydoc -> markdown

_ROLE = re.compile(r":(?:py:)?(?:func|meth|class|attr|data|mod|obj|exc):`~?([^`]+)`")
_DOUBLE = re.compile(r"``([^`]+)``")


class Renderer:
    def __init__(self, items: list[Item]) -> None:
        self.anchors: dict[str, str] = {}
        for item in self._walk(items):
            for key in (item.name, *item.aliases):
                self.anchors.setdefault(key, item.name)
        self.context = ""

    @staticmethod
    def _walk(items: list[Item]):
        for item in items:
            yield item
            yield from Renderer._walk(item.members)

    def _resolve(self, target: str) -> str | None:
        target = target.strip().rstrip("()")
        candidates = [target]
        if self.context:
            candidates.append(f"{self.context}.{target}")
        for c in candidates:
            if c in self.anchors:
                return self.anchors[c]
        matches = {v for k, v in self.anchors.items() if k.endswith("." + target)}
        return matches.pop() if len(matches) == 1 else None

    def inline(self, text: str) -> str:
        """rst inline markup -> markdown; escapes ``*`` and ``<`` outside code."""

        def role(m: re.Match) -> str:
            target = m.group(1)
            short = m.group(0).split("`")[1].startswith("~")
            anchor = self._resolve(target)
            shown = target.split(".")[-1] if short else (anchor or target)
            return f"[`{shown}`](#{anchor})" if anchor else f"`{shown}`"

        text = _DOUBLE.sub(r"`\1`", text)
        parts = re.split(r"(\[`[^`]*`\]\(#[^)]*\)|`[^`]*`)", _ROLE.sub(role, text))
        out = []
        for part in parts:
            if part.startswith("`") or part.startswith("[`"):
                out.append(part)
            else:
                out.append(part.replace("&", "&amp;").replace("<", "&lt;").replace("*", r"\*"))
        return "".join(out)

    def prose(self, lines: list[str]) -> str:
        paragraphs, current = [], []
        for line in lines + [""]:
            if line.strip():
                current.append(line.strip())
            elif current:
                paragraphs.append(self.inline(" ".join(current)))
                current = []
        return "\n\n".join(paragraphs)

    def entries(self, lines: list[str], title: str) -> str:
        """``name : type`` entries with indented descriptions -> a markdown list."""
        out, head, body = [], None, []

        def flush():
            if head is None:
                return
            name, _, typ = head.partition(" : ")
            description = self.prose(textwrap.dedent("\n".join(body)).splitlines())
            if title in ("Returns", "Yields", "Raises", "Warns") and not typ:
                text = f"- {self.inline(name)}"
            else:
                names = ", ".join(f"`{n.strip()}`" for n in name.split(","))
                text = f"- **{names}**" + (f" ({self.inline(typ.strip())})" if typ.strip() else "")
            if description:
                text += ": " + description.replace("\n\n", "\n\n    ")
            out.append(text)

        for line in lines:
            if line and not line[0].isspace():
                flush()
                head, body = line.strip(), []
            elif head is not None:
                body.append(line)
        flush()
        return "\n".join(out)

    @staticmethod
    def examples(lines: list[str], inline: Callable[[list[str]], str]) -> str:
        blocks, code, prose = [], [], []
        for line in lines + [""]:
            stripped = line.strip()
            if stripped.startswith(">>>") or (code and stripped):
                if prose:
                    blocks.append(inline(prose))
                    prose = []
                code.append(line.rstrip())
            elif code:
                blocks.append("```python\n" + "\n".join(textwrap.dedent("\n".join(code)).splitlines()) + "\n```")
                code = []
            elif stripped:
                prose.append(line)
            elif prose:
                blocks.append(inline(prose))
                prose = []
        return "\n\n".join(blocks)

    def docstring(self, doc: str) -> str:
        lines = doc.splitlines()
        chunks: list[tuple[str, list[str]]] = [("", [])]
        i = 0
        while i < len(lines):
            line = lines[i]
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            if line.strip() in _SECTION_NAMES and nxt.strip() and set(nxt.strip()) == {"-"}:
                chunks.append((line.strip(), []))
                i += 2
                continue
            chunks[-1][1].append(line)
            i += 1
        out = []
        for title, body in chunks:
            if not title:
                text = self.prose(body)
            elif title in _LISTED:
                text = f"**{title}**\n\n" + self.entries(body, title)
            elif title == "Examples":
                text = f"**{title}**\n\n" + self.examples(body, self.prose)
            else:
                text = f"**{title}**\n\n" + self.prose(body)
            if text.strip():
                out.append(text.strip())
        return "\n\n".join(out)

    def item(self, item: Item, level: int) -> str:
        self.context = item.name if item.members else self.context
        heading = "#" * level + f" {item.name} {{ #{item.name} }}"
        parts = [heading]
        sig = _signature(item.name, item.obj, item.kind)
        if sig:
            parts.append(f"```python\n{sig}\n```")
        doc = inspect.getdoc(item.obj)
        if item.kind == "exception" and doc == inspect.getdoc(Exception):
            doc = None
        if doc:
            parts.append(self.docstring(doc))
        text = "\n\n".join(parts)
        for member in item.members:
            text += "\n\n" + self.item(member, level + 1)
        if item.members:
            self.context = ""
        return text


def render() -> str:
    secs = sections()
    renderer = Renderer([i for s in secs for i in s.items])
    out = [
        "# API reference",
        "",
        "<!-- Generated by docs/gen_api.py from the docstrings; do not edit by hand. -->",
        "",
        "Names are written as you call them: `da.inpaint.fill(...)` is "
        "[`DataArray.inpaint.fill`](#DataArray.inpaint.fill), `ds.inpaint.train(...)` is "
        "[`Dataset.inpaint.train`](#Dataset.inpaint.train).",
    ]
    for s in secs:
        out += ["", f"## {s.title}", "", "\n\n".join(renderer.inline(p) for p in s.intro.split("\n\n"))]
        for item in s.items:
            out += ["", renderer.item(item, 3)]
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only check that docs/api.md is up to date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = API_MD.read_text(encoding="utf-8") if API_MD.exists() else ""
        if current != text:
            print(f"{API_MD} is out of date: run python docs/gen_api.py", file=sys.stderr)
            return 1
        print(f"{API_MD} is up to date")
        return 0
    API_MD.write_text(text, encoding="utf-8")
    print(f"wrote {API_MD}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
