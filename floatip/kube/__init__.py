"""floatip's asyncio Kubernetes client: the operator's and the agent's one way to the API.

kopf stays the operator's framework (login, finalizers, its own watches); every other call of
the operator and every call of the agent goes through this small client, which speaks
HTTP/1.1 with h11 over asyncio's streams and imports neither aiohttp nor, for the credentials
the agent meets, the ``kubernetes`` package (the agent's memory, docs/tuning.md):

- `config`: where the API server is and who we are (a kubeconfig or the in-cluster
  ServiceAccount, whose rotated token is re-read as client-go does); `credentials` reads the
  in-cluster account and plain kubeconfigs, the ``kubernetes`` package every other form.
- `client`: `Api`, a few REST verbs with JSON bodies and precise preconditions, and
  `ApiError`, the one error type: an error status, or no answer at all (code 0);
  `connections`: its pool of kept-alive connections.
- `watching`: list, then watch from the list's resourceVersion, relist on 410 Gone.
- `paths`: the REST paths floatip uses.
"""
