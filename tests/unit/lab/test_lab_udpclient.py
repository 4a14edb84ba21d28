"""The many-VIP asker's wire and bookkeeping (floatip_lab.whoami, floatip_lab.udpclient). Proves:

- an answer carries the question back and the node's name; anything shorter is no answer;
- the responder reads the address a question was sent to from its IP_PKTINFO message;
- VIPs arrive on the asker's input in any chunks (a line cut short waits for its rest), once;
- the asker records only changes of a VIP's answering node, is done with a VIP once a node
  it waits for answered it (any node when it waits for none), and counts answers that do not
  match the VIP they claim to be from as foreign;
- the benchmark reads the asker's records as they grow, each line once, a half-written one
  only when it is complete.
"""

from __future__ import annotations

import io
import json
import pathlib
import socket
import subprocess

from floatip_lab import session, timeline, udpclient, whoami


def test_answers_carry_the_question_and_the_node_name() -> None:
    asked = whoami.question(1234.5, 7)

    assert whoami.read_answer(whoami.answer(asked, "server2")) == (1234.5, 7, "server2")
    assert whoami.read_answer(asked) is None
    assert whoami.read_answer(b"") is None


def test_the_destination_comes_from_the_pktinfo_message() -> None:
    data = whoami.PKTINFO.pack(3, socket.inet_aton("198.18.0.11"), socket.inet_aton("198.18.0.100"))

    assert whoami.destination([(socket.IPPROTO_IP, whoami.IP_PKTINFO, data)]) == socket.inet_aton(
        "198.18.0.100"
    )
    assert whoami.destination([(socket.SOL_SOCKET, 1, data)]) is None
    assert whoami.destination([]) is None


def test_vips_arrive_in_any_chunks_once() -> None:
    asker = udpclient.Asker(set(), io.StringIO())

    asker.add("198.18.0.100\n198.18.0.1")
    assert asker.vips == ["198.18.0.100"]
    asker.add("01\n198.18.0.100\n\n198.18.0.102")
    assert asker.vips == ["198.18.0.100", "198.18.0.101"]
    asker.add("", ended=True)
    assert asker.vips == ["198.18.0.100", "198.18.0.101", "198.18.0.102"]
    assert asker.index["198.18.0.102"] == 2


def _reply(index: int, node: str) -> bytes:
    return whoami.answer(whoami.question(10.0, index), node)


def test_only_changes_are_recorded_and_awaited_nodes_end_the_asking() -> None:
    sink = io.StringIO()
    asker = udpclient.Asker({"server2", "server3"}, sink)
    asker.add("198.18.0.100\n198.18.0.101\n", ended=True)

    asker.heard(_reply(0, "server1"), "198.18.0.100", 10.1)
    asker.heard(_reply(0, "server1"), "198.18.0.100", 10.2)
    assert asker.pending() == [0, 1]
    asker.heard(_reply(0, "server2"), "198.18.0.100", 11.0)
    asker.heard(_reply(1, "server1"), "198.18.0.100", 11.1)  # claims the other VIP: foreign
    asker.heard(_reply(5, "server1"), "198.18.0.100", 11.2)  # no such VIP: foreign

    assert asker.pending() == [1]
    records = [timeline.Answer.from_json(line) for line in sink.getvalue().splitlines()]
    assert [(a.vip, a.node, a.time) for a in records] == [
        ("198.18.0.100", "server1", 10.1),
        ("198.18.0.100", "server2", 11.0),
    ]
    assert records[0].sent == 10.0
    assert asker.counts == {"answers": 3, "foreign": 2}
    assert json.loads(json.dumps(asker.counts)) == {"answers": 3, "foreign": 2}


def test_without_awaited_nodes_any_answer_ends_the_asking() -> None:
    asker = udpclient.Asker(set(), io.StringIO())
    asker.add("198.18.0.100\n", ended=True)

    asker.heard(_reply(0, "server3"), "198.18.0.100", 1.0)

    assert asker.pending() == []


def test_records_are_read_as_they_grow(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "answers.jsonl"
    first = timeline.Answer("198.18.0.100", "server1", 1.0, 1.1)
    second = timeline.Answer("198.18.0.100", "server2", 2.0, 2.1)
    recording = session.Recording(subprocess.Popen(["true"]), path)
    assert recording.answers() == []

    path.write_text(first.to_json() + "\n" + second.to_json()[:10])
    assert recording.answers() == [first]
    with path.open("a") as out:
        out.write(second.to_json()[10:] + "\n")
    assert recording.answers() == [first, second]
    assert recording.answers() == [first, second]
    recording.stop()
