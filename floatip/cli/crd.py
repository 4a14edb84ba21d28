"""``floatip crd``: print the VirtualIP CRD generated from the model (the source of crds/)."""

from __future__ import annotations

import click

from floatip.api import crd


@click.command("crd")
def crd_command() -> None:
    """Print the VirtualIP CustomResourceDefinition as YAML.

    crds/virtualip.yaml is this command's output; regenerate it after changing the model:
    floatip crd > crds/virtualip.yaml
    """
    click.echo(crd.render_crd(), nl=False)
