"""``floatip crd``: print a CRD of floatip (or the reference docs) generated from the model."""

from __future__ import annotations

import click

from floatip.api import crd, names
from floatip.api import reference as reference_module


@click.command("crd")
@click.option(
    "--kind",
    type=click.Choice(sorted(crd.KINDS)),
    default=names.KIND,
    show_default=True,
    help="Which CRD to print.",
)
@click.option("--reference", is_flag=True, help="Print the Markdown field reference instead.")
def crd_command(kind: str, reference: bool) -> None:
    """Print a CustomResourceDefinition of floatip as YAML.

    crds/virtualip.yaml and crds/virtualippool.yaml are this command's output, and
    docs/reference.md that of --reference (both kinds); regenerate them after changing the
    model: floatip crd > crds/virtualip.yaml &&
    floatip crd --kind VirtualIPPool > crds/virtualippool.yaml &&
    floatip crd --reference > docs/reference.md
    """
    if reference:
        click.echo(reference_module.render_reference())
    else:
        click.echo(crd.render_crd(kind), nl=False)
