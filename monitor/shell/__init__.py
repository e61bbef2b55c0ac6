"""The shell: CLI, web, process runner and the composition root that wires the domain to Faust."""
