"""The lab's pure parts: where a lab lives, its state file, its plan and its nginx config.

Proves:
- the default lab is ``/run/floatip-lab`` with tag ``main``; another state directory gets its
  own tag, so namespace prefixes of two labs never collide;
- the state file round-trips, and a corrupt or missing one gives a StateError that says
  `down` still works;
- free addresses lie in the data subnet and clear of every host's address;
- a lab planned on a larger data network (``--data-network``) builds its hosts there and
  records it; a state file written before that field existed reads as the default network;
- each node's nginx config answers its own name on port 80 (and on IPv6 when asked).
"""

from __future__ import annotations

import ipaddress
import json
import pathlib

import pytest

from floatip_lab import commands, lifecycle, naming, reporting, state, webservers


def test_default_and_private_labs_have_distinct_prefixes(tmp_path: pathlib.Path) -> None:
    default = state.locate({})
    assert (default.directory, default.tag) == (pathlib.Path("/run/floatip-lab"), "main")
    first = state.locate({state.STATE_DIR_ENV: str(tmp_path / "a")})
    second = state.locate({state.STATE_DIR_ENV: str(tmp_path / "b")})
    assert len({default.prefix, first.prefix, second.prefix}) == 3
    assert first.namespace("server1").startswith("fip-lab-")
    assert naming.owner_pid(first.namespace("server1")) is None  # the harness never reaps it


def test_state_round_trips_and_corruption_is_reported(tmp_path: pathlib.Path) -> None:
    place = state.Place(tmp_path, "t")
    with pytest.raises(state.StateError, match="no lab is up"):
        state.load(place)
    lab = state.LabState(tag="t", phase="ready", nodes=1, ipv6=False, switch="s", namespaces=["s"])
    lab.hosts["server1"] = state.HostRecord(
        "server1", "node", "ns", "192.0.2.11", None, "02:f1:00:00:00:01", None, "d-01", None
    )
    lab.faults.cut.append(["server1", "eth0"])
    state.save(place, lab)
    assert state.load(place) == lab
    place.state_file.write_text('{"version": 1, "tag": "t"}')
    with pytest.raises(state.StateError, match="still removes"):
        state.load(place)


def test_free_addresses_avoid_every_host() -> None:
    spec, _roles = lifecycle.plan(50, ipv6=True)
    hosts = {naming.data_ipv4(i).ip for i in range(1, len(spec.hosts) + 1)}
    free = [ipaddress.ip_address(a) for a in reporting.free_addresses(naming.DATA_V4)]
    assert free and all(a in naming.DATA_V4 and a not in hosts for a in free)
    free6 = [ipaddress.ip_address(a) for a in reporting.free_addresses(naming.DATA_V6)]
    assert all(a in naming.DATA_V6 for a in free6)


def test_plan_puts_api_and_operators_on_mgmt_only() -> None:
    spec, roles = lifecycle.plan(2, ipv6=False)
    by_name = {h.name: h for h in spec.hosts}
    assert [n for n, r in roles.items() if r == "node"] == ["server1", "server2"]
    assert all(by_name[n].mgmt and by_name[n].data for n in ("server1", "server2"))
    for name in ("api", "operator-1", "operator-2"):
        assert by_name[name].mgmt and not by_name[name].data
    assert not by_name["client"].mgmt and not by_name["intruder"].mgmt
    with pytest.raises(commands.LabError, match="1 to 50"):
        lifecycle.plan(0, ipv6=False)


def test_plan_on_a_larger_data_network(tmp_path: pathlib.Path) -> None:
    network = ipaddress.IPv4Network("198.18.0.0/20")
    spec, _roles = lifecycle.plan(3, ipv6=False, data_network=network)
    assert spec.data_v4 == network
    spec.validate()
    assert lifecycle.plan(3, ipv6=False)[0].data_v4 == naming.DATA_V4
    with pytest.raises(commands.LabError, match="too small"):
        lifecycle.plan(3, ipv6=False, data_network=ipaddress.IPv4Network("198.18.0.0/26"))

    place = state.Place(tmp_path, "t")
    lab = state.LabState(
        tag="t", phase="ready", nodes=3, ipv6=False, switch="s", namespaces=["s"],
        data_network=str(network),
    )  # fmt: skip
    state.save(place, lab)
    assert state.load(place).data_v4() == network
    written = json.loads(place.state_file.read_text())
    del written["data_network"]  # as a lab built before --data-network recorded it
    place.state_file.write_text(json.dumps(written))
    assert state.load(place).data_v4() == naming.DATA_V4
    assert reporting.free_addresses(network)[0] == "198.18.0.100"


@pytest.mark.parametrize("ipv6", [False, True])
def test_nginx_config_answers_the_node_name(ipv6: bool) -> None:
    conf = webservers.build_config(name="server7", root=pathlib.Path("/x"), ipv6=ipv6)
    assert 'return 200 "server7\\n";' in conf
    assert "listen 80;" in conf
    assert ("listen [::]:80;" in conf) is ipv6
    assert "pid /x/nginx.pid;" in conf
