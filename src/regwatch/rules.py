"""Rule packs: YAML compliance-as-code parsed into typed, validated objects (pure, no GX).

A pack is a folder ``checks/<pack>/``: ``_pack.yml`` (name, version, parameters)
and one file per rule family. Unknown keys, bad severities, duplicate ids, ids
outside the pack or family, unknown ``$parameters`` and unsupported expectations
all fail when the pack loads, with one line naming the file and the problem.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Mapping
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from regwatch.severity import Severity

#: How an alert of the rule ends (regwatch.alerts): a *condition* (an APR above a cap, a
#: borrower over a limit) resolves when it stops; an *event* (a large-value day, a typology
#: hit, a watch-list match) stays open until an analyst's decision closes it.
AlertKind = Literal["condition", "event"]
#: The kind of a rule that does not declare one, by family; any other family: condition.
FAMILY_KINDS: dict[str, AlertKind] = {"aml": "event"}
DEFAULT_KIND: AlertKind = "condition"


def default_kind(family: str) -> AlertKind:
    """The alert kind of a rule of ``family`` that declares none (``aml``: event)."""
    return FAMILY_KINDS.get(family, DEFAULT_KIND)


#: Expectations a rule may use, with the kwargs each accepts (beyond ``column``).
SUPPORTED_EXPECTATIONS: dict[str, frozenset[str]] = {
    "expect_column_values_to_be_between": frozenset({"min_value", "max_value", "strict_min", "strict_max"}),
    "expect_column_values_to_not_be_null": frozenset(),
    "expect_column_values_to_be_null": frozenset(),
    "expect_column_values_to_be_in_set": frozenset({"value_set"}),
    "expect_column_values_to_not_be_in_set": frozenset({"value_set"}),
    # column_A >= column_B row by row, e.g. the cap in force >= the loan's real APR
    "expect_column_pair_values_a_to_be_greater_than_b": frozenset({"or_equal", "ignore_row_if"}),
}
#: The columns an expectation reads: one column, or a pair.
_COLUMN_KWARGS = {"expect_column_pair_values_a_to_be_greater_than_b": ("column_A", "column_B")}
_ID = re.compile(r"^[a-z][a-z0-9]*\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
_PARAM = re.compile(r"^\$([a-z][a-z0-9_]*)$")


class RulePackError(ValueError):
    """A rule pack cannot be loaded; the message names the file and the problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Parameter(_Strict):
    value: Any
    source: str


class Rule(_Strict):
    """One rule: what it checks, where, why (legal basis), and what evidence it shows."""

    id: str
    title: str
    legal_basis: str
    severity: Severity
    kind: AlertKind
    valid_from: date
    valid_to: date | None = None
    model: str
    expectation: str
    kwargs: dict[str, Any]
    entity_key: str
    evidence: tuple[str, ...] = Field(min_length=1)
    message: str
    #: The pack parameters that shape ``model`` (read by it or by a model upstream of it, in
    #: dbt): with the kwargs' ``$name`` parameters, every parameter the rule's result depends
    #: on. None: not declared (a pack sealed before the key existed); ``check_model_parameters``
    #: requires it of every rule and checks it against the dbt manifest both ways.
    model_parameters: tuple[str, ...] | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_kind(cls, data: Any) -> Any:
        """A rule that declares no ``kind`` gets its family's (FAMILY_KINDS)."""
        if isinstance(data, dict) and data.get("kind") is None and isinstance(data.get("id"), str):
            parts = data["id"].split(".")
            if len(parts) == 3:
                return {**data, "kind": default_kind(parts[1])}
        return data

    @field_validator("id")
    @classmethod
    def _id_form(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f"rule id {value!r} is not <pack>.<family>.<slug> in lower case")
        return value

    @field_validator("expectation")
    @classmethod
    def _supported(cls, value: str) -> str:
        if value not in SUPPORTED_EXPECTATIONS:
            raise ValueError(
                f"expectation {value!r} is not supported (use one of {', '.join(sorted(SUPPORTED_EXPECTATIONS))})"
            )
        return value

    @model_validator(mode="after")
    def _coherent(self) -> Rule:
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise ValueError(f"valid_to {self.valid_to} is not after valid_from {self.valid_from}")
        columns = _COLUMN_KWARGS.get(self.expectation, ("column",))
        missing = [c for c in columns if c not in self.kwargs]
        if missing:
            raise ValueError(f"kwargs needs {' and '.join(missing)}: the column(s) the expectation checks")
        unknown = set(self.kwargs) - set(columns) - SUPPORTED_EXPECTATIONS[self.expectation]
        if unknown:
            raise ValueError(f"kwargs {sorted(unknown)} are not arguments of {self.expectation}")
        if self.model_parameters is not None and len(set(self.model_parameters)) != len(
            self.model_parameters
        ):
            raise ValueError("model_parameters names a parameter twice")
        return self

    @property
    def family(self) -> str:
        return self.id.split(".")[1]

    @property
    def column(self) -> str:
        """The checked column (of a pair, the one compared against the other: column_B)."""
        return str(self.kwargs.get("column", self.kwargs.get("column_B")))

    def applies_on(self, business_date: date) -> bool:
        """In force on ``business_date``: ``valid_from`` inclusive, ``valid_to`` exclusive.

        A retired rule's ``valid_to`` is the first day it no longer applies, so a
        successor can start on that same day without overlap.
        """
        return self.valid_from <= business_date and (self.valid_to is None or business_date < self.valid_to)

    def parameter_names(self) -> set[str]:
        """The parameters of the rule's own kwargs (``$name``)."""
        return {m.group(1) for v in self.kwargs.values() if isinstance(v, str) and (m := _PARAM.match(v))}

    def all_parameter_names(self) -> set[str]:
        """Every parameter the rule's result depends on: its kwargs' and its mart's (``model_parameters``)."""
        return self.parameter_names() | set(self.model_parameters or ())

    def resolved_kwargs(self, parameters: dict[str, Parameter]) -> dict[str, Any]:
        """The kwargs with every ``$name`` replaced by the pack parameter's value."""
        resolved = {}
        for key, value in self.kwargs.items():
            match = _PARAM.match(value) if isinstance(value, str) else None
            resolved[key] = parameters[match.group(1)].value if match else value
        return resolved


class _PackHeader(_Strict):
    name: str
    version: str
    title: str
    jurisdiction: str
    currency: str
    apr_convention: Literal["cn_irr", "cn_irr_compound", "us_reg_z", "eu_aprc"]
    parameters: dict[str, Parameter] = Field(default_factory=dict)


class _FamilyFile(_Strict):
    rules: tuple[Rule, ...]


class RulePack(_Strict):
    name: str
    version: str
    title: str
    jurisdiction: str
    currency: str
    apr_convention: str
    parameters: dict[str, Parameter]
    rules: tuple[Rule, ...]
    sha256: str

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def applicable(self, business_date: date) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.applies_on(business_date))


#: libyaml's parser when PyYAML was built with it (the wheels are), else PyYAML's own: the same
#: safe constructors, ~8x less CPU. A day's steps load the pack about ten times (0.12 CPU-s each
#: with the pure-Python parser: a second of every business day, issue 17).
_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise RulePackError(f"{path}{where}: not valid YAML ({getattr(error, 'problem', error)})") from error


def _first_problem(error: ValidationError) -> str:
    problem = error.errors()[0]
    location = ".".join(str(p) for p in problem["loc"])
    text = str(problem["msg"]).removeprefix("Value error, ")
    if problem["type"] == "extra_forbidden":
        text = "unknown key"
    return f"{location}: {text}" if location else text


def pack_digest(pack_dir: Path) -> str:
    """Content hash of every file of the pack, in name order: the pack's identity in the ledger."""
    digest = hashlib.sha256()
    for path in sorted(pack_dir.glob("*.yml")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def load_pack(pack_dir: Path) -> RulePack:
    header_path = pack_dir / "_pack.yml"
    if not header_path.is_file():
        raise RulePackError(f"no rule pack at {pack_dir} (missing _pack.yml)")
    try:
        header = _PackHeader.model_validate(_read_yaml(header_path))
    except ValidationError as error:
        raise RulePackError(f"{header_path}: {_first_problem(error)}") from error
    if header.name != pack_dir.name:
        raise RulePackError(
            f"{header_path}: pack name {header.name!r} does not match its folder {pack_dir.name!r}"
        )
    rules: list[Rule] = []
    seen: dict[str, Path] = {}
    for path in sorted(pack_dir.glob("*.yml")):
        if path.name == "_pack.yml":
            continue
        try:
            family = _FamilyFile.model_validate(_read_yaml(path))
        except ValidationError as error:
            raise RulePackError(f"{path}: {_first_problem(error)}") from error
        for rule in family.rules:
            where = f"{path}: rule {rule.id}"
            if rule.id in seen:
                raise RulePackError(f"{where}: duplicate id (also in {seen[rule.id].name})")
            pack_name, family_name = rule.id.split(".")[:2]
            if pack_name != header.name:
                raise RulePackError(f"{where}: id does not start with the pack name {header.name!r}")
            if family_name != path.stem:
                raise RulePackError(f"{where}: family {family_name!r} does not match the file {path.name}")
            unknown = rule.parameter_names() - set(header.parameters)
            if unknown:
                raise RulePackError(f"{where}: unknown parameter ${sorted(unknown)[0]}")
            unknown = set(rule.model_parameters or ()) - set(header.parameters)
            if unknown:
                raise RulePackError(f"{where}: model_parameters names unknown parameter {sorted(unknown)[0]}")
            seen[rule.id] = path
            rules.append(rule)
    return RulePack(
        **header.model_dump(exclude={"parameters"}),
        parameters=header.parameters,
        rules=tuple(sorted(rules, key=lambda r: r.id)),
        sha256=pack_digest(pack_dir),
    )


# --- What shapes a mart: the pack parameters its dbt lineage reads ---------------------------
#
# The active pack reaches dbt as the var ``pack`` (regwatch.transform), read three ways:
# the macros ``pack_param('name')`` (a SQL literal) and ``pack_value('name')`` (a Jinja value;
# also inside macros such as ``aging_bucket``), the raw ``var('pack')`` mapping
# (``.get('name')``), and a model config set from it in YAML (a Python model's
# ``dbt.config.get('name')``; the config key is the parameter's name).
# ``pack_defines([...])`` only enables a model for packs that have those parameters: it
# reads no value. A name computed in Jinja (``pack_value(id)`` over a list) counts as every
# parameter named in quotes in that model's code.

_ACCESSORS = frozenset({"pack_param", "pack_value", "pack_defines"})
_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
_DEFINES = re.compile(r"pack_defines\(\s*\[[^\]]*\]\s*\)")
_LITERAL_READ = re.compile(r"\b(?:pack_param|pack_value)\(\s*(['\"])([a-z][a-z0-9_]*)\1")
_COMPUTED_READ = re.compile(r"\b(?:pack_param|pack_value)\(\s*(?!['\"])[a-z_]")
_RAW_PACK = re.compile(r"\bvar\(\s*(['\"])pack\1")
_CONFIG_READ = re.compile(r"\bconfig\.get\(\s*(['\"])([a-z][a-z0-9_]*)\1")
_QUOTED = re.compile(r"(['\"])([a-z][a-z0-9_]*)\1")


def _code_reads(code: str, names: Collection[str]) -> set[str]:
    """The parameters among ``names`` that one model's or macro's Jinja/SQL/Python code reads."""
    code = _DEFINES.sub("", _COMMENT.sub("", code))
    found = {m.group(2) for m in _LITERAL_READ.finditer(code)}
    found |= {m.group(2) for m in _CONFIG_READ.finditer(code)}
    if _COMPUTED_READ.search(code) or _RAW_PACK.search(code):
        found |= {m.group(2) for m in _QUOTED.finditer(code)}
    return found & set(names)


def _model_nodes(manifest: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Every model of the manifest by unique id, disabled ones included (a pack's typology
    models are disabled in a manifest compiled for a pack without their parameters)."""
    nodes: dict[str, Mapping[str, Any]] = {
        uid: node for uid, node in manifest.get("nodes", {}).items() if node.get("resource_type") == "model"
    }
    for uid, versions in (manifest.get("disabled") or {}).items():
        for node in versions:
            if node.get("resource_type") == "model" and uid not in nodes:
                nodes[uid] = node
    return nodes


def _parents(node: Mapping[str, Any], by_name: Mapping[str, str]) -> list[str]:
    """The unique ids of the models ``node`` refs (a disabled node's refs are not resolved
    into ``depends_on``: they are looked up by name)."""
    parents = list(node.get("depends_on", {}).get("nodes", []))
    for ref in node.get("refs", []):
        name = str(ref.get("name") if isinstance(ref, Mapping) else ref[-1] if ref else "")
        if name in by_name:
            parents.append(by_name[name])
    return parents


def model_parameter_reads(manifest: Mapping[str, Any], names: Collection[str]) -> dict[str, frozenset[str]]:
    """Per dbt model name, the parameters among ``names`` that it or any model upstream of it reads.

    ``manifest`` is dbt's ``manifest.json`` (parsed or compiled, any pack's vars: the code
    is read as written). Macros count where they are used, transitively.
    """
    macros = manifest.get("macros", {})
    macro_memo: dict[str, frozenset[str]] = {}

    def macro_reads(uid: str, stack: frozenset[str] = frozenset()) -> frozenset[str]:
        if uid in macro_memo:
            return macro_memo[uid]
        macro = macros.get(uid)
        if macro is None or uid in stack:
            return frozenset()
        own = (
            set() if macro.get("name") in _ACCESSORS else _code_reads(str(macro.get("macro_sql", "")), names)
        )
        for child in macro.get("depends_on", {}).get("macros", []):
            own |= macro_reads(child, stack | {uid})
        macro_memo[uid] = frozenset(own)
        return macro_memo[uid]

    nodes = _model_nodes(manifest)
    by_name = {str(node["name"]): uid for uid, node in nodes.items()}
    direct: dict[str, set[str]] = {}
    for uid, node in nodes.items():
        own = _code_reads(str(node.get("raw_code", "")), names)
        own |= set(node.get("config", {})) & set(names)  # a config set from the pack in YAML
        for macro in node.get("depends_on", {}).get("macros", []):
            own |= macro_reads(macro)
        direct[uid] = own
    reads: dict[str, frozenset[str]] = {}
    for uid, node in nodes.items():
        seen: set[str] = set()
        todo = [uid]
        found: set[str] = set()
        while todo:
            current = todo.pop()
            if current in seen or current not in nodes:
                continue
            seen.add(current)
            found |= direct[current]
            todo.extend(_parents(nodes[current], by_name))
        reads[str(node["name"])] = frozenset(found)
    return reads


def read_dbt_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise RulePackError(f"{path}: cannot read the dbt manifest ({error})") from error
    return manifest


def check_model_parameters(pack: RulePack, manifest: Mapping[str, Any]) -> None:
    """Every rule's ``model`` exists in dbt and its ``model_parameters`` are exactly what the
    model's lineage reads; every problem of the pack in one RulePackError (one line: the CLI
    prints the first line of an error).

    Both directions are errors. A parameter the lineage reads but the rule does not declare
    would change the rule's result unseen (``rules show`` would not print it, ``audit diff``
    would not attribute its change): that is the point of the declaration. A declared
    parameter the lineage never reads would wrongly blame the rule for that parameter's
    changes and mislead whoever reads the rule, so it is refused too. A pack none of whose
    rules declares the key was sealed before it existed: it is not checked, so ``audit
    rerun`` and ``rebuild`` still replay the runs that recorded it; one rule declaring it
    makes every rule of the pack owe it.
    """
    if all(rule.model_parameters is None for rule in pack.rules):
        return  # a pack sealed before the key existed: audit rerun and rebuild replay it as it was
    reads = model_parameter_reads(manifest, pack.parameters)
    problems = []
    for rule in pack.rules:
        if rule.model not in reads:
            problems.append(f"rule {rule.id}: model {rule.model} is not a dbt model")
            continue
        read = reads[rule.model]
        if rule.model_parameters is None:
            listed = ", ".join(sorted(read)) or "[] (none)"
            problems.append(f"rule {rule.id}: no model_parameters; {rule.model} reads: {listed}")
            continue
        undeclared = read - set(rule.model_parameters)
        if undeclared:
            problems.append(
                f"rule {rule.id}: {rule.model} reads {', '.join(sorted(undeclared))}, not in its model_parameters"
            )
        unread = set(rule.model_parameters) - read
        if unread:
            problems.append(
                f"rule {rule.id}: model_parameters {', '.join(sorted(unread))} not read by {rule.model} or upstream"
            )
    if problems:
        raise RulePackError(f"rule pack {pack.name} against the dbt manifest: " + "; ".join(problems))
