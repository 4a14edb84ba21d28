"""The ``floatip`` command: one root for every tool floatip ships.

The product's own commands (``validate``, ``crd``, ``control-plane``) live here. The lab's
tools (``lab``, ``bench``, ``apiserver``) come from the floatip-lab distribution, which
registers them under the ``floatip.commands`` entry-point group; the product never imports the
lab. Without it, those names answer with the line that installs it.
"""

from __future__ import annotations

from importlib import metadata

import click

from floatip.cli import lazy

#: subcommand -> "module:attribute" of its click command, imported when it is invoked.
COMMANDS: dict[str, str] = {
    "validate": "floatip.cli.validating:validate_command",
    "crd": "floatip.cli.crd:crd_command",
    "control-plane": "floatip.cli.controlplane:control_plane_command",
}
#: The entry-point group through which other distributions add subcommands.
PLUGIN_GROUP = "floatip.commands"
#: Where the commands of the lab distribution come from, for a person who lacks it.
LAB_COMMANDS = ("lab", "bench", "apiserver")
LAB_INSTALL = "pip install floatip-lab (from a checkout: pip install -e ./apiserver -e ./lab)"


def plugins() -> dict[str, str]:
    """Subcommands registered by installed distributions (``floatip.commands``)."""
    return {point.name: point.value for point in metadata.entry_points(group=PLUGIN_GROUP)}


class FloatipGroup(lazy.LazyGroup):
    """The root group: a lab command without the lab installed says how to get it."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else None
        if name in LAB_COMMANDS and name not in self.lazy:
            raise click.UsageError(
                f"`floatip {name}` is part of floatip's lab, which is not installed: {LAB_INSTALL}"
            )
        return super().resolve_command(ctx, args)


@click.group(
    cls=FloatipGroup,
    lazy={**plugins(), **COMMANDS},
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(package_name="floatip")
def cli() -> None:
    """floatip: highly available virtual IPs for bare-metal Kubernetes."""


def main() -> None:
    cli()
