"""What a stage does when one request fails: record it for its item and go on, or stop.

At the method's scale (124 K synthesis requests, 87 K x 17 sampling requests) some
requests always fail: a prompt over the server's context, a content filter, a 5xx that
outlasts its retries. Those are the item's (LLMError kind "item" or "transient") and are
recorded; an endpoint that is unusable (kind "endpoint": a bad key, URL or model, a
supervised server that died) or that fails FAILURES_IN_A_ROW requests in a row stops the
stage, resumable.
"""

from __future__ import annotations

from acecoder.llm._types import LLMError

FAILURES_IN_A_ROW = 32  # transient failures in a row that mean the endpoint is down, not one request
EXAMPLES = 50  # failed requests listed per summary (the counts are complete)


class FailureGuard:
    """Decides, request by request, whether a failure is recorded (returns) or stops the stage (raises)."""

    def __init__(self):
        self.in_a_row = 0

    def ok(self) -> None:
        self.in_a_row = 0

    def failed(self, error: BaseException) -> None:
        if not isinstance(error, LLMError) or error.kind == "endpoint":
            raise error
        if error.kind == "transient":
            self.in_a_row += 1
            if self.in_a_row >= FAILURES_IN_A_ROW:
                error.args = (f"{error.args[0]}\n{self.in_a_row} requests in a row failed like this: the endpoint looks down",)
                raise error
        else:
            self.in_a_row = 0


def record_failure(counts: dict, examples: list, item_id: str, error: LLMError) -> None:
    """Count a failed request by reason; keep the first EXAMPLES with id, reason, kind, status, message."""
    counts[error.reason] = counts.get(error.reason, 0) + 1
    if len(examples) < EXAMPLES:
        examples.append({"id": item_id, "reason": error.reason, "kind": error.kind, "status": error.status,
                         "message": error.detail[:300]})
