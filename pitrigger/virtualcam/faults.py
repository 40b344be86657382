"""Operation faults of the virtual camera: answer Device Busy, or withhold/delay the answer.

Pure data: the model keeps a list of ``OperationFault`` and asks ``take_fault`` before it
executes an operation. Camera-side faults (card full, battery low, power off, …) are not here:
they are states of the body, set through ``VirtualEos5D2.apply_settings`` and friends.
"""

from __future__ import annotations

from dataclasses import dataclass

from pitrigger.virtualcam import ptp
from pitrigger.virtualcam.ptp import Op

OPERATION_FAULT_KINDS = ("busy", "stall")


@dataclass
class OperationFault:
    """For the next ``remaining`` matching ops: answer Device Busy ("busy"), or ("stall")
    withhold the answer (``reply_after_s`` None: never answer, do not execute; a number:
    execute now, answer that much later, like a slow body)."""

    kind: str
    remaining: int
    operation: int | None = None  # None: any operation
    reply_after_s: float | None = None

    def matches(self, code: int) -> bool:
        return self.operation is None or self.operation == code

    def as_dict(self) -> dict[str, object]:
        described: dict[str, object] = {
            "fault": self.kind,
            "remaining": self.remaining,
            "operation": None if self.operation is None else ptp.op_name(self.operation),
        }
        if self.kind == "stall":
            described["reply_after_s"] = self.reply_after_s
        return described


def parse_operation_name(operation: str | int | None) -> int | None:
    """Accept an ``Op`` name ("SetDevicePropValueEx", "EOS_GET_EVENT"), a code, or None."""
    if operation is None or isinstance(operation, int):
        return operation
    text = operation.strip()
    if text.lower().startswith("0x"):
        return int(text, 16)
    wanted = text.replace("_", "").lower()
    for op in Op:
        plain = op.name.replace("_", "").lower()
        if wanted in (plain, plain.removeprefix("eos")):
            return int(op)
    raise ValueError(f"unknown operation {operation!r}")


def new_operation_fault(kind: str, count: int = 1, operation: str | int | None = None,
                        reply_after_s: float | None = None) -> OperationFault:
    """A validated fault; raises ValueError for a request that makes no sense."""
    if kind not in OPERATION_FAULT_KINDS:
        raise ValueError(f"operation fault must be one of {OPERATION_FAULT_KINDS}")
    if count < 1:
        raise ValueError("count must be >= 1")
    if reply_after_s is not None and (kind != "stall" or reply_after_s <= 0):
        raise ValueError("reply_after_s is a positive delay for a stall")
    return OperationFault(kind, count, parse_operation_name(operation), reply_after_s)


def take_fault(faults: list[OperationFault], code: int) -> OperationFault | None:
    """The first pending fault for operation ``code``, used up by one; None if none."""
    for fault in faults:
        if fault.matches(code):
            fault.remaining -= 1
            if fault.remaining <= 0:
                faults.remove(fault)
            return fault
    return None
