"""The fraise types beyond the plain api: etl, scheduled, backup, and what they add to api.

`kinds/plans.py` builds the step list of each type; `fraisier.planner` chooses among them.
"""
