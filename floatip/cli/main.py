"""The ``floatip`` command: one root for every tool floatip ships."""

from __future__ import annotations

import click

from floatip.cli import lazy

#: subcommand -> "module:attribute" of its click command, imported when it is invoked.
COMMANDS: dict[str, str] = {
    "validate": "floatip.cli.validating:validate_command",
    "crd": "floatip.cli.crd:crd_command",
    "apiserver": "floatip_apiserver.cli:apiserver",
    "bench": "floatip.cli.benching:bench_group",
    "lab": "floatip.lab.cli:lab_group",
}


@click.group(
    cls=lazy.LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(package_name="floatip")
def cli() -> None:
    """floatip: highly available virtual IPs for bare-metal Kubernetes."""


def main() -> None:
    cli()
