"""The lab's endpoints controller: a lab part standing in for kube-controller-manager's.

floatip places a Service's address by its EndpointSlices (which nodes have a ready endpoint)
and kube-proxy sends its traffic by them; in a cluster kube-controller-manager's EndpointSlice
controller writes them. The lab runs no controller manager, so this process plays that
controller (``python -m floatip_lab.endpoints --kubeconfig K``, started by `floatip_lab.standins`
on the API server's host, like the relay): it watches Services, Pods and the slices it manages
(`floatip_lab.informers`) and makes the slices of each Service that changed what
`floatip_lab.endpointslices` says. Like the real controller it works per Service: a change to a
Service queues that Service, a change to a Pod queues the Services selecting it (before or
after), a change to a slice queues its Service (an `informers.Queue`); a pass plans only the
queued Services (after a (re)list, every one), so a thousand Services being created cost a
thousand small plans, not a thousand plans of every Service. Its writes go out `WORKERS` at a
time, as the real controller syncs `--concurrent-service-endpoint-syncs` (default 5) Services
at once: a pod that every Service selects changes all their slices, and one write after
another would make the last Service wait for all the others. A plan writes each slice once,
so no two writes race; a refused write (a 409 after another write) queues its pass's Services
again. It writes ``--ready-file`` once its first pass is done.

How fast, against the real one (kube-controller-manager's EndpointSlice controller, at its
defaults): a Pod's readiness change queues every Service selecting the Pod at once
(``--endpoint-updates-batch-period`` is 0: no batching delay), in the order of a Go map's
iteration, which is random, and its workers take them from that queue. So the stand-in
writes a pass in random order, not by name (by name, a Service named late, such as
``bench services``' Local one behind 100 others, was always written last). It writes as
soon as it is woken, through kept connections (`floatip_lab.kubeapi`), as client-go does. It
is faster than the real one in one way: the real controller's client is limited to
``--kube-api-qps`` 20 requests a second after a burst of ``--kube-api-burst`` 30, which the
stand-in does not imitate; a Pod selected by more than 30 Services has its slices written
over several seconds there. Each pass prints one line: when it began (UTC), its writes by
verb and how long they took.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import datetime
import pathlib
import random
import sys
import threading
import time
from collections.abc import Sequence

from floatip_lab import endpointslices, informers, kubeapi

SERVICES = "/api/v1/services"
PODS = "/api/v1/pods"
SLICES = f"/apis/{endpointslices.API_VERSION}/endpointslices"
RETRY_SECONDS = 0.2
#: Slices written at once: kube-controller-manager's --concurrent-service-endpoint-syncs default.
WORKERS = 5


def _slices_path(namespace: str) -> str:
    return f"/apis/{endpointslices.API_VERSION}/namespaces/{namespace}/endpointslices"


class Controller:
    """The informers and the one loop that writes."""

    def __init__(self, client: kubeapi.Client) -> None:
        self.client = client
        self.changed = threading.Event()
        self.queue = informers.Queue(self.changed)
        selector = f"{endpointslices.MANAGED_BY}={endpointslices.CONTROLLER}"
        self.services = informers.Informer(client, SERVICES, self.changed, queue=self.queue)
        self.pods = informers.Informer(
            client, PODS, self.changed, queue=self.queue, keys=self._selecting
        )
        self.slices = informers.Informer(
            client, SLICES, self.changed, label_selector=selector, queue=self.queue,
            keys=lambda obj: [key] if (key := endpointslices.owner(obj)) is not None else [],
        )  # fmt: skip
        self._writers = concurrent.futures.ThreadPoolExecutor(WORKERS, "endpoints-write")

    def start(self) -> None:
        for informer in (self.services, self.pods, self.slices):
            informer.start()
        for informer in (self.services, self.pods, self.slices):
            informer.synced.wait()

    def _selecting(self, pod: informers.Obj) -> list[informers.Key]:
        """The Services a Pod's change concerns: those selecting it (before or after)."""
        return endpointslices.selecting(self.services.items(), [pod])

    def sync(self) -> bool:
        """One pass: the writes the queued Services call for. False if one failed (their
        Services are queued again)."""
        began, started = datetime.datetime.now(datetime.UTC), time.perf_counter()
        keys, everything = self.queue.take()
        services = self.services.items()
        if not everything:
            services = [s for s in services if informers.key_of(s) in keys]
        writes = endpointslices.plan(services, self.pods.items(), self.slices.items())
        random.shuffle(writes)  # the real controller's queue order: a Go map's (module doc)
        done = list(self._writers.map(self._try, writes))
        if writes:
            verbs = dict(collections.Counter(w.verb for w in writes))
            failed = f", {done.count(False)} failed" if not all(done) else ""
            took = 1000 * (time.perf_counter() - started)
            print(f"endpoints: {began:%H:%M:%S.%f} pass: {len(writes)} writes {verbs} in "
                  f"{took:.0f} ms{failed}", flush=True)  # fmt: skip
        if not all(done):
            if everything:
                self.queue.add_everything()
            self.queue.add(keys)
        return all(done)

    def _try(self, write: endpointslices.Write) -> bool:
        try:
            self._apply(write)
        except kubeapi.ApiError as exc:
            print(f"endpoints: {write.verb} {write.namespace}/{write.name}: {exc}", flush=True)
            return False
        return True

    def _apply(self, write: endpointslices.Write) -> None:
        path = _slices_path(write.namespace)
        if write.verb == "create":
            created = self.client.request("POST", path, dict(write.body))
            self.slices.put(created)
            print(f"endpoints: created {write.namespace}/{created['metadata']['name']}", flush=True)
        elif write.verb == "update":
            self.slices.put(self.client.request("PUT", f"{path}/{write.name}", dict(write.body)))
        else:
            try:
                self.client.request("DELETE", f"{path}/{write.name}")
            except kubeapi.ApiError as exc:
                if exc.status != 404:
                    raise
            self.slices.forget((write.namespace, write.name))
            print(f"endpoints: deleted {write.namespace}/{write.name}", flush=True)

    def run(self, ready_file: pathlib.Path | None) -> None:
        self.start()
        while True:
            self.changed.wait()
            self.changed.clear()
            if not self.sync():
                time.sleep(RETRY_SECONDS)
            elif ready_file is not None and not ready_file.exists():
                ready_file.parent.mkdir(parents=True, exist_ok=True)
                ready_file.write_text("synced\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``--kubeconfig PATH [--ready-file PATH]``."""
    parser = argparse.ArgumentParser(prog="python -m floatip_lab.endpoints")
    parser.add_argument("--kubeconfig", type=pathlib.Path, required=True)
    parser.add_argument("--ready-file", type=pathlib.Path)
    args = parser.parse_args(argv)
    print("lab endpoints controller (stand-in for the EndpointSlice controller)", flush=True)
    Controller(kubeapi.Client(args.kubeconfig, timeout=10)).run(args.ready_file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
