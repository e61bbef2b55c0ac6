"""Crisis playbooks: matching, segment-tailored drafts, approval and the outbox sender.

Empty on purpose until the playbooks issue lands; incidents reach it through the
``incidents`` topic, which `monitor.shell.agents.incidents` already publishes.
"""
