"""``floatip lab``: build, inspect, break and remove the lab (the newcomer's demo ground).

Commands: ``up [--nodes N] [--ipv6] [--data-network CIDR] [--control-plane N
[--second-cluster]]``, ``down``, ``status [--json]``,
``exec HOST -- CMD...`` and ``fault FAULT [HOST]``. The lab lives across invocations in its
state directory (``/run/floatip-lab``, or ``$FLOATIP_LAB_STATE_DIR``; see
`floatip_lab.state`). Progress goes to stderr; ``status --json`` prints one JSON object as
its last stdout line.
"""

from __future__ import annotations

import ipaddress
import json
import os
import sys

import click

from floatip_lab import commands, faults, lifecycle, naming, reporting, state


def _say(message: str) -> None:
    click.echo(f"lab: {message}", err=True)


def _fail(exc: commands.LabError) -> None:
    raise click.ClickException(str(exc)) from exc


def _data_network(ctx: click.Context, param: click.Parameter, value: str) -> ipaddress.IPv4Network:
    try:
        return naming.check_data_network(ipaddress.IPv4Network(value))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.group("lab")
def lab_group() -> None:
    """A whole floatip cluster on this machine, in network namespaces (needs root).

    State: /run/floatip-lab (override with FLOATIP_LAB_STATE_DIR=DIR for a separate lab).
    """


@lab_group.command("up")
@click.option("--nodes", type=int, default=2, show_default=True, help="servers to build")
@click.option("--ipv6", is_flag=True, help="give the data LAN IPv6 addresses too")
@click.option(
    "--no-floatip", is_flag=True, help="build the ground only: start no agent or operator"
)
@click.option(
    "--profile",
    type=click.Choice(["default", "fast"]),
    default="default",
    show_default=True,
    help="failure-detection preset of the operator and the agents (docs/tuning.md)",
)
@click.option(
    "--data-network",
    default=str(naming.DATA_V4),
    show_default=True,
    callback=_data_network,
    help="the data LAN's IPv4 network, /24 or larger: room for more VIPs (e.g. 198.18.0.0/20)",
)
@click.option(
    "--control-plane",
    type=click.IntRange(0, 5),
    default=0,
    show_default=True,
    help="also build control-plane hosts cp1..cpN: a stand-in kube-apiserver on :6443 each "
    "and floatip-control-plane-agent for one VIP (docs/lab.md)",
)
@click.option(
    "--second-cluster",
    is_flag=True,
    help="with --control-plane N: a second cluster cpb1..cpbN, its own VIP and identity",
)
def up_command(  # noqa: PLR0917 (one parameter per option, as click passes them)
    nodes: int,
    ipv6: bool,
    no_floatip: bool,
    profile: str,
    data_network: ipaddress.IPv4Network,
    control_plane: int,
    second_cluster: bool,
) -> None:
    """Build the lab and return when it answers; it keeps running until `floatip lab down`."""
    place = state.locate()
    try:
        lab = lifecycle.up(
            place,
            nodes=nodes,
            ipv6=ipv6,
            say=_say,
            with_floatip=not no_floatip,
            profile=profile,
            data_network=data_network,
            control_plane=control_plane,
            second_cluster=second_cluster,
        )
    except commands.LabError as exc:
        _fail(exc)
    else:
        click.echo(reporting.describe(reporting.build_status(place, lab)))
        _say(f"ready. Try: floatip lab exec client -- curl -s http://{lab.host('server1').ip}/")


@lab_group.command("down")
def down_command() -> None:
    """Remove the lab: processes, namespaces, state files (also a half-built one)."""
    place = state.locate()
    try:
        removed = lifecycle.down(place, say=_say)
    except commands.LabError as exc:
        _fail(exc)
    else:
        _say(f"removed {len(removed)} namespaces" if removed else "no lab was up; nothing to do")


@lab_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="one JSON object on the last line")
def status_command(as_json: bool) -> None:
    """Show the lab's hosts, addresses, processes and faults in force."""
    place = state.locate()
    try:
        status = reporting.build_status(place, state.load(place))
    except commands.LabError as exc:
        _fail(exc)
    else:
        click.echo(json.dumps(status, sort_keys=True) if as_json else reporting.describe(status))


@lab_group.command(
    "exec", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False}
)
@click.argument("host")
@click.argument("argv", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_command(host: str, argv: tuple[str, ...]) -> None:
    """Run CMD inside HOST's namespace: `floatip lab exec client -- curl -s http://...`."""
    command = list(argv[1:] if argv and argv[0] == "--" else argv)
    if not command:
        raise click.UsageError("give a command after HOST: `floatip lab exec client -- ip addr`")
    place = state.locate()
    try:
        netns = state.load(place).host(host).netns
    except commands.LabError as exc:
        _fail(exc)
    sys.stdout.flush()
    os.execvp("ip", ["ip", "netns", "exec", netns, *command])


@lab_group.command("fault")
@click.argument("fault", type=click.Choice([f.value for f in faults.Fault]))
@click.argument("host", required=False)
def fault_command(fault: str, host: str | None) -> None:
    """Inject FAULT (on HOST where it takes one); `heal` undoes every fault in force.

    \b
    kill-node HOST     power loss: processes SIGKILLed, links down
    freeze-node HOST   SIGSTOP every process of the node
    cut-data HOST      pull HOST's data LAN cable at the switch
    cut-mgmt HOST      pull HOST's management cable at the switch
    heal               undo every cut, freeze, kill, api-down and stop-pod
    api-down / api-up  API server refuses connections / serves again (state kept)
    restart-operator   stop and start every operator replica
    kill-leader        SIGKILL the operator replica holding the leader Lease
    restart-agent [HOST]  stop and start the agent (of HOST, default every node)
    stop-pod NODE      NODE's web Pod not ready (its readiness probe fails): the lab's
                       endpoints controller marks its endpoint not ready
    start-pod NODE     NODE's web Pod ready again
    stop-apiserver CP  stop control-plane host CP's stand-in kube-apiserver (:6443)
    start-apiserver CP start it again (`api-down` is the store down: every one fails)
    """
    place = state.locate()
    try:
        lab = state.load(place)
        faults.inject(place, lab, faults.Fault(fault), host, _say)
    except commands.LabError as exc:
        _fail(exc)


@lab_group.command("demo")
@click.option("--keep", is_flag=True, help="leave the lab up afterwards")
def demo_command(keep: bool) -> None:
    """The seed's story in under two minutes: failover, switchover back, a stolen address."""
    from floatip_lab import demo

    try:
        steps = demo.run(click.echo, keep=keep)
    except commands.LabError as exc:
        _fail(exc)
    else:
        if not all(step.ok for step in steps):
            raise click.ClickException("the demo saw floatip misbehave: see the summary above")
