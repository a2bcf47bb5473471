"""Optional prose by Claude, always checked, always with a deterministic fallback.

With ``ANTHROPIC_API_KEY`` set, the Analyst text and the report's executive summary are
written by Claude from the table contents (real ``anthropic`` client; model and timeout from
``cfg.agents``, base URL from ``ANTHROPIC_BASE_URL`` when set). The answer must pass the
caller's check (Proofreader, word limit); any API error, timeout or rejected answer falls back
to the deterministic text, and the outcome says why so the runner can record it.
"""

from __future__ import annotations

import json
import os
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
    client = anthropic.Anthropic(
        api_key=os.environ["ANTHROPIC_API_KEY"],
        base_url=os.environ.get("ANTHROPIC_BASE_URL") or None,
        timeout=cfg.llm_timeout_seconds,
        max_retries=max_retries,
    )
    prompt = f"Write {task}.\n\nTables (JSON):\n{json.dumps(tables, default=str)}"
    try:
        message = client.messages.create(
            model=cfg.llm_model, max_tokens=MAX_TOKENS, system=SYSTEM_PROMPT,
            messages=[{"role": "user", "content": prompt}],
        )
    except anthropic.APITimeoutError:
        return ProseOutcome(fallback, "rules",
                            f"timeout after {cfg.llm_timeout_seconds} s calling {cfg.llm_model}")
    except anthropic.APIStatusError as exc:
        return ProseOutcome(fallback, "rules", f"API error {exc.status_code}: {exc.message}")
    except anthropic.APIError as exc:
        return ProseOutcome(fallback, "rules", f"API error: {type(exc).__name__}: {exc}")
    text = "".join(block.text for block in message.content if block.type == "text").strip()
    if not text:
        return ProseOutcome(fallback, "rules", "empty answer")
    rejection = check(text)
    if rejection:
        return ProseOutcome(fallback, "rules", f"answer rejected: {rejection}")
    return ProseOutcome(text, "llm")
