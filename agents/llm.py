"""Optional prose and choices by Claude, always checked, always with a deterministic fallback.

With ``ANTHROPIC_API_KEY`` set, the Analyst text and the report's executive summary are
written by Claude from the table contents, and the Tuner asks Claude which of its candidate
changes to try (agents/tuner.py, :func:`agents.tuner.choose`) (real ``anthropic`` client; model and timeout from
``cfg.agents``, base URL from ``ANTHROPIC_BASE_URL`` when set). The answer must pass the
caller's check (Proofreader, word limit); any API error, timeout or rejected answer falls back
to the deterministic text, and the outcome says why so the runner can record it.

The client's timeout bounds each network read, not the call: a server that trickles its
answer a byte at a time never trips it (measured: 42 s for a 0.5 s timeout). So the whole
call, retries included, also runs against a deadline (:func:`call_deadline`).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anthropic

from prism_mmm.config import AgentsConfig

SYSTEM_PROMPT = (
    "You are a careful marketing-mix-modelling analyst writing for a CFO. Use only numbers "
    "that appear in the tables you are given, copied or rounded (fractions may be written as "
    "percentages, e.g. 0.131 as 13.1%); never compute new numbers, never invent any. Lead with "
    "cross-model agreement: which channels all models confirm, which are uncertain. Say that "
    "ROI figures are associations under model assumptions, not causal proof. Plain prose, no "
    "headings, no numbered lists."
)
MAX_TOKENS = 900
# The anthropic client's longest wait between retries (its DEFAULT_MAX_RETRY_DELAY), and the
# slack the deadline leaves so that an ordinary timeout is reported by the client itself.
CLIENT_MAX_RETRY_WAIT_S = 8.0
DEADLINE_GRACE_S = 1.0


class _DeadlineExceeded(Exception):
    pass


def call_deadline(timeout_seconds: float, max_retries: int) -> float:
    """Seconds the whole call may take: every attempt its timeout, every retry its wait."""
    return ((max_retries + 1) * timeout_seconds + max_retries * CLIENT_MAX_RETRY_WAIT_S
            + DEADLINE_GRACE_S)


def _within(deadline: float, client: anthropic.Anthropic, call: Callable[[], Any]) -> Any:
    """Run ``call`` in a helper thread; past ``deadline`` close the client (which aborts its
    read) and raise :class:`_DeadlineExceeded`."""
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=work, name="prism-llm-call", daemon=True)
    thread.start()
    thread.join(deadline)
    if thread.is_alive():
        client.close()
        raise _DeadlineExceeded
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@dataclass(frozen=True)
class ProseOutcome:
    """The text to use and where it came from."""

    text: str
    source: str  # 'llm' or 'rules'
    fallback_reason: str | None = None

    def decision(self, agent: str) -> dict | None:
        """The ``agent_decisions`` row recording the outcome (``None`` when no LLM was asked)."""
        if self.source == "llm":
            return {"agent": agent, "action": "llm_prose", "what": "prose written by Claude",
                    "why": "accepted: every number traces to a table value"}
        if self.fallback_reason:
            return {"agent": agent, "action": "llm_fallback",
                    "what": "deterministic prose used instead of Claude's",
                    "why": self.fallback_reason}
        return None


def llm_enabled() -> bool:
    return bool(os.environ.get("ANTHROPIC_API_KEY"))


def write_prose(
    task: str,
    tables: dict[str, Any],
    fallback: str,
    check: Callable[[str], str | None],
    cfg: AgentsConfig,
    max_retries: int = 2,
) -> ProseOutcome:
    """Ask Claude for prose about ``tables``; fall back to ``fallback`` on any problem.

    Parameters
    ----------
    task
        What to write (e.g. "an analysis under 400 words").
    tables
        Table name -> list of row dicts; the only facts the model may use.
    fallback
        Deterministic text used when the LLM is off or its answer is rejected.
    check
        Returns a rejection reason for an answer, or ``None`` to accept it.
    cfg
        Model name and timeout.
    max_retries
        Client retries on retryable errors (tests use 0).
    """
    if not llm_enabled():
        return ProseOutcome(fallback, "rules")
    prompt = f"Write {task}.\n\nTables (JSON):\n{json.dumps(tables, default=str)}"
    text, reason = ask(prompt, SYSTEM_PROMPT, cfg, max_retries)
    if text is None:
        return ProseOutcome(fallback, "rules", reason)
    rejection = check(text)
    if rejection:
        return ProseOutcome(fallback, "rules", f"answer rejected: {rejection}")
    return ProseOutcome(text, "llm")


def ask(prompt: str, system: str, cfg: AgentsConfig, max_retries: int = 2,
        max_tokens: int = MAX_TOKENS) -> tuple[str | None, str | None]:
    """One Messages API call under the deadline: ``(text, None)``, or ``(None, reason)`` on
    an API error, a timeout or an empty answer (the caller falls back and records why)."""
    client = anthropic.Anthropic(
        api_key=os.environ["ANTHROPIC_API_KEY"],
        base_url=os.environ.get("ANTHROPIC_BASE_URL") or None,
        timeout=cfg.llm_timeout_seconds,
        max_retries=max_retries,
    )
    deadline = call_deadline(cfg.llm_timeout_seconds, max_retries)
    try:
        message = _within(deadline, client, lambda: client.messages.create(
            model=cfg.llm_model, max_tokens=max_tokens, system=system,
            messages=[{"role": "user", "content": prompt}],
        ))
    except _DeadlineExceeded:
        return None, (f"timeout: no complete answer from {cfg.llm_model} within "
                      f"{deadline:.1f} s (the server kept the connection open)")
    except anthropic.APITimeoutError:
        return None, f"timeout after {cfg.llm_timeout_seconds} s calling {cfg.llm_model}"
    except anthropic.APIStatusError as exc:
        return None, f"API error {exc.status_code}: {exc.message}"
    except anthropic.APIError as exc:
        return None, f"API error: {type(exc).__name__}: {exc}"
    text = "".join(block.text for block in message.content if block.type == "text").strip()
    return (text, None) if text else (None, "empty answer")
