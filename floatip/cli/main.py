"""The ``floatip`` command: one root for every tool floatip ships.

Subcommands are imported only when they run, so ``floatip validate`` in a CI job does not
pay for scapy or kopf.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

#: subcommand -> "module:attribute" of its click command, imported when it is invoked.
LAZY_COMMANDS: dict[str, str] = {
    "validate": "floatip.cli.validating:validate_command",
    "crd": "floatip.cli.crd:crd_command",
}


class LazyGroup(click.Group):
    """A click group whose subcommands live in modules imported on first use."""

    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module_name, _, attribute = self.lazy[cmd_name].partition(":")
            command = getattr(importlib.import_module(module_name), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.lazy[cmd_name]} is not a click command")
            return command
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=LazyGroup,
    lazy=LAZY_COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(package_name="floatip")
def cli() -> None:
    """floatip: highly available virtual IPs for bare-metal Kubernetes."""


def main() -> None:
    cli()
