"""Review tools over the IR: lint, explain, diff, catalog views."""
