"""``floatip validate``: check VirtualIP and VirtualIPPool manifests, and LoadBalancer Services
for floatip, before they reach a cluster.

Made for GitOps pipelines (a pre-commit hook, a CI step before Argo CD or Flux syncs): it
reads multi-document YAML, validates every VirtualIP and VirtualIPPool with the same rules the
model applies (`floatip.api.validation`), every Service floatip serves or that carries its
annotations by what the operator reads of it (`floatip.api.servicerequests`), checks that the
members of each group (``spec.group``) agree across every file read (`floatip.api.groups`), and
prints each problem with its file, document index and field path. A ``List`` (what ``kubectl get
-o yaml`` prints for several objects) is read item by item, its items numbered ``DOC.ITEM``, so
``kubectl get svc -A -o yaml | floatip validate -`` judges a live cluster's Services. Exit codes
are a contract: 0 all valid, 1 some object invalid, 2 a file unreadable or not YAML.
"""

from __future__ import annotations

import dataclasses
import pathlib
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

import click
import yaml

from floatip.api import groups, model, names, services, validation

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_UNREADABLE = 2
_KINDS = " or ".join(validation.MANIFEST_VALIDATORS)
_VALIDATORS = {
    **validation.MANIFEST_VALIDATORS,
    validation.SERVICE_KIND: validation.validate_service_manifest,
}


@dataclasses.dataclass(frozen=True)
class Finding:
    """One line of the report, about one document of one file."""

    file: str
    #: the document's index in the file, ``"DOC.ITEM"`` for an item of a List; None: the file
    document: int | str | None
    severity: str  # "error", "note" or "ok"
    text: str

    def __str__(self) -> str:
        where = self.file if self.document is None else f"{self.file}[{self.document}]"
        return f"{where}: {self.severity}: {self.text}"


class Member(NamedTuple):
    """A valid VirtualIP that names a group, and where it was read."""

    file: str
    document: int | str
    name: str
    spec: model.VirtualIPSpec


@dataclasses.dataclass
class Report:
    findings: list[Finding] = dataclasses.field(default_factory=list)
    valid: int = 0
    invalid: int = 0
    unreadable: int = 0
    #: every valid VirtualIP naming a spec.group, by group (checked across all files)
    members: dict[str, list[Member]] = dataclasses.field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        if self.unreadable:
            return EXIT_UNREADABLE
        return EXIT_INVALID if self.invalid else EXIT_VALID


def validate_files(paths: Iterable[str]) -> Report:
    """Validate every VirtualIP, VirtualIPPool and floatip Service in ``paths`` ("-" reads
    standard input)."""
    report = Report()
    for path in paths:
        try:
            text = sys.stdin.read() if path == "-" else pathlib.Path(path).read_text()
        except (OSError, UnicodeDecodeError) as exc:
            report.unreadable += 1
            report.findings.append(Finding(path, None, "error", f"cannot read the file: {exc}"))
            continue
        _validate_text(path, text, report)
    _check_groups(report)
    return report


def _check_groups(report: Report) -> None:
    """Members of one group, across every file read, must agree (`floatip.api.groups`): the
    operator would ignore their pins and preferences (GroupConflict)."""
    for group, members in sorted(report.members.items()):
        agreed = groups.agreement(group, [(m.name, m.spec) for m in members])
        if not agreed.conflict:
            continue
        for member in members:
            report.invalid += 1
            report.valid -= 1
            text = f"{names.KIND} {member.name!r}: spec.group: {agreed.conflict}"
            error = Finding(member.file, member.document, "error", text)
            report.findings = [  # its "is valid" line becomes the error
                error if (f.file, f.document, f.severity) == (error.file, error.document, "ok")
                else f
                for f in report.findings
            ]  # fmt: skip


def _validate_text(path: str, text: str, report: Report) -> None:
    try:
        documents = list(_documents(text))
    except yaml.YAMLError as exc:
        report.unreadable += 1
        report.findings.append(
            Finding(path, None, "error", f"not valid YAML: {_yaml_error(exc)}; fix the syntax")
        )
        return
    seen = False
    for index, document in documents:
        if document is None:
            continue
        kind = validation.floatip_kind(document)
        if kind is None and validation.concerns_floatip(document):
            kind = validation.SERVICE_KIND
        elif kind is None and validation.is_service(document):
            text = f"skipped: a Service floatip does not serve ({_service_class(document)})"
            report.findings.append(Finding(path, index, "note", text))
            continue
        if kind is None:
            other = document.get("kind", "?") if isinstance(document, dict) else type(document)
            report.findings.append(
                Finding(path, index, "note", f"skipped: not a {_KINDS} (kind {other})")
            )
            continue
        seen = True
        name = _name_of(document)
        problems = _VALIDATORS[kind](document)
        if problems:
            report.invalid += 1
            for problem in problems:
                report.findings.append(Finding(path, index, "error", f"{kind} {name}: {problem}"))
        else:
            report.valid += 1
            report.findings.append(Finding(path, index, "ok", f"{kind} {name} is valid"))
            _note_member(report, path, index, document)
    if not seen:
        report.findings.append(Finding(path, None, "note", f"no {_KINDS} in this file"))


def _note_member(report: Report, path: str, index: int | str, document: dict[str, Any]) -> None:
    if not validation.is_virtualip(document):
        return
    spec = validation.parse_spec(document["spec"])
    if spec.group is not None:
        member = Member(path, index, str(document["metadata"]["name"]), spec)
        report.members.setdefault(spec.group, []).append(member)


def _service_class(document: Mapping[str, Any]) -> str:
    spec = document.get("spec")
    if not isinstance(spec, dict):
        spec = {}
    kind = spec.get("type") or "ClusterIP"
    if kind != services.LOAD_BALANCER:
        return f"type {kind}"
    return f"loadBalancerClass {spec.get('loadBalancerClass')}"


def _documents(text: str) -> Iterator[tuple[int | str, Any]]:
    for index, document in enumerate(yaml.safe_load_all(text)):
        if _is_list(document):
            for item_index, item in enumerate(document["items"]):
                yield f"{index}.{item_index}", item
        else:
            yield index, document


def _is_list(document: Any) -> bool:
    """A core/v1 ``List`` or a typed one (``ServiceList``...): what kubectl prints for several."""
    return (
        isinstance(document, dict)
        and str(document.get("kind", "")).endswith("List")
        and isinstance(document.get("items"), list)
    )


def _name_of(document: dict[str, Any]) -> str:
    metadata = document.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return repr(name) if isinstance(name, str) else "(unnamed)"


def _yaml_error(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    return str(problem)


@click.command("validate")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("-q", "--quiet", is_flag=True, help="Print problems only, not valid objects.")
def validate_command(files: tuple[str, ...], quiet: bool) -> None:
    """Validate VirtualIP and VirtualIPPool manifests, and the LoadBalancer Services floatip
    serves or that carry its annotations, in FILE... ('-' for standard input).

    Exit status: 0 when every one is valid, 1 when any is invalid, 2 when a file
    cannot be read or is not YAML. Documents of other kinds are skipped with a note.
    """
    report = validate_files(files)
    for finding in report.findings:
        if quiet and finding.severity != "error":
            continue
        click.echo(str(finding))
    summary = f"{report.valid} valid, {report.invalid} invalid floatip object(s)"
    if report.unreadable:
        summary += f", {report.unreadable} unreadable file(s)"
    click.echo(summary)
    sys.exit(report.exit_code)
