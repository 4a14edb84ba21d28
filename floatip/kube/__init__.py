"""floatip's asyncio Kubernetes client: the operator's and the agent's one way to the API.

kopf stays the operator's framework (login, finalizers, its own watches); every other call of
the operator and every call of the agent goes through this small client over aiohttp:

- `config`: where the API server is and who we are (a kubeconfig or the in-cluster
  ServiceAccount, whose rotated token is re-read as client-go does).
- `client`: `Api`, a few REST verbs with JSON bodies and precise preconditions, and
  `ApiError`, the one error type: an error status, or no answer at all (code 0).
- `watching`: list, then watch from the list's resourceVersion, relist on 410 Gone.
- `paths`: the REST paths floatip uses.
"""
