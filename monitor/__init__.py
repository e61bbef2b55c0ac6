"""crisismon's service shell: settings, the Faust app, storage, incidents, web, Slack and CLI."""
