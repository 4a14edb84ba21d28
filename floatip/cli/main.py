"""The ``floatip`` command: one root for every tool floatip ships."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="floatip")
def cli() -> None:
    """floatip: highly available virtual IPs for bare-metal Kubernetes."""


def main() -> None:
    cli()
