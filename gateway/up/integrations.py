"""An ``up``'s schedules and local event bus: events POSTed to containers as EventBridge does.

    integrations = Integrations(config, console=console, target=("127.0.0.1", 3000))
    integrations.apply(config)            # start/stop schedules to match (again on each reload)
    await integrations.trigger("jobs", "nightly")     # fire one now: the first attempt's status
    integrations.put_events(entries)      # PutEvents' answer; matching integrations get the events
    await integrations.stop()             # every schedule and delivery cancelled

Every delivery goes through the gateway, as a client's request does (CloudFront's routing and
headers, then the container's compute type): a POST of the event to the integration's
webhook path with an API destination's headers (:mod:`gateway.aws.api_destinations`) and this
``up``'s random ``x-eventbridge-key``, retried as :data:`LOCAL_RETRIES` says.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp

from gateway.aws.api_destinations import (
    LOCAL_RETRIES,
    TIMEOUT_SECONDS,
    RetryPolicy,
    delivered,
    delivery_headers,
    retried,
)
from gateway.aws.event_patterns import matches
from gateway.aws.eventbridge_events import (
    Accepted,
    put_events_answer,
    put_events_entries,
    rule_name,
    scheduled_event,
)
from gateway.aws.schedule_expressions import Schedule, ScheduleError, iso, parse_schedule
from gateway.config import Config, Container
from gateway.config.model import Integration
from gateway.logs import Console
from gateway.tasks import create_task

Clock = Callable[[], datetime]
ACCOUNT = "000000000000"
"""The account in events and rule ARNs (as in the function ARNs scf-local gives Lambda)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Planned:
    """One running schedule, for ``up``'s banner and the dashboard."""

    container: str
    integration: str
    expression: str
    next_run: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "container": self.container,
            "integration": self.integration,
            "schedule": self.expression,
            "nextRun": iso(self.next_run) if self.next_run else None,
        }


class Integrations:
    def __init__(
        self,
        config: Config,
        *,
        console: Console,
        target: tuple[str, int],
        region: str,
        schedules: bool = True,
        clock: Clock = utc_now,
        policy: RetryPolicy = LOCAL_RETRIES,
    ) -> None:
        """``target``: the gateway's address; ``schedules``: False keeps them quiet
        (``--no-schedules``: ``trigger`` still fires one); ``clock``: now, in UTC."""
        self.config = config
        self.console = console
        self.target = target
        self.region = region
        self.schedules = schedules
        self.clock = clock
        self.policy = policy
        self.key = secrets.token_urlsafe(32)
        """The connection's API key: sent with every delivery, never given to a container."""
        self._running: dict[tuple[str, str], tuple[Integration, asyncio.Task[None]]] = {}
        self._next: dict[tuple[str, str], datetime | None] = {}
        self._deliveries: set[asyncio.Task[Any]] = set()
        self._session: aiohttp.ClientSession | None = None

    # schedules

    def apply(self, config: Config) -> list[Planned]:
        """Run the schedules ``config`` declares: unchanged ones keep their timing, changed or
        removed ones are cancelled, new ones start: those, with their first run."""
        self.config = config
        wanted = {
            (c.name, i.name): (c, i)
            for c in config.containers
            for i in c.integrations
            if i.type == "schedule"
        }
        for key, (integration, task) in list(self._running.items()):
            if key not in wanted or wanted[key][1] != integration:
                task.cancel()
                del self._running[key]
                self._next.pop(key, None)
        started: list[Planned] = []
        if not self.schedules:
            return started
        for key, (container, integration) in wanted.items():
            if key in self._running:
                continue
            schedule = self._parse(container, integration)
            if schedule is None:
                continue
            now = self.clock()
            self._next[key] = schedule.next_after(now, started=now)
            task = create_task(self._run(container.name, integration, schedule, now), name=f"schedule {key}")
            self._running[key] = (integration, task)
            started.append(Planned(container.name, integration.name, schedule.expression, self._next[key]))
        return started

    def _parse(self, container: Container, integration: Integration) -> Schedule | None:
        assert integration.schedule is not None
        try:
            return parse_schedule(integration.schedule)
        except ScheduleError as exc:
            where = self.config.position(
                "containers", container.name, "integrations", integration.name, "schedule"
            )
            self.console.say(
                "scf-local",
                f"{where}: containers.{container.name}.integrations.{integration.name}.schedule: {exc}. "
                "EventBridge refuses it; it does not run here either.",
            )
            return None

    def planned(self) -> list[Planned]:
        return [
            Planned(c, n, integration.schedule or "", self._next.get((c, n)))
            for (c, n), (integration, _) in self._running.items()
        ]

    async def _run(
        self, container: str, integration: Integration, schedule: Schedule, started: datetime
    ) -> None:
        key = (container, integration.name)
        last = started
        while True:
            at = schedule.next_after(max(self.clock(), last), started=started)
            self._next[key] = at
            if at is None:
                self.console.say(container, f"schedule {integration.name} has no further run")
                return
            last = at
            await asyncio.sleep(max(0.0, (at - self.clock()).total_seconds()))
            event = scheduled_event(
                account=ACCOUNT, region=self.region, rule=self._rule(container, integration), at=at
            )
            self._spawn(self.deliver(container, integration, event))

    def _rule(self, container: str, integration: Integration) -> str:
        return rule_name(self.config.name, container, integration.name)

    async def trigger(self, container: str, name: str) -> int | None:
        """Fire schedule ``name`` of ``container`` now: the first attempt's status (None: no
        answer); retries go on in the background. KeyError: no such schedule."""
        c = self.config.container(container)
        integration = next(i for i in c.integrations if i.name == name and i.type == "schedule")
        event = scheduled_event(
            account=ACCOUNT, region=self.region, rule=self._rule(container, integration), at=self.clock()
        )
        self.console.say(container, f"schedule {name} fired now (trigger)")
        first: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        task = self._spawn(self.deliver(container, integration, event, first))

        def unanswered(_: asyncio.Task[Any]) -> None:
            if not first.done():
                first.set_result(None)

        task.add_done_callback(unanswered)
        return await first

    # the event bus

    def put_events(self, entries: Sequence[Any]) -> dict[str, Any]:
        """PutEvents: each accepted event goes to every ``awsEventBridge`` integration whose
        pattern matches (SCF's rules are on the default bus). TooManyEntries for 0 or over 10."""
        accepted = put_events_entries(entries, account=ACCOUNT, region=self.region, now=self.clock())
        for item in accepted:
            self._route(item)
        return put_events_answer(accepted)

    def _route(self, item: Accepted) -> None:
        if item.event is None:
            return
        targets = [
            (c.name, i)
            for c in self.config.containers
            for i in c.integrations
            if i.type == "awsEventBridge"
            and item.bus == "default"
            and i.pattern
            and matches(i.pattern, item.event)
        ]
        what = f"event {item.event['id']} ({item.event['source']} / {item.event['detail-type']})"
        if not targets:
            self.console.say("scf-local", f"{what} on bus {item.bus}: no integration's pattern matches")
        for container, integration in targets:
            self._spawn(self.deliver(container, integration, item.event))

    # delivery

    async def deliver(
        self,
        container: str,
        integration: Integration,
        event: dict[str, Any],
        first: asyncio.Future[int | None] | None = None,
    ) -> bool:
        """POST ``event`` through the gateway until it is taken, refused for good, or the
        policy gives up; each failure is said with its status."""
        started = time.monotonic()
        body = json.dumps(event).encode()
        for attempt in range(1, self.policy.max_attempts + 1):
            status, why = await self._post(container, integration.webhook_path, body)
            if first is not None and not first.done():
                first.set_result(status)
            what = f"{event['detail-type']} {event['id'][:8]} -> {integration.webhook_path}"
            if status is not None and delivered(status):
                self.console.say(container, f"{integration.name}: {what}: {status}")
                return True
            failure = f"{integration.name}: {what}: {why if status is None else status}"
            elapsed = time.monotonic() - started
            if not retried(status):
                self.console.say(
                    container, f"{failure}; not retried (EventBridge retries 401, 407, 409, 429, 5xx)"
                )
                return False
            wait = self.policy.delay(attempt, random.random())
            if attempt == self.policy.max_attempts or elapsed + wait > self.policy.max_age:
                self.console.say(container, f"{failure}; dropped after {attempt} attempts in {elapsed:.0f} s")
                return False
            self.console.say(container, f"{failure}; retry {attempt + 1} in {wait:.1f} s")
            await asyncio.sleep(wait)
        return False

    async def _post(self, container: str, path: str, body: bytes) -> tuple[int | None, str]:
        if self._session is None:
            self._session = aiohttp.ClientSession(auto_decompress=False)
        host, port = self.target
        domain = (
            self.config.container(container).routing.domain
            if self.config.container_or_none(container)
            else None
        )
        headers = {**delivery_headers(self.key), "Host": domain or f"localhost:{port}"}
        try:
            async with self._session.post(
                f"http://{host}:{port}{path}",
                data=body,
                headers=headers,
                allow_redirects=False,
                skip_auto_headers=("Accept", "Accept-Encoding"),
                timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS),
            ) as response:
                await response.read()
                return response.status, ""
        except TimeoutError:
            return None, f"no answer within {TIMEOUT_SECONDS:.0f} s"
        except aiohttp.ClientError as exc:
            return None, f"connection error ({exc})"

    def _spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        task = create_task(coroutine, name="delivery")
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)
        return task

    async def stop(self) -> None:
        """Cancel every schedule and delivery in flight, then close the client."""
        tasks = [task for _, task in self._running.values()] + list(self._deliveries)
        self._running.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._session is not None:
            await self._session.close()
            self._session = None
