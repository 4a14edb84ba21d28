"""``floatip crd``: print the VirtualIP CRD (or its reference docs) generated from the model."""

from __future__ import annotations

import click

from floatip.api import crd
from floatip.api import reference as reference_module


@click.command("crd")
@click.option("--reference", is_flag=True, help="Print the Markdown field reference instead.")
def crd_command(reference: bool) -> None:
    """Print the VirtualIP CustomResourceDefinition as YAML.

    crds/virtualip.yaml is this command's output, and docs/reference.md that of --reference;
    regenerate both after changing the model:
    floatip crd > crds/virtualip.yaml && floatip crd --reference > docs/reference.md
    """
    if reference:
        click.echo(reference_module.render_reference())
    else:
        click.echo(crd.render_crd(), nl=False)
