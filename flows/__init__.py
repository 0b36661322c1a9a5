"""The pure flow engine and the shipped flow definitions: events in, effects out.

No Qt, no devices, no I/O (checked by the import-linter contracts in CI).

* :mod:`flows.engine` — :class:`~flows.engine.FlowEngine`: one citizen session at a time,
  ``start(flow, item, devices=…, online=…)`` and ``feed(event)`` return effects.
* :mod:`flows.events` — the events (citizen actions, device/platform results, ``Tick``) and
  the effects (``show``, ``read_id_card``, ``submit_case`` …) with their wire format.
* :mod:`flows.views` — the screen view-model carried by every ``Show`` effect.
* :mod:`flows.loader` / :mod:`flows.model` / ``flows/schema/flow.schema.json`` — flow
  documents (``flows/definitions/*.yaml``) and their validation.
* :mod:`flows.expr` — the restricted condition language of ``when`` / ``next: [{if: …}]``.
* :mod:`flows.catalogue` — the service catalogue (``flows/catalogue.json`` is the shipped
  default) and availability by device and link state.
* :mod:`flows.headless` — scripted runs, the autopilot, traces, Mermaid diagrams (used by
  ``kiosk flows``, the tests and ``bench/flows.py``).
"""
