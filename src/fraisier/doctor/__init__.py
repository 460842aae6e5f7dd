"""`fraisier doctor`: every check of a server's set-up, one result per check, each with how to
fix it when it fails. The checks only look: they change nothing (a write test is rolled
back, a probe file removed)."""

from fraisier.doctor.report import Check, Status, run_doctor

__all__ = ["Check", "Status", "run_doctor"]
