"""The Vertex AI backend's service layer: clients for Vertex AI and Cloud Storage, and datasets.

Modules (import what you use; this package's ``__init__`` imports nothing, so the pure modules
stay usable offline, by ``tuned-models validate``, without loading an HTTP client):

- :mod:`.client`: :class:`~.client.VertexClient` (tuning jobs, Model Registry models, endpoints,
  operations, ``generateContent``), over the shared HTTP core (:mod:`tuned_models.rest`);
- :mod:`.storage`: :class:`~.storage.StorageClient` (create-only, resumable dataset uploads);
- :mod:`.endpoint`: ``connect(endpoint, project=..., location=...)`` and ``connect_storage(...)``
  for Google's hosts, a URL, or the embedded emulator; :mod:`.auth`: the credentials;
- :mod:`.datasets` (pure): the product's datasets as Vertex's ``contents`` JSONL, checked and
  digested; :mod:`.upload`: that JSONL into Cloud Storage, named by its digest;
- :mod:`.labels` (pure): the identity labels of a tuning job of one's own; :mod:`.names` (pure):
  hosts and resource names; :mod:`.types`: the responses; :mod:`.errors`: operation errors.

Errors are the shared typed errors (:mod:`tuned_models.rest.errors`), so ``except NotFound``
works across services. This package never imports the emulator.
"""
