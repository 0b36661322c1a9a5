"""The help-request router of remote video help (远程帮办): pure, no clock, no I/O.

Model (after Twilio TaskRouter's workers / tasks / reservations, in our words):

* an **assistant** has skills (``tax``, ``yijianshi``, ``certificate``, ``general`` …) and a
  state: ``offline`` → ``free`` ⇄ ``offered`` → ``busy`` (in a session) → ``free``; ``away``
  after missing an offer (a sandbox console sets itself ``ready`` again);
* a **task** is one kiosk's help request: ``skill``, base ``priority`` (0 normal … 3
  elderly/disabled), ``created`` time and context (kiosk, item, step, devices, link);
* :meth:`Router.dispatch` offers waiting tasks, highest *effective* priority first —
  ``priority + waited / AGING_S``, so waiting raises priority — each to the free assistant
  with the skill who has been idle longest, as a reservation that lapses after
  ``offer_timeout_s``; a lapse or a decline re-offers the task to someone else (an assistant
  who declined a task is not offered it again; one who let the offer lapse is set ``away``);
* nobody logged in has the skill → the kiosk is told ``no_assistant`` at once; everyone with
  the skill busy for ``callback_after_s`` → a one-time call-back offer (the kiosk may keep
  waiting);
* **transfer**: the session's task goes back to the queue (keeping its age, optionally with
  another skill or for one named assistant), the transferring assistant is freed and
  excluded.

Every method returns :class:`Notice` objects for the hub to deliver (to a kiosk or an
assistant). Single-threaded: the hub calls it from its event loop only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

AGING_S = 60.0
MAX_PRIORITY = 3


@dataclass
class Assistant:
    id: str
    name: str
    skills: frozenset[str]
    state: str = "offline"  # offline | free | offered | busy | away
    idle_since: float = 0.0
    task: str | None = None


@dataclass
class Task:
    id: str
    kiosk_id: str
    skill: str
    priority: int
    created: float
    context: dict[str, Any]
    state: str = "waiting"  # waiting | offered | assigned | ended
    offered_to: str | None = None
    offer_expires: float = 0.0
    assistant: str | None = None
    declined: set[str] = field(default_factory=set)
    only: str | None = None  # transfer to a named assistant
    callback_offered: bool = False

    def effective_priority(self, now: float) -> float:
        return self.priority + max(0.0, now - self.created) / AGING_S

    def public(self, now: float) -> dict[str, Any]:
        return {
            "id": self.id,
            "kiosk_id": self.kiosk_id,
            "skill": self.skill,
            "priority": self.priority,
            "effective_priority": round(self.effective_priority(now), 3),
            "waited_s": round(now - self.created, 1),
            "state": self.state,
            "context": self.context,
        }


@dataclass(frozen=True, slots=True)
class Notice:
    """``to`` is ``("kiosk", task_id)`` or ``("assistant", assistant_id)``."""

    to: tuple[str, str]
    message: dict[str, Any]


class Router:
    def __init__(self, *, offer_timeout_s: float = 15.0, callback_after_s: float = 60.0) -> None:
        self.offer_timeout_s = offer_timeout_s
        self.callback_after_s = callback_after_s
        self.assistants: dict[str, Assistant] = {}
        self.tasks: dict[str, Task] = {}

    # ------------------------------------------------------------------ assistants

    def add_assistant(self, aid: str, name: str, skills: frozenset[str]) -> None:
        old = self.assistants.get(aid)
        self.assistants[aid] = Assistant(aid, name, skills, old.state if old else "offline")

    def set_ready(self, aid: str, ready: bool, now: float) -> list[Notice]:
        a = self.assistants[aid]
        if a.state in ("busy", "offered"):
            return []
        a.state = "free" if ready else "away"
        a.idle_since = now
        return self.dispatch(now)

    def disconnect(self, aid: str, now: float) -> list[Notice]:
        a = self.assistants.get(aid)
        if a is None:
            return []
        out: list[Notice] = []
        if a.task is not None and a.state == "offered":
            out += self._lapse(self.tasks[a.task], now, "disconnected")
        elif a.task is not None and a.state == "busy":
            out += self.transfer(aid, None, None, now, reason="assistant_lost")
        a.state, a.task = "offline", None
        return out + self.dispatch(now)

    # ------------------------------------------------------------------ tasks

    def add_task(self, task: Task, now: float) -> list[Notice]:
        self.tasks[task.id] = task
        if not any(
            task.skill in a.skills for a in self.assistants.values() if a.state != "offline"
        ):
            task.state = "ended"
            return [Notice(("kiosk", task.id), {"type": "no_assistant", "callback": True})]
        return self.dispatch(now)

    def cancel_task(self, tid: str, now: float, reason: str) -> list[Notice]:
        t = self.tasks.get(tid)
        if t is None or t.state == "ended":
            return []
        out: list[Notice] = []
        holder = t.assistant or t.offered_to
        if holder is not None:
            a = self.assistants[holder]
            a.state, a.task, a.idle_since = "free", None, now
            kind = "session_ended" if t.state == "assigned" else "offer_withdrawn"
            out.append(Notice(("assistant", holder), {"type": kind, "task": tid, "reason": reason}))
        t.state, t.assistant, t.offered_to = "ended", None, None
        return out + self.dispatch(now)

    def accept(self, aid: str, tid: str, now: float) -> list[Notice]:
        t = self.tasks.get(tid)
        a = self.assistants[aid]
        if t is None or t.state != "offered" or t.offered_to != aid:
            return [Notice(("assistant", aid), {"type": "error", "error": "offer_gone"})]
        t.state, t.assistant, t.offered_to = "assigned", aid, None
        a.state = "busy"
        return [
            Notice(("assistant", aid), {"type": "session", "task": t.public(now)}),
            Notice(("kiosk", tid), {"type": "assigned", "assistant": {"id": a.id, "name": a.name}}),
        ]

    def decline(self, aid: str, tid: str, now: float) -> list[Notice]:
        t = self.tasks.get(tid)
        if t is None or t.offered_to != aid or t.state != "offered":
            return []
        t.declined.add(aid)
        a = self.assistants[aid]
        a.state, a.task, a.idle_since = "free", None, now
        t.state, t.offered_to = "waiting", None
        return self.dispatch(now)

    def transfer(
        self,
        aid: str,
        skill: str | None,
        to: str | None,
        now: float,
        *,
        reason: str = "transfer",
    ) -> list[Notice]:
        a = self.assistants[aid]
        t = self.tasks.get(a.task or "")
        if t is None or t.state != "assigned" or t.assistant != aid:
            return [Notice(("assistant", aid), {"type": "error", "error": "no_session"})]
        t.state, t.assistant, t.only = "waiting", None, to
        t.skill = skill or t.skill
        t.declined.add(aid)
        a.state, a.task, a.idle_since = ("free" if reason == "transfer" else "offline"), None, now
        out = [
            Notice(("assistant", aid), {"type": "session_ended", "task": t.id, "reason": reason}),
            Notice(("kiosk", t.id), {"type": "transferring", "reason": reason}),
        ]
        return out + self.dispatch(now)

    # ------------------------------------------------------------------ the clock

    def tick(self, now: float) -> list[Notice]:
        out: list[Notice] = []
        for t in list(self.tasks.values()):
            if t.state == "offered" and now >= t.offer_expires:
                out += self._lapse(t, now, "timeout")
            if (
                t.state == "waiting"
                and not t.callback_offered
                and now - t.created >= self.callback_after_s
            ):
                t.callback_offered = True
                out.append(Notice(("kiosk", t.id), {"type": "callback_offer"}))
        return out + self.dispatch(now)

    def _lapse(self, t: Task, now: float, reason: str) -> list[Notice]:
        aid = t.offered_to
        t.state, t.offered_to = "waiting", None
        if aid is None:
            return []
        a = self.assistants[aid]
        # not excluded: a lapse is no refusal; the task goes to whoever is free next
        a.state, a.task = ("away" if reason == "timeout" else "offline"), None
        return [
            Notice(("assistant", aid), {"type": "offer_withdrawn", "task": t.id, "reason": reason})
        ]

    def queue(self, now: float) -> list[dict[str, Any]]:
        waiting = [t for t in self.tasks.values() if t.state in ("waiting", "offered")]
        waiting.sort(key=lambda t: (-t.effective_priority(now), t.created))
        return [t.public(now) for t in waiting]

    def dispatch(self, now: float) -> list[Notice]:
        """Offer waiting tasks (highest effective priority first) to free assistants."""
        out: list[Notice] = []
        for t in sorted(
            (t for t in self.tasks.values() if t.state == "waiting"),
            key=lambda t: (-t.effective_priority(now), t.created),
        ):
            free = [
                a
                for a in self.assistants.values()
                if a.state == "free"
                and t.skill in a.skills
                and a.id not in t.declined
                and (t.only is None or a.id == t.only)
            ]
            if not free:
                continue
            a = min(free, key=lambda a: (a.idle_since, a.id))
            t.state, t.offered_to, t.offer_expires = "offered", a.id, now + self.offer_timeout_s
            a.state, a.task = "offered", t.id
            out.append(
                Notice(
                    ("assistant", a.id),
                    {"type": "offer", "task": t.public(now), "timeout_s": self.offer_timeout_s},
                )
            )
        return out
