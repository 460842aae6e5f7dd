"""Notifications: chat and email channels (Apprise), commit statuses, GitHub deployments and
issues, delivered from the tb_event outbox by the notifier, never in a deployment's way.

    events.py     outbox rows -> notification events (deployment.failed, run.failed, ...)
    fields.py     the deployment's fields a message is made of
    templates.py  titles and bodies ($name placeholders, safe substitution)
    channels.py   the channels that want an event; one Apprise send, bounded in time
    git.py        which provider API a target reports to, and its calls
    plan.py       the deliveries an event produces
    notifier.py   the loop: plan from the outbox, deliver what is due, retry with backoff
"""
