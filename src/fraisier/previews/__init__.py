"""Preview environments of pull requests: the rules (`service.py`), the steps that create and
remove a preview's database and files (`steps.py`, `database.py`) and the pull-request
comment that reports it (`report.py`). See docs/previews.md."""
